package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A program started through wrap is in its group from the start, under the
// quota asked for, and the group is gone after remove. Membership and the
// configured quota are asserted, not speed, so a loaded machine cannot
// make this fail.
func TestQuotaGroupHoldsTheProgram(t *testing.T) {
	g, err := newCPUGroups("tapkiosk-loadtest-" + strings.ReplaceAll(t.Name(), "/", "-") + "-")
	if err != nil {
		skipIfNotWritable(t, err)
		t.Fatal(err)
	}
	dir, err := g.add("busy", 0.2)
	if err != nil {
		skipIfNotWritable(t, err)
		t.Fatal(err)
	}
	defer g.remove()

	if q, err := quota(dir, g.v2); err != nil || q != 0.2 {
		t.Fatalf("quota read back: %g, %v; want 0.2", q, err)
	}
	argv := wrap(dir, []string{"sleep", "300"})
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	procs := filepath.Join(dir, "cgroup.procs")
	pid := cmd.Process.Pid
	// The wrapper writes its pid before it execs: wait (bounded) for the
	// exec, then the program must be in the group.
	deadline := time.Now().Add(30 * time.Second)
	for strings.TrimSpace(readString(t, fmt.Sprintf("/proc/%d/comm", pid))) != "sleep" {
		if time.Now().After(deadline) {
			t.Fatalf("the wrapper did not exec the program within 30 s: %q", readString(t, fmt.Sprintf("/proc/%d/comm", pid)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !hasWord(readString(t, procs), fmt.Sprint(pid)) {
		t.Fatalf("pid %d is not in %s: %q", pid, procs, readString(t, procs))
	}
	rel := strings.TrimPrefix(dir, g.base)
	if !strings.Contains(readString(t, fmt.Sprintf("/proc/%d/cgroup", pid)), rel+"\n") {
		t.Fatalf("/proc/%d/cgroup does not name %s:\n%s", pid, rel, readString(t, fmt.Sprintf("/proc/%d/cgroup", pid)))
	}
	// A group that holds a process cannot be removed; the one removed after
	// the process ended is gone.
	if err := os.Remove(dir); err == nil {
		t.Fatal("removed a group that still held a process")
	}
	cmd.Process.Kill()
	cmd.Wait()
	waited = true
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s is still there after remove: %v", dir, err)
	}
}

// A quota below the kernel's least is refused with an error, not set.
func TestQuotaTooSmall(t *testing.T) {
	g := &cpuGroups{base: t.TempDir(), prefix: "x-"}
	if _, err := g.add("a", 0.001); err == nil || !strings.Contains(err.Error(), "least") {
		t.Fatalf("got %v, want the kernel's least named", err)
	}
}

func skipIfNotWritable(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) || strings.Contains(err.Error(), "no cgroup hierarchy") {
		t.Skipf("cgroups are not writable here, so the quota cannot be tested: %v", err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The cpu hierarchy is found from mountinfo and the process's cgroup file:
// cgroup v1's cpu hierarchy wherever this process sits in it, else the
// unified hierarchy's root when it offers cpu, else a clear error.
func TestFindCPUHierarchy(t *testing.T) {
	v1 := `35 25 0:30 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
36 25 0:31 / /sys/fs/cgroup/cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpuacct
44 25 0:39 / /sys/fs/cgroup/unified rw,relatime shared:18 - cgroup2 cgroup2 rw
`
	dir, v2, err := findCPUHierarchy(v1, "2:cpuacct:/\n1:cpu:/a/b\n0::/\n")
	if err != nil || v2 || dir != "/sys/fs/cgroup/cpu/a/b" {
		t.Fatalf("v1: %q %v %v", dir, v2, err)
	}
	// A v1 mount of a namespaced root: the process's path is below it.
	ns := "35 25 0:30 /a /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	if dir, _, err := findCPUHierarchy(ns, "1:cpu,cpuacct:/a/b\n"); err != nil || dir != "/sys/fs/cgroup/cpu,cpuacct/b" {
		t.Fatalf("namespaced v1: %q %v", dir, err)
	}
	root := t.TempDir()
	unified := "44 25 0:39 / " + strings.ReplaceAll(root, " ", `\040`) + " rw - cgroup2 cgroup2 rw\n"
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpuset io memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := findCPUHierarchy(unified, "0::/user.slice\n"); err == nil || !strings.Contains(err.Error(), "does not offer the cpu controller") {
		t.Fatalf("v2 without cpu: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, v2, err := findCPUHierarchy(unified, "0::/user.slice\n"); err != nil || !v2 || dir != root {
		t.Fatalf("v2: %q %v %v", dir, v2, err)
	}
	if _, _, err := findCPUHierarchy("22 1 0:20 / /proc rw - proc proc rw\n", ""); err == nil || !strings.Contains(err.Error(), "no cgroup hierarchy") {
		t.Fatalf("none: %v", err)
	}
}

// The v2 quota is written as cpu.max "quota period" and read back in
// cores; "max" is no quota.
func TestQuotaV2Format(t *testing.T) {
	g := &cpuGroups{base: t.TempDir(), v2: true, prefix: "x-"}
	dir, err := g.add("a", 0.35)
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "cpu.max")); got != "35000 100000" {
		t.Fatalf("cpu.max = %q", got)
	}
	if q, err := quota(dir, true); err != nil || q != 0.35 {
		t.Fatalf("quota = %g, %v", q, err)
	}
	os.WriteFile(filepath.Join(dir, "cpu.max"), []byte("max 100000\n"), 0o644)
	if q, err := quota(dir, true); err != nil || q != 0 {
		t.Fatalf("unlimited: %g, %v", q, err)
	}
}

// quota reads back a group's quota in cores (0: unlimited), as the
// kernel holds it: what the tests compare with what was asked for.
func quota(dir string, v2 bool) (float64, error) {
	if v2 {
		b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
		if err != nil {
			return 0, err
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			return 0, fmt.Errorf("cpu.max: %q", b)
		}
		if f[0] == "max" {
			return 0, nil
		}
		q, err1 := strconv.Atoi(f[0])
		p, err2 := strconv.Atoi(f[1])
		if err := errors.Join(err1, err2); err != nil || p == 0 {
			return 0, fmt.Errorf("cpu.max: %q", b)
		}
		return float64(q) / float64(p), nil
	}
	read := func(f string) (int, error) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(strings.TrimSpace(string(b)))
	}
	q, err := read("cpu.cfs_quota_us")
	if err != nil {
		return 0, err
	}
	p, err := read("cpu.cfs_period_us")
	if err != nil {
		return 0, err
	}
	if q < 0 || p == 0 {
		return 0, nil
	}
	return float64(q) / float64(p), nil
}
