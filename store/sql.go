package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// SQL is the Store over database/sql. Queries are written once with ?
// placeholders and rewritten to $n for PostgreSQL.
//
// db takes writes and rdb reads. On PostgreSQL they are one pool; on SQLite
// they are two (see openSQLite), and rdb's connections refuse to write.
type SQL struct {
	db      *sql.DB
	rdb     *sql.DB
	dialect dialect
	conns   *connCounters
	// bound, in the copy Atomically hands out, is the one transaction that
	// every call of that copy runs in.
	bound *sql.Tx
}

// runner is what a query runs on: a pool, or the bound transaction.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// w is where writes (and reads that must see them) run.
func (s *SQL) w() runner {
	if s.bound != nil {
		return s.bound
	}
	return s.db
}

// r is where reads run: the reader pool, or the bound transaction so that
// a read inside it sees its own writes.
func (s *SQL) r() runner {
	if s.bound != nil {
		return s.bound
	}
	return s.rdb
}

// Atomically runs fn with a Store whose every call is one transaction's:
// an action and its audit entry are both kept or neither. Inside, calls
// that would open their own transaction join this one.
func (s *SQL) Atomically(ctx context.Context, fn func(Store) error) error {
	if s.bound != nil {
		return fn(s)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		bound := *s
		bound.bound = tx
		return fn(&bound)
	})
}

var _ Store = (*SQL)(nil)

// Open connects to a database URL: sqlite:///abs/path.db, sqlite://rel.db or
// postgres://user@host/db?... It does not create or migrate the schema; see
// Migrate and CheckSchema.
func Open(ctx context.Context, rawURL string) (*SQL, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return nil, errors.New("sqlite URL has no file path; use sqlite:///path/to/tapd.db")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		if err := privateSQLiteFile(path); err != nil {
			return nil, err
		}
		return openSQLite(ctx, path)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		cfg, err := pgx.ParseConfig(rawURL)
		if err != nil {
			return nil, err
		}
		n := &connCounters{}
		cfg.Tracer = statementCounter{n}
		db := stdlib.OpenDB(*cfg)
		// As many idle as open: with fewer, every burst past the idle count
		// closed connections and opened new ones (a new backend process on
		// the server, and the loss of that connection's statement cache).
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to postgres: %w", redactPG(err))
		}
		return &SQL{db: db, rdb: db, dialect: dialectPostgres, conns: n}, nil
	}
	return nil, fmt.Errorf("unsupported database URL %q: use sqlite:///path/file.db or postgres://...", redactURL(rawURL))
}

// statementCounter counts the statements pgx sends (queries, execs, and a
// transaction's BEGIN and COMMIT): each is a round trip to PostgreSQL.
type statementCounter struct{ n *connCounters }

func (c statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.statements.Add(1)
	return ctx
}

func (statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Statements is how many statements this store has sent to its database
// since it opened: round trips on PostgreSQL, calls into the engine on
// SQLite (a transaction's BEGIN counts, its COMMIT does not). Tests use it
// to hold a request to a number of round trips.
func (s *SQL) Statements() int64 { return s.conns.statements.Load() }

// redactURL hides a password in a URL before it reaches a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Describe says which database a URL names, without its password, for
// tapd's start-up log: "sqlite /var/lib/tapkiosk/tapd.db" or
// "postgres tapd@db.example.com:5432/tapd".
func Describe(rawURL string) string {
	if p, ok := strings.CutPrefix(rawURL, "sqlite://"); ok {
		p, _, _ = strings.Cut(p, "?")
		return "sqlite " + p
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "unsupported " + redactURL(rawURL)
	}
	who := ""
	if u.User != nil {
		who = u.User.Username() + "@"
	}
	return "postgres " + who + u.Host + u.Path
}

func redactPG(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
}

// Close closes the database.
func (s *SQL) Close() error {
	if s.rdb != s.db {
		s.rdb.Close()
	}
	return s.db.Close()
}

// Ping reports whether the database answers.
func (s *SQL) Ping(ctx context.Context) error {
	if s.rdb != s.db {
		if err := s.rdb.PingContext(ctx); err != nil {
			return err
		}
	}
	return s.db.PingContext(ctx)
}

// DB exposes the handle for tests and tools that need raw SQL: the pool
// that writes (on SQLite, its one connection).
func (s *SQL) DB() *sql.DB { return s.db }

func (s *SQL) q(query string) string {
	if s.dialect != dialectPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mapErr turns driver errors into domain errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ErrAlreadyExists
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_WRITE:
			return fmt.Errorf("%w: %v", ErrFull, err)
		}
		if se.Code()&0xff == sqlite3.SQLITE_FULL {
			return fmt.Errorf("%w: %v", ErrFull, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return ErrAlreadyExists
		case "53100", "53200", "53400":
			return fmt.Errorf("%w: %s", ErrFull, pe.Message)
		case "42P01":
			return ErrSchema
		}
		return redactPG(err)
	}
	if strings.Contains(err.Error(), "no such table") {
		return ErrSchema
	}
	return err
}

func (s *SQL) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.txWith(ctx, nil, fn)
}

// readTx runs fn in a read-only transaction that reads one snapshot, so a
// record read with several queries is never half an old and half a new one.
// (PostgreSQL's default, READ COMMITTED, takes a snapshot per statement;
// SQLite's read transactions always read one.)
func (s *SQL) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.txWith(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
}

func (s *SQL) txWith(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	if s.bound != nil {
		return mapErr(fn(s.bound))
	}
	db := s.db
	if opts != nil && opts.ReadOnly {
		db = s.rdb
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func upnKey(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// scanAll reads every row of a query with scan; empty is an empty slice.
func scanAll[T any](rows *sql.Rows, err error, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- migrations ----

// migrationSteps are Go steps that run after a migration's SQL, in its
// transaction, for what SQL alone cannot do portably (decoding JSON).
var migrationSteps = map[int]func(ctx context.Context, s *SQL, tx *sql.Tx) error{
	4: convertLegacyPolicies,
}

// Migrate applies every embedded migration not yet applied, each in its own
// transaction. On PostgreSQL an advisory lock serialises concurrent callers.
func (s *SQL) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, 0)
}

// migrateTo is Migrate that stops after version upTo; 0 means the last.
// Tests use it to build a database at an old schema.
func (s *SQL) migrateTo(ctx context.Context, upTo int) error {
	files, err := migrationFiles()
	if err != nil {
		return err
	}
	return s.withMigrationLock(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return mapErr(err)
		}
		if err := s.refuseNewer(ctx, conn, files); err != nil {
			return err
		}
		for _, mf := range files {
			v, f := mf.version, mf.path
			if upTo > 0 && v > upTo {
				break
			}
			var n int
			if err := conn.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
				return mapErr(err)
			}
			if n > 0 {
				continue
			}
			body, _ := migrations.ReadFile(f)
			text := strings.ReplaceAll(string(body), "{{ID}}", s.autoID())
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return mapErr(err)
			}
			for _, stmt := range splitSQL(text) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					tx.Rollback()
					return fmt.Errorf("migration %d: %w", v, mapErr(err))
				}
			}
			if step := migrationSteps[v]; step != nil {
				if err := step(ctx, s, tx); err != nil {
					tx.Rollback()
					return fmt.Errorf("migration %d: %w", v, mapErr(err))
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`), v, ms(time.Now())); err != nil {
				tx.Rollback()
				return mapErr(err)
			}
			if err := tx.Commit(); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
}

func (s *SQL) withMigrationLock(ctx context.Context, fn func(*sql.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer conn.Close()
	if s.dialect == dialectPostgres {
		const key = 7261746170 // any constant shared by all tapd instances
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
			return mapErr(err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	}
	return fn(conn)
}

// migrationFile is one embedded migration: its number and its file.
type migrationFile struct {
	version int
	path    string
}

// migrationFiles are the embedded migrations in order of their numbers,
// which need not be contiguous.
func migrationFiles() ([]migrationFile, error) {
	paths, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migrationFile
	for _, p := range paths {
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(p), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", p)
		}
		out = append(out, migrationFile{v, p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// queryer is what both *sql.DB and *sql.Conn offer for one query.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// refuseNewer returns ErrSchemaNewer, naming both versions, when the
// database holds a migration numbered past the last one embedded here.
// Numbers may have gaps, so it compares the highest, not a count.
func (s *SQL) refuseNewer(ctx context.Context, q queryer, files []migrationFile) error {
	var dbMax sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&dbMax); err != nil {
		return mapErr(err)
	}
	known := 0
	if len(files) > 0 {
		known = files[len(files)-1].version
	}
	if dbMax.Valid && int(dbMax.Int64) > known {
		return fmt.Errorf("%w: the database is at migration %d, and this tapd knows migrations up to %d; run the tapd that migrated it (or restore a backup taken before that upgrade)",
			ErrSchemaNewer, dbMax.Int64, known)
	}
	return nil
}

// CheckSchema returns ErrSchema unless every embedded migration is applied,
// so `tapd serve` refuses to run against a database `tapd init` never saw,
// and ErrSchemaNewer when a newer tapd has migrated it.
func (s *SQL) CheckSchema(ctx context.Context) error {
	files, err := migrationFiles()
	if err != nil {
		return err
	}
	if err := s.refuseNewer(ctx, s.db, files); err != nil {
		if errors.Is(err, ErrSchema) {
			return ErrSchema
		}
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return mapErr(err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return mapErr(err)
	}
	for _, f := range files {
		if !applied[f.version] {
			return ErrSchema
		}
	}
	return nil
}

func (s *SQL) autoID() string {
	if s.dialect == dialectPostgres {
		return "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY AUTOINCREMENT"
}

// splitSQL splits a migration on semicolons at line ends, dropping comments.
func splitSQL(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}
