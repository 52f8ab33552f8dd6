package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// sqliteReaders is the size of SQLite's read pool: 2 per core, at least 4.
//
// SQLite has one writer at a time per database file, whatever the pool; in
// WAL mode readers run beside it and never wait for it. So tapd keeps two
// pools. Writes go to a pool of one connection, so writers queue in Go, in
// order, instead of in SQLite's busy handler (which sleeps 1, 2, 5 ... 100
// ms between tries and held a pooled connection while it slept). Reads go
// to a pool of sqliteReaders connections opened with query_only. Reads in
// modernc's SQLite are CPU work in this process, so connections beyond the
// cores add little; a few spare let a read run while another waits on the
// disk or is descheduled mid-query. Each connection keeps its own page cache
// (2 MB by default) and statement cache, so the pools are also a bound on
// memory and on open files (two per connection: the file and its -wal, plus
// the shared -shm).
//
// Both pools keep every connection they open: as many idle as open, and no
// lifetime or idle expiry. database/sql's default of 2 idle connections
// closed every connection past the second after each burst and opened new
// ones for the next, re-running the pragmas each time (41% of tapd's CPU
// under load, with no bound on how many were open at once).
func sqliteReaders() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// sqliteMmapBytes is how much of the database file each connection reads
// through a memory map rather than through its page cache: none.
//
// A map looked right: modernc's SQLite is built with
// SQLITE_ENABLE_MEMORY_MANAGEMENT, so every connection's page cache shares
// one mutex, and in WAL mode a reader that finds the database changed
// drops its whole cache; pages read through a map skip that cache. But on
// the same change SQLite also unmaps the reader's whole map
// (pagerBeginReadTransaction calls sqlite3OsUnfetch(fd, 0, 0)), and
// modernc's build has no mremap, so the next read maps the file again and
// takes a page fault for every page it touches. With sign-ins and
// registrations committing many times a second, that is nearly every
// poll: under `make load` (10,000 sessions, registrations alongside) CPU
// profiles put 56 µs per poll in SQLite's step with the map (most of it
// the fault on a page's first byte in btreeInitPage, and munmap) and
// 30 µs without; BenchmarkPollWithWrites shows fewer page faults per poll
// without it. The page cache's mutex was 0.2 s of a 30 s profile.
const sqliteMmapBytes = 0

// openSQLite opens the writer and reader pools on the file at path.
func openSQLite(ctx context.Context, path string) (*SQL, error) {
	// WAL lets readers run beside the writer; busy_timeout makes writers
	// queue instead of failing (another process, such as tapd init, may
	// hold the lock); immediate transactions take the write lock up front
	// so two writers never deadlock upgrading. modernc runs each _pragma
	// once per connection, when it opens it.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", sqliteMmapBytes))
	n := &connCounters{}
	open := func(q url.Values, conns int) (*sql.DB, error) {
		base, err := sqlite.NewConnector("file:" + path + "?" + q.Encode())
		if err != nil {
			return nil, err
		}
		db := sql.OpenDB(sqliteConnector{base: base, n: n})
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		// The writer first: its connection makes the file and turns on WAL.
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
		}
		return db, nil
	}
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	w, err := open(wq, 1)
	if err != nil {
		return nil, err
	}
	q.Add("_pragma", "query_only(1)")
	r, err := open(q, sqliteReaders())
	if err != nil {
		w.Close()
		return nil, err
	}
	return &SQL{db: w, rdb: r, dialect: dialectSQLite, conns: n}, nil
}

// SQLite connections, each with its own prepared-statement cache.
//
// modernc's conn.ExecContext and conn.QueryContext parse the SQL text on
// every call (sqlite3_prepare_v2, then finalize), which was 44% of tapd's
// CPU under load. A modernc driver.Stmt prepared once keeps its compiled
// statement and is only reset between runs. So every connection this
// connector opens keeps one driver.Stmt per query text it has run, and the
// store's call sites need no change: s.db.QueryRowContext(...) and
// tx.ExecContext(...) both reach ExecContext/QueryContext here, on the
// connection database/sql picked (a transaction's statements therefore
// use the transaction's connection's cache, and preparing never needs a
// second connection, which a one-connection writer pool could not give).
//
// PostgreSQL does not need this: pgx's stdlib connections default to
// QueryExecModeCacheStatement, a per-connection LRU of 512 prepared
// statements keyed by SQL text (see TestPostgresPreparesOnce).

// maxCachedStmts bounds one connection's cache. The store has about 70
// constant query texts; ListAudit builds one per combination of filters.
// Past the bound a new text runs unprepared, as before.
const maxCachedStmts = 256

// sqliteConn is what modernc's connection implements and database/sql
// uses; the wrapper forwards all of it.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// connCounters counts, for tests and tools, what the pools did.
type connCounters struct {
	opened     atomic.Int64 // SQLite connections opened: the DSN's pragmas ran once each
	prepared   atomic.Int64 // SQLite statements compiled into a connection's cache
	statements atomic.Int64 // statements run, on either database (see SQL.Statements)
}

// sqliteConnector opens connections through modernc's connector (which
// runs the DSN's _pragma list once, when it opens the connection) and
// wraps each in a cachingConn.
type sqliteConnector struct {
	base driver.Connector
	n    *connCounters
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("store: the sqlite driver's connection (%T) lacks a method database/sql needs", dc)
	}
	c.n.opened.Add(1)
	return &cachingConn{sqliteConn: inner, n: c.n, stmts: map[string]*cachedStmt{}}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.base.Driver() }

type cachedStmt struct {
	driver.Stmt
	exec  driver.StmtExecContext
	query driver.StmtQueryContext
	busy  bool // rows from it are still open
}

// cachingConn is a modernc connection with a statement cache. database/sql
// uses a connection from one goroutine at a time; mu only guards against
// a Rows.Close from elsewhere.
type cachingConn struct {
	sqliteConn
	n     *connCounters
	mu    sync.Mutex
	stmts map[string]*cachedStmt
}

// Unwrap gives modernc's helpers (sqlite.Limit and the like) the real
// connection.
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// stmt returns the cached statement for query, preparing it on first use,
// or nil when the query should run unprepared: its statement is busy
// (a query run again while its own rows are open, possible inside a
// transaction) or the cache is full. It marks the statement busy for a
// query; release undoes that.
func (c *cachingConn) stmt(ctx context.Context, query string, forQuery bool) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stmts[query]
	if st == nil {
		if len(c.stmts) >= maxCachedStmts || !cacheable(query) {
			return nil, nil
		}
		ds, err := c.sqliteConn.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		ex, ok1 := ds.(driver.StmtExecContext)
		qu, ok2 := ds.(driver.StmtQueryContext)
		if !ok1 || !ok2 {
			ds.Close()
			return nil, nil
		}
		st = &cachedStmt{Stmt: ds, exec: ex, query: qu}
		c.stmts[query] = st
		c.n.prepared.Add(1)
	}
	if st.busy {
		return nil, nil
	}
	st.busy = forQuery
	return st, nil
}

// cacheable says whether query is DML, run again and again; migrations'
// DDL and PRAGMAs run once and are not worth a slot.
func cacheable(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	for _, kw := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"} {
		if len(q) >= len(kw) && strings.EqualFold(q[:len(kw)], kw) {
			return true
		}
	}
	return false
}

func (c *cachingConn) release(st *cachedStmt) {
	c.mu.Lock()
	st.busy = false
	c.mu.Unlock()
}

// BeginTx counts the transaction's BEGIN as a statement.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.n.statements.Add(1)
	return c.sqliteConn.BeginTx(ctx, opts)
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.n.statements.Add(1)
	st, err := c.stmt(ctx, query, false)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return st.exec.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.statements.Add(1)
	st, err := c.stmt(ctx, query, true)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := st.query.QueryContext(ctx, args)
	if err != nil {
		c.release(st)
		return nil, err
	}
	return &cachedRows{Rows: rows, c: c, st: st}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.sqliteConn.Close()
}

// cachedRows frees its statement for the next run when closed (modernc
// resets a cached statement's VM in rows.Close rather than finalizing it).
type cachedRows struct {
	driver.Rows
	c    *cachingConn
	st   *cachedStmt
	once sync.Once
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(func() { r.c.release(r.st) })
	return err
}
