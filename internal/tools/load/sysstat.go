// The CPU the rest of the machine used beside tapd during a measurement:
// the PostgreSQL cluster's processes, and the machine's idle share; and
// what PostgreSQL's backends waited on.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// postmaster is the pid of the PostgreSQL server at db, when it runs on
// this machine (the parent of the backend that answers a connection), or
// 0 when that cannot be found out.
func postmaster(ctx context.Context, db string) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0
	}
	st, ok := readStat(backend)
	if !ok || st.ppid <= 1 {
		return 0
	}
	return st.ppid
}

// procStat is what the load tool reads of a process's /proc/PID/stat.
type procStat struct {
	ppid   int
	cpu    time.Duration // user + system
	minflt int           // minor page faults (a memory-mapped page touched afresh)
}

func readStat(pid int) (procStat, bool) {
	var p procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the name may hold spaces and parentheses
	if i < 0 || i+2 > len(s) {
		return p, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return p, false
	}
	p.ppid, _ = strconv.Atoi(f[1])
	p.minflt, _ = strconv.Atoi(f[7])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	p.cpu = time.Duration(u+k) * 10 * time.Millisecond // USER_HZ = 100
	return p, true
}

// clusterCPU is the CPU time so far of the postmaster and of each of its
// children (backends, WAL writer, checkpointer...), by pid.
func clusterCPU(postmaster int) map[int]time.Duration {
	out := map[int]time.Duration{}
	if postmaster <= 0 {
		return out
	}
	if pm, ok := readStat(postmaster); ok {
		out[postmaster] = pm.cpu
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == postmaster {
			continue
		}
		if st, ok := readStat(pid); ok && st.ppid == postmaster {
			out[pid] = st.cpu
		}
	}
	return out
}

// clusterCPUSince is the CPU the cluster's processes used between two
// readings: those there at the end, less what each had used at the start.
// A backend that ended in between takes its time with it, so this is a
// lower bound; tapd's pools hold their connections, so a close one.
func clusterCPUSince(a, b map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cpu := range b {
		d += cpu - a[pid]
	}
	return d
}

// cpuTimes is the machine's first /proc/stat line: idle (with iowait),
// steal (taken by the hypervisor for other guests) and all time, in clock
// ticks.
type cpuTimes struct{ idle, steal, total uint64 }

func readCPUTimes() cpuTimes {
	var t cpuTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return t
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		t.total += n
		switch i {
		case 3, 4: // idle, iowait
			t.idle += n
		case 7:
			t.steal = n
		}
	}
	return t
}

// idleSince is the share of the machine's CPU time that was idle between
// a and t.
func (t cpuTimes) idleSince(a cpuTimes) float64 {
	if t.total <= a.total {
		return 0
	}
	return float64(t.idle-a.idle) / float64(t.total-a.total)
}

// stealSince is the share the hypervisor took between a and t: CPU time
// this machine wanted and did not get, which makes everything slower.
func (t cpuTimes) stealSince(a cpuTimes) float64 {
	if t.total <= a.total {
		return 0
	}
	return float64(t.steal-a.steal) / float64(t.total-a.total)
}

// waits is what PostgreSQL's backends on the run's database were doing,
// sampled from pg_stat_activity: a row lock that every instance queues
// for (a hot row) shows as Lock waits, a saturated server as CPU (no wait
// event) across many backends.
type waits struct {
	samples int
	active  int            // active backends summed over the samples
	events  map[string]int // "type:event" ("CPU" for none) summed over the samples
}

// sampleWaits samples pg_stat_activity every interval until stop is
// called, which returns what it saw (nothing when db is empty or could not
// be reached).
func sampleWaits(db string, every time.Duration) (stop func() waits) {
	if db == "" {
		return func() waits { return waits{} }
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan waits, 1)
	go func() {
		w := waits{events: map[string]int{}}
		defer func() { out <- w }()
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A lock wait names its statement (pgx sends placeholders,
			// never the values), to tell which row every instance queues for.
			rows, err := conn.Query(ctx, `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
				|| CASE WHEN wait_event_type = 'Lock' THEN ' (' || left(regexp_replace(query, '\s+', ' ', 'g'), 70) || ')' ELSE '' END
				FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`)
			if err != nil {
				return
			}
			w.samples++
			for rows.Next() {
				var ev string
				if rows.Scan(&ev) == nil {
					w.active++
					w.events[ev]++
				}
			}
			rows.Close()
		}
	}()
	return func() waits { cancel(); return <-out }
}

// String is the mean of active backends and the commonest wait events.
func (w waits) String() string {
	if w.samples == 0 {
		return "not sampled"
	}
	type ev struct {
		name string
		n    int
	}
	var evs []ev
	for k, n := range w.events {
		evs = append(evs, ev{k, n})
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].n > evs[j].n || evs[i].n == evs[j].n && evs[i].name < evs[j].name })
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f active backends on average (%d samples)", float64(w.active)/float64(w.samples), w.samples)
	for i, e := range evs {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "; %s %.0f%%", e.name, 100*float64(e.n)/float64(w.active))
	}
	return b.String()
}
