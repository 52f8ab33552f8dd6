// Taking tapd's profiles during the hold through its --pprof-listen.

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler fetches a CPU profile covering the hold while it runs, and the
// allocation and heap profiles when it ends.
type profiler struct {
	base, dir string
	timeout   time.Duration // for each fetch: the CPU profile takes the whole hold
	cpu       chan error
}

// startProfile asks tapd at addr for a CPU profile of the next d (less a
// second, so it ends inside the hold) and writes it to dir/file.
func startProfile(addr, dir, file string, d time.Duration) *profiler {
	p := &profiler{base: "http://" + addr + "/debug/pprof/", dir: dir, timeout: d + time.Minute, cpu: make(chan error, 1)}
	secs := max(int(d.Seconds())-1, 1)
	go func() { p.cpu <- p.fetch(fmt.Sprintf("profile?seconds=%d", secs), file) }()
	return p
}

// cpuDone waits for the CPU profile.
func (p *profiler) cpuDone() error { return <-p.cpu }

// finish waits for the CPU profile and fetches the allocation and heap
// profiles.
func (p *profiler) finish() error {
	if err := p.cpuDone(); err != nil {
		return err
	}
	if err := p.fetch("allocs", "allocs.pprof"); err != nil {
		return err
	}
	return p.fetch("heap", "heap.pprof")
}

func (p *profiler) fetch(path, file string) error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: p.timeout}).Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s %s", path, resp.Status, b)
	}
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
