package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapkiosk/tapkiosk/store"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestSQLiteFilePrivate: a new database is 0600 (and so are its -wal and
// -shm) in a folder made 0700; an existing readable file is tightened.
func TestSQLiteFilePrivate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state", "tapd")
	path := filepath.Join(dir, "tapd.db")
	open := func() *store.SQL {
		t.Helper()
		st, err := store.Open(ctx, "sqlite://"+path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {filepath.Dir(dir), 0o700}, {path, 0o600}, {path + "-wal", 0o600}, {path + "-shm", 0o600}} {
		if got := mode(t, c.path); got != c.want {
			t.Errorf("%s: mode %04o, want %04o", c.path, got, c.want)
		}
	}

	// An existing database that others may read is made private on open.
	st.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	open()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			continue
		}
		if got := mode(t, p); got != 0o600 {
			t.Errorf("%s: mode %04o after reopening, want 0600", p, got)
		}
	}
}
