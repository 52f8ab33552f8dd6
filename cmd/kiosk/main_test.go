package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
)

// TestTokenFileMustBePrivate: the kiosk refuses a token file the group or
// others may read, before it draws anything, and says how to fix it.
func TestTokenFileMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "kiosk.token")
	if err := os.WriteFile(tok, []byte(api.KioskTokenPrefix+"x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tok, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run([]string{"--server", "http://127.0.0.1:1", "--token-file", tok, "--log-file", filepath.Join(dir, "kiosk.log")}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "kiosk: --token-file "+tok+" can be read by others") || !strings.Contains(stderr.String(), "chmod 600 "+tok) {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), api.KioskTokenPrefix+"x") {
		t.Fatal("the token was printed")
	}
}

// TestFreshStateIsNew: the demo's "fresh" never names a key an earlier
// kiosk run made, so a restarted kiosk's fresh key is empty.
func TestFreshStateIsNew(t *testing.T) {
	base := filepath.Join(t.TempDir(), "key.json")
	var n atomic.Int64
	if got := nextFreshState(base, &n); got != base+".2" {
		t.Fatalf("first fresh key %s", got)
	}
	// A restart: the counter begins again, and key.json.2 and .3 hold
	// the last run's keys.
	for _, s := range []string{".2", ".3"} {
		if err := os.WriteFile(base+s, []byte(`{"pin":"x"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var again atomic.Int64
	if got := nextFreshState(base, &again); got != base+".4" {
		t.Fatalf("after a restart the fresh key is %s, an old one", got)
	}
	if got := nextFreshState(base, &again); got != base+".5" {
		t.Fatalf("the next one %s", got)
	}
}

// Issue 23 item 5: kiosk mode ignores Ctrl+C, so without an admin exit
// code nothing but a kill would stop it: it refuses to start and says what
// to give. With the code, or out of kiosk mode, that sentence is not said.
func TestKioskModeNeedsAnAdminCode(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "kiosk.token")
	if err := os.WriteFile(tok, []byte(api.KioskTokenPrefix+"x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code := filepath.Join(dir, "admin.code")
	if err := os.WriteFile(code, []byte("2468\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An --idle too short stops each run before the kiosk draws, so the
	// refusal is what the test reads.
	base := []string{"--server", "http://127.0.0.1:1", "--token-file", tok, "--log-file", filepath.Join(dir, "kiosk.log"), "--idle", "1s"}
	var stderr bytes.Buffer
	if c := run(base, &stderr); c != 2 || !strings.Contains(stderr.String(), "kiosk mode (the default) needs --admin-code-file") ||
		!strings.Contains(stderr.String(), "--kiosk-mode=false") {
		t.Fatalf("exit %d:\n%s", c, stderr.String())
	}
	for _, extra := range [][]string{{"--admin-code-file", code}, {"--kiosk-mode=false"}} {
		stderr.Reset()
		if c := run(append(base, extra...), &stderr); c != 2 || strings.Contains(stderr.String(), "admin-code-file") ||
			!strings.Contains(stderr.String(), "--idle") {
			t.Fatalf("%v: exit %d:\n%s", extra, c, stderr.String())
		}
	}
}
