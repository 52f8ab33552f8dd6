package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPrivate(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if b, err := ReadPrivate("--token-file", write("ok", 0o600)); err != nil || string(b) != "secret\n" {
		t.Fatalf("0600: %q %v", b, err)
	}
	if _, err := ReadPrivate("--token-file", write("owner-only-read", 0o400)); err != nil {
		t.Fatalf("0400: %v", err)
	}
	for _, c := range []struct {
		file string
		mode os.FileMode
		want string
	}{
		{"group", 0o640, "chmod 600 " + filepath.Join(dir, "group")},
		{"world", 0o604, "(mode 0604)"},
		{"both", 0o644, "TAPCTL_TOKEN_FILE " + filepath.Join(dir, "both") + " can be read by others"},
		{"it's here", 0o660, `chmod 600 '` + strings.ReplaceAll(filepath.Join(dir, "it's here"), "'", `'\''`) + `'`},
	} {
		_, err := ReadPrivate("TAPCTL_TOKEN_FILE", write(c.file, c.mode))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (%04o): %v, want %q", c.file, c.mode, err, c.want)
		}
	}
	if _, err := ReadPrivate("--token-file", filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "--token-file: ") {
		t.Errorf("missing file: %v", err)
	}
}

// TestWritePrivate: a new file and one that was readable by others both
// end 0600 with just the data.
func TestWritePrivate(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.csv")
	if err := os.WriteFile(old, []byte("a much longer earlier content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "new.csv"), old} {
		if err := WritePrivate(p, []byte("upn,id\n")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != "upn,id\n" || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %q mode %04o", filepath.Base(p), b, fi.Mode().Perm())
		}
	}
}
