package store

import (
	"context"
	"database/sql"
)

// MigrateTo lets the external tests build a database at an old schema
// version, to test what migrating from it does.
func MigrateTo(ctx context.Context, s *SQL, version int) error { return s.migrateTo(ctx, version) }

// ReadDB is the pool that reads (the same as DB on PostgreSQL).
func ReadDB(s *SQL) *sql.DB { return s.rdb }

// SQLiteCounts says how many SQLite connections the store opened (each ran
// the DSN's pragmas once) and how many statements they compiled into their
// caches.
func SQLiteCounts(s *SQL) (opened, prepared int64) {
	return s.conns.opened.Load(), s.conns.prepared.Load()
}

// SQLiteReaders is the size of the SQLite read pool.
func SQLiteReaders() int { return sqliteReaders() }
