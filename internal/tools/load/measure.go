// The load tool's measurements: the latency samples of each kind of
// request and the report of their percentiles and status counts.

package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// ---- measurements ----

type sample struct {
	d      time.Duration
	status string // "ok" for a 2xx answer, "401 invalidSession" and so on, or "error: ..." for no answer
}

type series struct {
	name string
	mu   sync.Mutex
	s    []sample
}

func (s *series) add(d time.Duration, err error) {
	st := "ok"
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
		st = strconv.Itoa(ae.Status) + " " + string(ae.Code)
	case err != nil:
		st = "error: " + shorten(err.Error())
	}
	s.mu.Lock()
	s.s = append(s.s, sample{d, st})
	s.mu.Unlock()
}

func shorten(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func (s *series) len() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.s) }

// failures is how many samples did not end in a 2xx answer.
func (s *series) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.s {
		if x.status != "ok" {
			n++
		}
	}
	return n
}

// okRate is the successful samples per second of d.
func (s *series) okRate(d time.Duration) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.s {
		if x.status == "ok" {
			n++
		}
	}
	return float64(n) / d.Seconds()
}

// time runs fn and records how long it took and how it ended.
func (s *series) time(fn func() error) error {
	t := time.Now()
	err := fn()
	s.add(time.Since(t), err)
	return err
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// report prints the series and says whether any sample failed.
func (s *series) report(w io.Writer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := make([]time.Duration, len(s.s))
	counts := map[string]int{}
	bad := false
	for i, x := range s.s {
		ds[i] = x.d
		counts[x.status]++
		if x.status != "ok" {
			bad = true
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if len(ds) == 0 {
		fmt.Fprintf(w, "%-22s none\n", s.name)
		return false
	}
	fmt.Fprintf(w, "%-22s n=%-7d p50 %-9s p95 %-9s p99 %-9s max %-9s", s.name, len(ds), ms(pct(ds, .5)), ms(pct(ds, .95)), ms(pct(ds, .99)), ms(ds[len(ds)-1]))
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  [%s] %d", k, counts[k])
	}
	fmt.Fprintln(w)
	return bad
}
