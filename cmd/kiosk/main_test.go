package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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
