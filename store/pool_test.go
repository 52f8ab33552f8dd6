package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tapkiosk/tapkiosk/store"
)

// TestSQLitePools checks the SQLite pools under concurrent load: no more
// connections than one writer and the readers, none re-opened across
// bursts (so each ran the pragmas once), every statement compiled once per
// connection, and the pragmas in force on every connection.
func TestSQLitePools(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, "sqlite")
	readers := store.SQLiteReaders()
	if err := s.CreateUser(ctx, store.User{UPN: "ada@example.com", UserType: "Member", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTAPPolicy(ctx, store.TAPPolicy{Enabled: true, IncludeTargets: []store.PolicyTarget{{Type: "group", ID: "all_users"}}}); err != nil {
		t.Fatal(err)
	}
	burst := func(round int) {
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := s.GetUser(ctx, "ada@example.com"); err != nil {
					errs <- err
				}
				if _, err := s.GetTAPPolicy(ctx); err != nil {
					errs <- err
				}
				if i%4 == 0 {
					if err := s.AppendAudit(ctx, store.AuditEntry{At: t0, Action: "test", Actor: fmt.Sprint(round, i), Result: store.AuditSuccess}); err != nil {
						errs <- err
					}
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	_, setup := store.SQLiteCounts(s)
	for round := 0; round < 4; round++ {
		burst(round)
	}
	// A pool grows to its bound as bursts need it and never closes a
	// connection, so each ran the pragmas once.
	opened, prepared := store.SQLiteCounts(s)
	if max := int64(1 + readers); opened > max {
		t.Fatalf("%d connections opened, want at most %d (1 writer + %d readers)", opened, max, readers)
	}
	for _, db := range []*sql.DB{s.DB(), store.ReadDB(s)} {
		if st := db.Stats(); st.MaxIdleClosed+st.MaxIdleTimeClosed+st.MaxLifetimeClosed != 0 {
			t.Fatalf("a pool closed connections: %+v", st)
		}
	}
	// 4 statements (user, policy, targets, audit), each compiled at most
	// once per connection, however many times they ran (2,000 here).
	if n := prepared - setup; n == 0 || n > 4*opened {
		t.Fatalf("%d statements compiled on %d connections", n, opened)
	}

	check := func(db *sql.DB, n int, want map[string]string) {
		conns := make([]*sql.Conn, n)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		for i, c := range conns {
			for pragma, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if !strings.EqualFold(got, v) {
					t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, pragma, got, v)
				}
			}
		}
	}
	common := map[string]string{"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": "1", "synchronous": "1", "mmap_size": "0"}
	check(s.DB(), 1, common)
	common["query_only"] = "1"
	check(store.ReadDB(s), readers, common)
	if opened3, _ := store.SQLiteCounts(s); opened3 != int64(1+readers) {
		t.Fatalf("%d connections with every one in use, want %d", opened3, 1+readers)
	}
	if _, err := store.ReadDB(s).ExecContext(ctx, `DELETE FROM audit`); err == nil {
		t.Fatal("a reader connection wrote")
	}
}

// TestSQLiteSameQueryNested runs a query again inside a transaction while
// its own rows are still open: the cached statement is busy, so the second
// run must not disturb the first.
func TestSQLiteSameQueryNested(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, "sqlite")
	for i := 0; i < 5; i++ {
		if err := s.CreateUser(ctx, store.User{UPN: fmt.Sprintf("u%d@example.com", i), UserType: "Member", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT upn FROM users WHERE upn_key >= ? ORDER BY upn_key`
	outer, err := tx.QueryContext(ctx, q, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var upn string
		outer.Scan(&upn)
		inner, err := tx.QueryContext(ctx, q, upn)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		got = append(got, fmt.Sprintf("%s:%d", upn, n))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if want := "u0@example.com:5 u1@example.com:4 u2@example.com:3 u3@example.com:2 u4@example.com:1"; strings.Join(got, " ") != want {
		t.Fatalf("got %v", got)
	}
}

// TestPostgresPreparesOnce checks what the store relies on instead of its
// own cache on PostgreSQL: pgx prepares each query text once per
// connection and reuses it.
func TestPostgresPreparesOnce(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, "postgres")
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const q = `SELECT COUNT(*) FROM users WHERE upn_key = $1`
	for i := 0; i < 3; i++ {
		var n int
		if err := conn.QueryRowContext(ctx, q, "x").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_prepared_statements WHERE statement = $1`, q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d prepared statements for the query on this connection, want 1", n)
	}
}
