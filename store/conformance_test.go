package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/internal/pgtest"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pg)) }

var backends = storetest.Backends

func openEmpty(t *testing.T, backend string) *store.SQL { return storetest.OpenEmpty(t, pg, backend) }

func openMigrated(t *testing.T, backend string) *store.SQL { return storetest.Open(t, pg, backend) }

// TestConformance runs every storage rule against SQLite and PostgreSQL:
// the shared suite in storetest, then the tests that need *store.SQL
// itself (migrations).
func TestConformance(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			storetest.RunTests(t, func(t *testing.T) store.Store { return openMigrated(t, backend) })
			t.Run("Migrations", func(t *testing.T) { testMigrations(t, openMigrated(t, backend)) })
		})
	}
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func testMigrations(t *testing.T, s *store.SQL) {
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCheckSchemaOnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	s := openEmpty(t, "sqlite")
	if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("want ErrSchema, got %v", err)
	}
	if _, err := s.GetUser(ctx, "a@b.c"); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("query on empty db: want ErrSchema, got %v", err)
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://root:hunter2@db/x")
	if err == nil || !strings.Contains(err.Error(), "unsupported database URL") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

// TestSQLiteFullDisk fills a database capped by max_page_count, which makes
// SQLite answer SQLITE_FULL exactly as on a full disk, and checks that the
// error maps to ErrFull and nothing of the failed transaction is kept. It
// needs the raw handle, so it is not part of storetest.
func TestSQLiteFullDisk(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, "sqlite")
	if err := s.CreateUser(ctx, store.User{UPN: "keep@full.example", DisplayName: "Test keep@full.example", UserType: "Member", Groups: []string{"staff"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	db := s.DB()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pages int
	conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages)
	// max_page_count is per connection: pin the pool to this one.
	db.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	big := make([]store.User, 200)
	for i := range big {
		big[i] = store.User{UPN: fmt.Sprintf("u%03d@full.example", i), DisplayName: fmt.Sprintf("%0500d", i), UserType: "Member", CreatedAt: t0}
	}
	err = s.CreateUsers(ctx, big)
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
	if _, err := s.GetUser(ctx, "u000@full.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a failed write left rows behind")
	}
	if _, err := s.GetUser(ctx, "keep@full.example"); err != nil {
		t.Fatalf("existing data lost: %v", err)
	}
}
