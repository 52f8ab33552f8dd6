package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// machine is a container booted under a real systemd: this machine's root
// as the lower layer of an overlay whose upper layer is a tmpfs (so
// nothing here changes), run by systemd-nspawn with a private network
// (loopback only). Commands run inside it through nsenter.
type machine struct {
	t      *testing.T
	tmpfs  string // the tmpfs holding the overlay's upper layer
	root   string // the overlay: the container's /
	nspawn *exec.Cmd
	out    *bytes.Buffer // nspawn's output: the boot messages
	leader int           // the container's PID 1, as seen from here
}

// canBoot says why systemd-nspawn cannot run here, or "" when it can.
func canBoot() string {
	if os.Geteuid() != 0 {
		return "the boot test needs root (it mounts an overlay and runs systemd-nspawn)"
	}
	for _, p := range []string{"systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(p); err != nil {
			return p + " is not installed (Debian packages systemd-container, util-linux; scripts/ensure-deps.sh installs them)"
		}
	}
	return ""
}

// newMachine mounts the overlay and lets setup write into it (the
// container's /) before the boot. It skips the test, saying why, when the
// overlay or systemd-nspawn cannot run here at all (inside another
// container, say); a boot that starts and then fails is a failure.
func newMachine(t *testing.T) *machine {
	t.Helper()
	if why := canBoot(); why != "" {
		t.Skip(why)
	}
	m := &machine{t: t, out: &bytes.Buffer{}}
	var err error
	if m.tmpfs, err = os.MkdirTemp("", "tapkiosk-boot-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.unmount)
	if err := syscall.Mount("tmpfs", m.tmpfs, "tmpfs", 0, "size=4g,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v), so no container can boot", err)
	}
	for _, d := range []string{"up", "work", "root"} {
		if err := os.Mkdir(filepath.Join(m.tmpfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m.root = filepath.Join(m.tmpfs, "root")
	opts := "lowerdir=/,upperdir=" + filepath.Join(m.tmpfs, "up") + ",workdir=" + filepath.Join(m.tmpfs, "work")
	if err := syscall.Mount("overlay", m.root, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount an overlay of / here (%v), so no container can boot", err)
	}
	// Whether nspawn runs at all here: a container without a boot.
	if out, err := exec.Command("systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--private-network", "-D", m.root, "/bin/true").CombinedOutput(); err != nil {
		t.Skipf("systemd-nspawn cannot run a container here: %v\n%s", err, out)
	}
	return m
}

// boot starts systemd in the container and waits until it is up.
func (m *machine) boot() {
	t := m.t
	t.Helper()
	m.nspawn = exec.Command("systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--private-network",
		"--machine=tapkiosk-boot", "-D", m.root, "-b")
	m.nspawn.Stdout, m.nspawn.Stderr = m.out, m.out
	m.nspawn.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := m.nspawn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.poweroff)
	deadline := time.Now().Add(60 * time.Second)
	for m.leader == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the container's systemd did not start:\n%s", m.out)
		}
		// nspawn's first child only sets up and forks systemd, which
		// nspawn then parents.
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", m.nspawn.Process.Pid, m.nspawn.Process.Pid))
		for _, f := range strings.Fields(string(b)) {
			if comm, _ := os.ReadFile("/proc/" + f + "/comm"); strings.TrimSpace(string(comm)) == "systemd" {
				m.leader, _ = strconv.Atoi(f)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// running, or degraded (a unit of the host's that fails in a
	// container); either way systemd has finished starting up.
	// Until systemd has its bus up, systemctl cannot connect: ask again.
	var state string
	for time.Now().Before(deadline) {
		out, _ := m.sh("systemctl is-system-running --wait")
		if state = strings.TrimSpace(out); state == "running" || state == "degraded" {
			// systemd brings up the loopback device; inside a container
			// without CAP_NET_ADMIN it cannot, and nothing can listen.
			if lo, _ := m.sh("ip -br link show lo"); !strings.Contains(lo, ",UP") {
				t.Skipf("the container's loopback is down (%s): this machine cannot give a container a network of its own (is it itself a container without CAP_NET_ADMIN?)", strings.TrimSpace(lo))
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	failed, _ := m.sh("systemctl --failed --no-legend")
	t.Fatalf("the container did not boot: %q\n%s\nfailed units: %s", state, m.out, failed)
}

// sh runs a bash script as root in the container, with a plain
// environment, and returns its output (stdout and stderr).
func (m *machine) sh(script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "--target", strconv.Itoa(m.leader), "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=xterm-256color",
		"/bin/bash", "-euo", "pipefail", "-c", script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs a script that has to succeed.
func (m *machine) must(script string) string {
	m.t.Helper()
	out, err := m.sh(script)
	if err != nil {
		m.t.Fatalf("in the container: %s\n%v\n%s", script, err, out)
	}
	return out
}

// fails runs a script that has to fail, and returns its output.
func (m *machine) fails(script string) string {
	m.t.Helper()
	out, err := m.sh(script)
	if err == nil {
		m.t.Fatalf("in the container, this succeeded and should not have: %s\n%s", script, out)
	}
	return out
}

// write puts a file into the container (through the overlay).
func (m *machine) write(path string, data []byte, mode os.FileMode) {
	m.t.Helper()
	p := filepath.Join(m.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		m.t.Fatal(err)
	}
}

// exists says whether path exists in the container (a dangling link
// counts: it is still there).
func (m *machine) exists(path string) bool {
	_, err := os.Lstat(filepath.Join(m.root, path))
	return err == nil
}

func (m *machine) poweroff() {
	if m.nspawn == nil || m.nspawn.Process == nil {
		return
	}
	done := make(chan error, 1)
	go func() { done <- m.nspawn.Wait() }()
	m.sh("systemctl poweroff --no-block")
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		m.nspawn.Process.Kill()
		<-done
	}
	m.nspawn = nil
}

func (m *machine) unmount() {
	if m.root != "" {
		syscall.Unmount(m.root, syscall.MNT_DETACH)
	}
	syscall.Unmount(m.tmpfs, syscall.MNT_DETACH)
	os.Remove(m.tmpfs)
}
