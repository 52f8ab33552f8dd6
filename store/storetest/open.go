package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tapkiosk/tapkiosk/internal/pgtest"
	"github.com/tapkiosk/tapkiosk/store"
)

// Backends are the stores every suite runs on.
var Backends = []string{"sqlite", "postgres"}

// OpenEmpty opens a fresh database of the backend ("sqlite": a file in
// t's temp dir; "postgres": a new database on pg) with no schema; it is
// closed when t ends.
func OpenEmpty(t testing.TB, pg *pgtest.Server, backend string) *store.SQL {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, newDatabase(t, pg, backend))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Open is OpenEmpty, migrated.
func Open(t testing.TB, pg *pgtest.Server, backend string) *store.SQL {
	t.Helper()
	s := OpenEmpty(t, pg, backend)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// OpenTwice opens one fresh, migrated database twice, as two tapd
// instances sharing a store would: each with its own connections.
func OpenTwice(t testing.TB, pg *pgtest.Server, backend string) (a, b *store.SQL) {
	t.Helper()
	ctx := context.Background()
	url := newDatabase(t, pg, backend)
	open := func() *store.SQL {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a = open()
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return a, open()
}

// newDatabase is the URL of a fresh, empty database: a file in the test's
// folder, or a new PostgreSQL database.
func newDatabase(t testing.TB, pg *pgtest.Server, backend string) string {
	t.Helper()
	if backend != "postgres" {
		return "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	}
	url, err := pg.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return url
}
