// Starting and stopping the tapd instances under load, and reading their
// CPU and memory use from /proc.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// ---- tapd ----

type tapd struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startTapd starts `tapd serve` on a free loopback port and waits until it
// is ready: pinned to cpus with taskset if given, and inside the cgroup at
// group if given.
func startTapd(ctx context.Context, bin, db, logPath string, limit time.Duration, extra []string, cpus, group string) (*tapd, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// tapd logs at its default level (info), as deployed: at warn the
	// load hid the cost of a request line per request (-tapd-args
	// --log-level=... to change).
	args := append([]string{"serve", "--db", db, "--listen", addr, "--session-limit", limit.String()}, extra...)
	argv := append([]string{bin}, args...)
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	if group != "" {
		argv = wrap(group, argv)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	d := &tapd{cmd: cmd, url: "http://" + addr, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait(); logf.Close() }()
	for i := 0; i < 300; i++ {
		resp, err := http.Get(d.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d, nil
			}
		}
		select {
		case err := <-d.done:
			return nil, fmt.Errorf("tapd exited: %v (log: %s)", err, logPath)
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	d.stop()
	return nil, fmt.Errorf("tapd did not become ready (log: %s)", logPath)
}

// stop sends SIGTERM, and SIGKILL if tapd is still running after 20 s.
func (d *tapd) stop() error {
	if d.cmd.Process == nil {
		return nil
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		return err
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		return errors.New("tapd did not stop on SIGTERM; killed")
	}
}

// procStats reads tapd's CPU time, resident memory and open files.
type procStats struct {
	cpu    time.Duration
	rssKB  int
	peakKB int // VmHWM: the most RSS since tapd started
	fds    int
	minflt int // minor page faults (a memory-mapped page touched afresh)
}

func readProc(pid int) procStats {
	var p procStats
	if st, ok := readStat(pid); ok {
		p.cpu, p.minflt = st.cpu, st.minflt
	}
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				p.rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			}
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				p.peakKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			}
		}
		f.Close()
	}
	if es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		p.fds = len(es)
	}
	return p
}

// loadAverage is the machine's one-minute load average: the figures of a
// run mean little when other work shared the CPUs, and this says so.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// startInstances starts n tapd on pr's store, each in a quota group of its
// own (gdirs[i]; "" without -cpu-quota) and pinned by -pin; with -profile,
// instance 0 serves --pprof-listen at pprofAddr. logName is instance i's
// log file in dir. On an error, ds holds those started, for the caller to
// stop.
func startInstances(ctx context.Context, c config, pr prepared, dir string, groups *cpuGroups, n int, logName func(i int) string) (ds []*tapd, gdirs []string, pprofAddr string, err error) {
	var pins, extra []string
	if c.pin != "" {
		pins = strings.Split(c.pin, "/")
	}
	if c.tapdArgs != "" {
		extra = strings.Fields(c.tapdArgs)
	}
	for i := range n {
		cpus := ""
		if pins != nil {
			cpus = pins[i]
		}
		g, err := groups.add(fmt.Sprintf("tapd%d", i), c.cpuQuota)
		if err != nil {
			return ds, gdirs, pprofAddr, err
		}
		args := extra
		if i == 0 && c.profile != "" {
			if pprofAddr, err = freeAddr(); err != nil {
				return ds, gdirs, pprofAddr, err
			}
			args = append(append([]string{}, extra...), "--pprof-listen", pprofAddr)
		}
		d, err := startTapd(ctx, pr.bin, pr.db, filepath.Join(dir, logName(i)), pr.limit, args, cpus, g)
		if err != nil {
			return ds, gdirs, pprofAddr, err
		}
		ds, gdirs = append(ds, d), append(gdirs, g)
	}
	return ds, gdirs, pprofAddr, nil
}

// enablePolicy turns the TAP policy on, with passes allowed to last
// lifetime minutes (at least 480).
func enablePolicy(ctx context.Context, admin *api.Client, lifetime int) error {
	enabled := "enabled"
	maxLife := max(lifetime, 480)
	if _, err := admin.UpdatePolicy(ctx, api.PolicyPatch{State: &enabled, MaximumLifetimeInMinutes: &maxLife}); err != nil {
		return fmt.Errorf("enable the policy: %w", err)
	}
	return nil
}
