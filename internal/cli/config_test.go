package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tapd.conf")
	os.WriteFile(cfg, []byte("# comment\ndb = sqlite:///from/file.db\nlisten = 127.0.0.1:1\nsession-limit = \"5m\"\n"), 0o600)
	t.Setenv("TEST_LISTEN", "127.0.0.1:2")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	db := fs.String("db", "default", "")
	listen := fs.String("listen", "default", "")
	limit := fs.Duration("session-limit", 0, "")
	once := fs.Bool("once", false, "")
	fs.String("config", "", "")
	pos, err := Parse(fs, []string{"--config", cfg, "ada@example.com", "--once"}, "TEST")
	if err != nil {
		t.Fatal(err)
	}
	if *db != "sqlite:///from/file.db" || *listen != "127.0.0.1:2" || limit.String() != "5m0s" || !*once || len(pos) != 1 || pos[0] != "ada@example.com" {
		t.Fatalf("db=%s listen=%s limit=%s once=%v pos=%v", *db, *listen, *limit, *once, pos)
	}
	fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
	fs2.String("db", "", "")
	fs2.String("config", "", "")
	if _, err := Parse(fs2, []string{"--db", "x", "--config", cfg}, "TEST"); err == nil || !strings.Contains(err.Error(), `unknown setting "listen"`) {
		t.Fatalf("unknown setting not reported: %v", err)
	}
}

func TestParseBadValues(t *testing.T) {
	t.Setenv("TEST_N", "many")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Int("n", 0, "")
	if _, err := Parse(fs, nil, "TEST"); err == nil || !strings.Contains(err.Error(), "TEST_N") {
		t.Fatalf("bad env value: %v", err)
	}
}

// TestParseSources: each value says whether a flag, the environment or
// which line of the file gave it, and an unset one is the default.
func TestParseSources(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tapd.conf")
	os.WriteFile(cfg, []byte("db = sqlite:///from/file.db\n\nlisten = 127.0.0.1:1\nrp-id = example.com\n"), 0o600)
	t.Setenv("TEST_LISTEN", "127.0.0.1:2")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, n := range []string{"db", "listen", "rp-id", "log-level", "config"} {
		fs.String(n, "", "")
	}
	_, src, err := ParseSources(fs, []string{"--rp-id", "example.org", "--config", cfg}, "TEST")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"db": "file " + cfg + ":1", "listen": "environment TEST_LISTEN", "rp-id": "flag --rp-id", "log-level": "default"}
	for name, w := range want {
		if got := src.Of(name); got != w {
			t.Errorf("%s: %q, want %q", name, got, w)
		}
	}
}
