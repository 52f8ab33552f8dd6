// CPU quotas for tapd instances: each instance in a cgroup of its own with
// a CFS bandwidth limit, so that on a small machine an instance is held to
// a share of a core while PostgreSQL and the load tool keep the rest
// (taskset can only give whole cores).

package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cfsPeriodUS is the CFS period the quotas are set against: the kernel's
// default, 100 ms.
const cfsPeriodUS = 100000

// cpuGroups makes, and removes, this run's cgroups under one directory of
// the hierarchy that has the cpu controller (cgroup v1's cpu hierarchy, or
// the unified v2 hierarchy with cpu enabled).
type cpuGroups struct {
	base   string // the directory the groups are made in
	v2     bool
	prefix string // names are prefix + name, so two runs never share a group
	made   []string
}

// cgroupMount is one cgroup mount from /proc/self/mountinfo.
type cgroupMount struct {
	root, point string // the mount's root in the hierarchy, where it is mounted
	v2          bool
}

// findCPUHierarchy finds where this process's cgroup is in a hierarchy with
// the cpu controller: cgroup v1's cpu hierarchy if mounted (the controller
// cannot be in both), else the unified hierarchy if its root offers cpu.
// mountinfo and selfCgroup are the texts of /proc/self/mountinfo and
// /proc/self/cgroup.
func findCPUHierarchy(mountinfo, selfCgroup string) (dir string, v2 bool, err error) {
	var v1, unified *cgroupMount
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		m := &cgroupMount{root: f[3], point: unescapeMount(f[4])}
		switch g[0] {
		case "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				if o == "cpu" && v1 == nil {
					v1 = m
				}
			}
		case "cgroup2":
			if unified == nil {
				m.v2 = true
				unified = m
			}
		}
	}
	// The process's own place in the v1 cpu hierarchy: "ID:controllers:path".
	var v1Path string
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "cpu" {
				v1Path = parts[2]
			}
		}
	}
	join := func(m *cgroupMount, p string) string {
		rel := strings.TrimPrefix(p, m.root)
		if m.root == "/" {
			rel = p
		}
		return filepath.Join(m.point, rel)
	}
	if v1 != nil {
		return join(v1, v1Path), false, nil
	}
	if unified != nil {
		// Under v2 a group that holds processes cannot hand a controller to
		// groups beneath it (the root excepted), so the groups go at the
		// mount's root, not under this process's own group.
		ctl, err := os.ReadFile(filepath.Join(unified.point, "cgroup.controllers"))
		if err == nil && hasWord(string(ctl), "cpu") {
			return unified.point, true, nil
		}
		return "", false, fmt.Errorf("the unified cgroup hierarchy at %s does not offer the cpu controller (cgroup.controllers: %q)", unified.point, strings.TrimSpace(string(ctl)))
	}
	return "", false, errors.New("no cgroup hierarchy with the cpu controller is mounted")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// newCPUGroups finds the cpu hierarchy and checks that groups can be made
// in it (under v2: enables the cpu controller for the groups beneath its
// root). It makes nothing yet.
func newCPUGroups(prefix string) (*cpuGroups, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	base, v2, err := findCPUHierarchy(string(mi), string(self))
	if err != nil {
		return nil, fmt.Errorf("CPU quotas need cgroups: %w", err)
	}
	g := &cpuGroups{base: base, v2: v2, prefix: prefix}
	if v2 {
		sub := filepath.Join(base, "cgroup.subtree_control")
		cur, err := os.ReadFile(sub)
		if err != nil {
			return nil, fmt.Errorf("CPU quotas need a writable cgroup hierarchy: %w", err)
		}
		if !hasWord(string(cur), "cpu") {
			if err := os.WriteFile(sub, []byte("+cpu"), 0o644); err != nil {
				return nil, fmt.Errorf("CPU quotas: enable the cpu controller in %s (run as root, in a cgroup that may delegate it): %w", sub, err)
			}
		}
	}
	return g, nil
}

// quotaGroups is where -cpu-quota's groups are made: nil without a quota
// (a nil *cpuGroups makes no group and removes nothing).
func quotaGroups(c config) (*cpuGroups, error) {
	if c.cpuQuota <= 0 {
		return nil, nil
	}
	return newCPUGroups(fmt.Sprintf("tapkiosk-load-%d-", os.Getpid()))
}

func quotaText(cores float64) string {
	if cores <= 0 {
		return "none"
	}
	return fmt.Sprintf("%g cores each", cores)
}

// add makes the group name with a quota of cores and returns its
// directory. A group of that name left over is reused with the new quota.
func (g *cpuGroups) add(name string, cores float64) (string, error) {
	if g == nil {
		return "", nil
	}
	quota := int(math.Round(cores * cfsPeriodUS))
	if quota < 1000 {
		return "", fmt.Errorf("CPU quota %g cores is below the kernel's least, 0.01", cores)
	}
	dir := filepath.Join(g.base, g.prefix+name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("CPU quotas need a writable cgroup hierarchy (run as root): %w", err)
	}
	g.made = append(g.made, dir)
	var err error
	if g.v2 {
		err = os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, cfsPeriodUS)), 0o644)
	} else {
		err = os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(cfsPeriodUS)), 0o644)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644)
		}
	}
	if err != nil {
		return "", fmt.Errorf("set the CPU quota of %s: %w", dir, err)
	}
	return dir, nil
}

// throttling is a group's CFS periods so far and those in which it ran
// out of quota (cpu.stat: nr_periods, nr_throttled, in v1 and v2 alike).
type throttling struct{ periods, throttled int }

func readThrottling(dir string) throttling {
	var t throttling
	b, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return t
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		switch k {
		case "nr_periods":
			t.periods = n
		case "nr_throttled":
			t.throttled = n
		}
	}
	return t
}

// wrap is the command that runs argv inside the group at dir: a shell
// writes its own pid into the group, then execs argv, which keeps that pid.
// So the program is in the group from its first instruction (no window in
// which it runs unlimited, as writing the pid after Start would leave),
// the pid the caller holds is the program's, and it works alike on v1 and
// v2 (clone3's CLONE_INTO_CGROUP, which Go offers, is v2 only).
func wrap(dir string, argv []string) []string {
	return append([]string{"/bin/sh", "-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(dir, "cgroup.procs")}, argv...)
}

// remove removes the groups made. Their processes must have ended (and
// been waited for): a group with a process in it cannot be removed.
func (g *cpuGroups) remove() error {
	if g == nil {
		return nil
	}
	var errs []error
	for _, dir := range g.made {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	g.made = nil
	return errors.Join(errs...)
}

// removeLogged removes the groups and says on stderr if it could not.
func (g *cpuGroups) removeLogged() {
	if err := g.remove(); err != nil {
		fmt.Fprintln(os.Stderr, "load: remove the cgroups:", err)
	}
}
