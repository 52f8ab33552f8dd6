package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/tapkiosk/tapkiosk/api"
	"golang.org/x/sys/unix"
)

// ptyKiosk is the kiosk binary on a pseudo-terminal this test holds, so it
// can see the bytes the kiosk writes and answer its queries as a terminal
// would (or not at all). tmux answers too, but through its own redraw loop,
// which adds its own latency to any timing.
type ptyKiosk struct {
	cmd     *exec.Cmd
	master  *os.File
	mu      sync.Mutex
	out     bytes.Buffer
	start   time.Time
	chunks  []chunk
	answers bool
}

// chunk is one read from the pty: when it came, and where it ends.
type chunk struct {
	at  time.Duration
	end int
}

// openPTY returns a master and the path of its slave, sized cols x rows.
func openPTY(t *testing.T, cols, rows int) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	ws := unix.Winsize{Row: uint16(rows), Col: uint16(cols)}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); e != 0 {
		t.Fatal(e)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// startPTYKiosk runs the kiosk (bin/kiosk, demo build) against an address
// nobody listens on: the first frame does not wait for tapd. answer makes
// the pty reply to the terminal queries a real terminal answers.
func startPTYKiosk(t *testing.T, answer bool, extra ...string) *ptyKiosk {
	t.Helper()
	dir := t.TempDir()
	tok := filepath.Join(dir, "kiosk.token")
	os.WriteFile(tok, []byte(api.KioskTokenPrefix+"measure"), 0o600)
	m, slavePath := openPTY(t, 80, 24)
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--server", "http://127.0.0.1:9", "--token-file", tok, "--log-file", filepath.Join(dir, "kiosk.log"),
		"--theme", "auto", "--kiosk-mode=false"}, extra...)
	cmd := exec.Command(filepath.Join(bin, "kiosk"), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "COLORTERM=truecolor")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	k := &ptyKiosk{cmd: cmd, master: m, answers: answer}
	k.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go k.read()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		m.Close()
	})
	return k
}

// replies are a typical xterm's answers to the queries a Bubble Tea v2
// program may send.
var replies = []struct{ query, reply string }{
	{"\x1b]11;?\x07", "\x1b]11;rgb:1e1e/1e1e/2e2e\x07"},
	{"\x1b]11;?\x1b\\", "\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\"},
	{"\x1b[c", "\x1b[?62;22c"},
	{"\x1b[6n", "\x1b[1;1R"},
	{"\x1b[?2026$p", "\x1b[?2026;2$y"},
	{"\x1b[?2027$p", "\x1b[?2027;0$y"},
	{"\x1b[?u", "\x1b[?0u"},
}

func (k *ptyKiosk) read() {
	buf := make([]byte, 32<<10)
	answered := make([]int, len(replies))
	for {
		n, err := k.master.Read(buf)
		if n > 0 {
			at := time.Since(k.start)
			k.mu.Lock()
			k.out.Write(buf[:n])
			k.chunks = append(k.chunks, chunk{at, k.out.Len()})
			if k.answers {
				for i, r := range replies {
					// One answer per query sent.
					for c := bytes.Count(k.out.Bytes(), []byte(r.query)); answered[i] < c; answered[i]++ {
						k.master.WriteString(r.reply)
					}
				}
			}
			k.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// waitFor returns how long after start text first appeared in the output.
func (k *ptyKiosk) waitFor(t *testing.T, text string, within time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		k.mu.Lock()
		if i := bytes.Index(k.out.Bytes(), []byte(text)); i >= 0 {
			for _, c := range k.chunks {
				if c.end >= i+len(text) {
					k.mu.Unlock()
					return c.at
				}
			}
		}
		k.mu.Unlock()
		time.Sleep(200 * time.Microsecond)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	t.Fatalf("never saw %q; the kiosk wrote %q", text, k.out.String())
	return 0
}

// firstFrames starts the kiosk n times on a pty and returns the times to
// its Welcome text, sorted.
func firstFrames(t *testing.T, n int, answer bool) []time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := 0; i < n; i++ {
		k := startPTYKiosk(t, answer)
		ds = append(ds, k.waitFor(t, "Lost your security key", 10*time.Second))
		k.cmd.Process.Kill()
		k.cmd.Wait()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}

// TestKioskDrawsOnASilentTerminal: a terminal that never answers the
// background-colour query (or any other) still gets the kiosk drawn.
func TestKioskDrawsOnASilentTerminal(t *testing.T) {
	t.Parallel()
	k := startPTYKiosk(t, false)
	k.waitFor(t, "Lost your security key", 10*time.Second)
	k.waitFor(t, "The recovery service can't be reached", 10*time.Second)
}
