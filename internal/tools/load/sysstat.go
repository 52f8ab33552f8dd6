// The CPU the rest of the machine used beside tapd during a measurement:
// the PostgreSQL cluster's processes, and the machine's idle share.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// clusterCPU is the CPU time so far of the postmaster and its children
// (backends, WAL writer, checkpointer...). A backend that ended between two
// readings takes its time with it, so this is a lower bound; tapd's pools
// hold their connections, so it is a close one.
func clusterCPU(postmaster int) time.Duration {
	if postmaster <= 0 {
		return 0
	}
	pm, _ := readStat(postmaster)
	total := pm.cpu
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == postmaster {
			continue
		}
		if st, ok := readStat(pid); ok && st.ppid == postmaster {
			total += st.cpu
		}
	}
	return total
}

// cpuTimes is the machine's first /proc/stat line: idle (with iowait) and
// all time, in clock ticks.
type cpuTimes struct{ idle, total uint64 }

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
		if i == 3 || i == 4 { // idle, iowait
			t.idle += n
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
