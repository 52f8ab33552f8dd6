package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
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

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
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
type SQL struct {
	db      *sql.DB
	dialect dialect
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
		// WAL lets readers run beside the writer; busy_timeout makes
		// writers queue instead of failing; immediate transactions take
		// the write lock up front so two writers never deadlock upgrading.
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		s := &SQL{db: db, dialect: dialectSQLite}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
		}
		return s, nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err := sql.Open("pgx", rawURL)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to postgres: %w", redactPG(err))
		}
		return &SQL{db: db, dialect: dialectPostgres}, nil
	}
	return nil, fmt.Errorf("unsupported database URL %q: use sqlite:///path/file.db or postgres://...", redactURL(rawURL))
}

// redactURL hides a password in a URL before it reaches a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func redactPG(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
}

// Close closes the database.
func (s *SQL) Close() error { return s.db.Close() }

// Ping reports whether the database answers.
func (s *SQL) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB exposes the handle for tests and tools that need raw SQL.
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
	tx, err := s.db.BeginTx(ctx, nil)
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

// ---- migrations ----

// Migrate applies every embedded migration not yet applied, each in its own
// transaction. On PostgreSQL an advisory lock serialises concurrent callers.
func (s *SQL) Migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	return s.withMigrationLock(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return mapErr(err)
		}
		for _, f := range files {
			v, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: bad name", f)
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

// CheckSchema returns ErrSchema unless every embedded migration is applied,
// so `tapd serve` refuses to run against a database `tapd init` never saw.
func (s *SQL) CheckSchema(ctx context.Context) error {
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if err != nil {
		if mapped := mapErr(err); errors.Is(mapped, ErrSchema) {
			return ErrSchema
		}
		return mapErr(err)
	}
	if n < len(files) {
		return ErrSchema
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

// ---- settings ----

func (s *SQL) GetSetting(ctx context.Context, name string) ([]byte, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&v)
	return []byte(v), mapErr(err)
}

func (s *SQL) PutSetting(ctx context.Context, name string, value []byte) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO settings(name, value) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value`), name, string(value))
	return mapErr(err)
}

// ---- users ----

func upnKey(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }

func (s *SQL) insertUser(ctx context.Context, ex execer, u User) error {
	groups, _ := json.Marshal(nonNil(u.Groups))
	_, err := ex.ExecContext(ctx, s.q(`INSERT INTO users(upn_key, upn, display_name, user_type, guest_kind, groups_json, admin_role, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		upnKey(u.UPN), u.UPN, u.DisplayName, u.UserType, u.GuestKind, string(groups), u.AdminRole, ms(u.CreatedAt))
	return err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *SQL) CreateUser(ctx context.Context, u User) error {
	return mapErr(s.insertUser(ctx, s.db, u))
}

func (s *SQL) CreateUsers(ctx context.Context, us []User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, u := range us {
			if err := s.insertUser(ctx, tx, u); err != nil {
				return fmt.Errorf("%s: %w", u.UPN, mapErr(err))
			}
		}
		return nil
	})
}

const userCols = `upn, display_name, user_type, guest_kind, groups_json, admin_role, created_at`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var groups string
	var created int64
	if err := sc.Scan(&u.UPN, &u.DisplayName, &u.UserType, &u.GuestKind, &groups, &u.AdminRole, &created); err != nil {
		return u, mapErr(err)
	}
	u.CreatedAt = fromMS(created)
	if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
		return u, fmt.Errorf("user %s: corrupt groups: %w", u.UPN, err)
	}
	return u, nil
}

func (s *SQL) GetUser(ctx context.Context, upn string) (User, error) {
	return scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE upn_key = ?`), upnKey(upn)))
}

func (s *SQL) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY upn_key`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}

func (s *SQL) DeleteUser(ctx context.Context, upn string) error {
	k := upnKey(upn)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range []string{
			`DELETE FROM sessions WHERE upn_key = ?`,
			`DELETE FROM passes WHERE upn_key = ?`,
			`DELETE FROM methods WHERE upn_key = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(stmt), k); err != nil {
				return err
			}
		}
		return affected(tx.ExecContext(ctx, s.q(`DELETE FROM users WHERE upn_key = ?`), k))
	})
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

// ---- passes ----

func (s *SQL) ReplacePass(ctx context.Context, p Pass) (string, error) {
	k := upnKey(p.UPN)
	var replaced string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM passes WHERE upn_key = ?`), k).Scan(&replaced)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if replaced != "" {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE pass_id = ?`), replaced); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM passes WHERE id = ?`), replaced); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO passes(id, upn_key, hash, created_at, start_at, lifetime_minutes, is_usable_once, used_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.ID, k, p.Hash, ms(p.CreatedAt), ms(p.StartAt), p.LifetimeMinutes, b2i(p.IsUsableOnce), nullMS(p.UsedAt), p.CreatedBy)
		return err
	})
	if err != nil {
		return "", err
	}
	return replaced, nil
}

func (s *SQL) GetPass(ctx context.Context, upn string) (Pass, error) {
	var p Pass
	var created, start int64
	var once int
	var used sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT p.id, u.upn, p.hash, p.created_at, p.start_at, p.lifetime_minutes, p.is_usable_once, p.used_at, p.created_by
		FROM passes p JOIN users u ON u.upn_key = p.upn_key WHERE p.upn_key = ?`), upnKey(upn)).
		Scan(&p.ID, &p.UPN, &p.Hash, &created, &start, &p.LifetimeMinutes, &once, &used, &p.CreatedBy)
	if err != nil {
		return p, mapErr(err)
	}
	p.CreatedAt, p.StartAt, p.IsUsableOnce, p.UsedAt = fromMS(created), fromMS(start), once == 1, fromNullMS(used)
	return p, nil
}

func (s *SQL) DeletePass(ctx context.Context, upn, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE pass_id = ? AND upn_key = ?`), id, upnKey(upn)); err != nil {
			return err
		}
		return affected(tx.ExecContext(ctx, s.q(`DELETE FROM passes WHERE id = ? AND upn_key = ?`), id, upnKey(upn)))
	})
}

// ---- sessions ----

func (s *SQL) OpenSession(ctx context.Context, sess Session, consume bool, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The conditional update is the atomic step: only one caller can
		// move used_at from NULL. For a multi-use pass it just records the
		// first use.
		marked := affected(tx.ExecContext(ctx, s.q(`UPDATE passes SET used_at = ? WHERE id = ? AND used_at IS NULL`), ms(now), sess.PassID))
		if marked != nil && !errors.Is(marked, ErrNotFound) {
			return marked
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM passes WHERE id = ?`), sess.PassID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if consume && marked != nil {
			return ErrPassUsed
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sessions(id, token_hash, kiosk_id, upn_key, pass_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			sess.ID, sess.TokenHash, sess.KioskID, upnKey(sess.UPN), sess.PassID, ms(sess.CreatedAt), ms(sess.ExpiresAt))
		return err
	})
}

func (s *SQL) GetSession(ctx context.Context, tokenHash string) (Session, error) {
	var x Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT s.id, s.token_hash, s.kiosk_id, u.upn, s.pass_id, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.upn_key = s.upn_key WHERE s.token_hash = ?`), tokenHash).
		Scan(&x.ID, &x.TokenHash, &x.KioskID, &x.UPN, &x.PassID, &created, &expires)
	if err != nil {
		return x, mapErr(err)
	}
	x.CreatedAt, x.ExpiresAt = fromMS(created), fromMS(expires)
	return x, nil
}

func (s *SQL) DeleteSession(ctx context.Context, id string) error {
	return mapErr(affected(s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id = ?`), id)))
}

func (s *SQL) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), ms(now))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// ---- kiosks ----

func (s *SQL) CreateKiosk(ctx context.Context, k Kiosk) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO kiosks(id, name, token_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)`),
		k.ID, k.Name, k.TokenHash, ms(k.CreatedAt), nullMS(k.RevokedAt))
	return mapErr(err)
}

const kioskCols = `id, name, token_hash, created_at, revoked_at`

func scanKiosk(sc interface{ Scan(...any) error }) (Kiosk, error) {
	var k Kiosk
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &k.Name, &k.TokenHash, &created, &revoked); err != nil {
		return k, mapErr(err)
	}
	k.CreatedAt, k.RevokedAt = fromMS(created), fromNullMS(revoked)
	return k, nil
}

func (s *SQL) GetKioskByTokenHash(ctx context.Context, h string) (Kiosk, error) {
	return scanKiosk(s.db.QueryRowContext(ctx, s.q(`SELECT `+kioskCols+` FROM kiosks WHERE token_hash = ?`), h))
}

func (s *SQL) ListKiosks(ctx context.Context) ([]Kiosk, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+kioskCols+` FROM kiosks ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []Kiosk
	for rows.Next() {
		k, err := scanKiosk(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
}

// RevokeKiosk marks the kiosk revoked and ends its sessions.
func (s *SQL) RevokeKiosk(ctx context.Context, name string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM kiosks WHERE name = ? AND revoked_at IS NULL`), name).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE kiosk_id = ?`), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE kiosks SET revoked_at = ? WHERE id = ?`), ms(at), id)
		return err
	})
}

// ---- admin tokens ----

func (s *SQL) CreateAdminToken(ctx context.Context, t AdminToken) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO admin_tokens(id, name, role, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Name, t.Role, t.TokenHash, ms(t.CreatedAt), nullMS(t.ExpiresAt), nullMS(t.RevokedAt))
	return mapErr(err)
}

const tokenCols = `id, name, role, token_hash, created_at, expires_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (AdminToken, error) {
	var t AdminToken
	var created int64
	var expires, revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.TokenHash, &created, &expires, &revoked); err != nil {
		return t, mapErr(err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMS(created), fromNullMS(expires), fromNullMS(revoked)
	return t, nil
}

func (s *SQL) GetAdminTokenByHash(ctx context.Context, h string) (AdminToken, error) {
	return scanToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM admin_tokens WHERE token_hash = ?`), h))
}

func (s *SQL) ListAdminTokens(ctx context.Context) ([]AdminToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM admin_tokens ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []AdminToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

func (s *SQL) RevokeAdminToken(ctx context.Context, name string, at time.Time) error {
	return mapErr(affected(s.db.ExecContext(ctx, s.q(`UPDATE admin_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`), ms(at), name)))
}

func (s *SQL) CountAdminTokens(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_tokens`).Scan(&n)
	return n, mapErr(err)
}

// ---- methods ----

var b64 = base64.RawURLEncoding

func nullB64(b []byte) any {
	if b == nil {
		return nil
	}
	return b64.EncodeToString(b)
}

func (s *SQL) CreateMethod(ctx context.Context, m Method) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO methods(id, upn_key, kind, display_name, created_at, credential_id, public_key,
		aaguid, model, attestation_format, attestation_level, sign_count, user_verified, backup_eligible, backup_state, session_id, last_used_at, rp_id, user_handle)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		m.ID, upnKey(m.UPN), m.Kind, m.DisplayName, ms(m.CreatedAt), nullB64(m.CredentialID), b64.EncodeToString(m.PublicKey),
		m.AAGUID, m.Model, m.AttestationFormat, m.AttestationLevel, int64(m.SignCount), b2i(m.UserVerified), b2i(m.BackupEligible),
		b2i(m.BackupState), m.SessionID, nullMS(m.LastUsedAt), m.RPID, b64.EncodeToString(m.UserHandle))
	return mapErr(err)
}

const methodCols = `m.id, u.upn, m.kind, m.display_name, m.created_at, m.credential_id, m.public_key, m.aaguid, m.model,
	m.attestation_format, m.attestation_level, m.sign_count, m.user_verified, m.backup_eligible, m.backup_state, m.session_id, m.last_used_at, m.rp_id, m.user_handle`

func scanMethod(sc interface{ Scan(...any) error }) (Method, error) {
	var m Method
	var created, count int64
	var credID sql.NullString
	var pub, handle string
	var uv, be, bs int
	var used sql.NullInt64
	if err := sc.Scan(&m.ID, &m.UPN, &m.Kind, &m.DisplayName, &created, &credID, &pub, &m.AAGUID, &m.Model,
		&m.AttestationFormat, &m.AttestationLevel, &count, &uv, &be, &bs, &m.SessionID, &used, &m.RPID, &handle); err != nil {
		return m, mapErr(err)
	}
	m.CreatedAt, m.SignCount, m.LastUsedAt = fromMS(created), uint32(count), fromNullMS(used)
	m.UserVerified, m.BackupEligible, m.BackupState = uv == 1, be == 1, bs == 1
	var err error
	if credID.Valid {
		if m.CredentialID, err = b64.DecodeString(credID.String); err != nil {
			return m, fmt.Errorf("method %s: corrupt credential id", m.ID)
		}
	}
	if m.PublicKey, err = b64.DecodeString(pub); err != nil {
		return m, fmt.Errorf("method %s: corrupt public key", m.ID)
	}
	if m.UserHandle, err = b64.DecodeString(handle); err != nil {
		return m, fmt.Errorf("method %s: corrupt user handle", m.ID)
	}
	if len(m.UserHandle) == 0 {
		m.UserHandle = nil
	}
	return m, nil
}

func (s *SQL) ListMethods(ctx context.Context, upn string) ([]Method, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+methodCols+` FROM methods m
		JOIN users u ON u.upn_key = m.upn_key WHERE m.upn_key = ? ORDER BY m.created_at, m.id`), upnKey(upn))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []Method
	for rows.Next() {
		m, err := scanMethod(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, mapErr(rows.Err())
}

func (s *SQL) GetMethod(ctx context.Context, upn, id string) (Method, error) {
	return scanMethod(s.db.QueryRowContext(ctx, s.q(`SELECT `+methodCols+` FROM methods m
		JOIN users u ON u.upn_key = m.upn_key WHERE m.upn_key = ? AND m.id = ?`), upnKey(upn), id))
}

func (s *SQL) DeleteMethod(ctx context.Context, upn, id string) error {
	return mapErr(affected(s.db.ExecContext(ctx, s.q(`DELETE FROM methods WHERE upn_key = ? AND id = ?`), upnKey(upn), id)))
}

func (s *SQL) RecordMethodUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error {
	return mapErr(affected(s.db.ExecContext(ctx, s.q(`UPDATE methods SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE id = ?`),
		int64(signCount), b2i(backupState), ms(at), id)))
}

func (s *SQL) UserHandle(ctx context.Context, upn string, candidate []byte) ([]byte, error) {
	k := upnKey(upn)
	read := func() (sql.NullString, error) {
		var h sql.NullString
		err := s.db.QueryRowContext(ctx, s.q(`SELECT user_handle FROM users WHERE upn_key = ?`), k).Scan(&h)
		return h, mapErr(err)
	}
	// Read first: the handle exists after the first ceremony, and a read
	// takes no write lock.
	h, err := read()
	if err != nil || h.Valid {
		if err != nil {
			return nil, err
		}
		return b64.DecodeString(h.String)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET user_handle = ? WHERE upn_key = ? AND user_handle IS NULL`),
		b64.EncodeToString(candidate), k); err != nil {
		return nil, mapErr(err)
	}
	if h, err = read(); err != nil {
		return nil, err
	}
	return b64.DecodeString(h.String)
}

// ---- ceremonies ----

func (s *SQL) CreateCeremony(ctx context.Context, c Ceremony) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO ceremonies(id, session_id, kind, method_id, data, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		c.ID, c.SessionID, c.Kind, c.MethodID, string(c.Data), ms(c.ExpiresAt))
	return mapErr(err)
}

func (s *SQL) TakeCeremony(ctx context.Context, id string) (Ceremony, error) {
	var c Ceremony
	var data string
	var exp int64
	err := s.db.QueryRowContext(ctx, s.q(`DELETE FROM ceremonies WHERE id = ? RETURNING id, session_id, kind, method_id, data, expires_at`), id).
		Scan(&c.ID, &c.SessionID, &c.Kind, &c.MethodID, &data, &exp)
	if err != nil {
		return c, mapErr(err)
	}
	c.Data, c.ExpiresAt = []byte(data), fromMS(exp)
	return c, nil
}

func (s *SQL) DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM ceremonies WHERE expires_at <= ?`), ms(now))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// ---- throttle ----

func (s *SQL) GetThrottle(ctx context.Context, key string) (Throttle, error) {
	t := Throttle{Key: key}
	var last, locked int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT failures, last_failure, locked_until FROM throttle WHERE key = ?`), key).Scan(&t.Failures, &last, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return t, mapErr(err)
	}
	t.LastFailure, t.LockedUntil = fromMS(last), fromMS(locked)
	return t, nil
}

func (s *SQL) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	// One statement, so concurrent failures on several instances all count.
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO throttle(key, failures, last_failure, locked_until) VALUES (?, 1, ?, 0)
		ON CONFLICT(key) DO UPDATE SET
			failures = CASE WHEN throttle.last_failure < ? THEN 1 ELSE throttle.failures + 1 END,
			last_failure = excluded.last_failure
		RETURNING failures`), key, ms(now), ms(now.Add(-window))).Scan(&n)
	return n, mapErr(err)
}

func (s *SQL) LockUntil(ctx context.Context, key string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE throttle SET locked_until = ? WHERE key = ? AND locked_until < ?`), ms(until), key, ms(until))
	return mapErr(err)
}

func (s *SQL) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM throttle WHERE key = ?`), key)
	return mapErr(err)
}

// ---- audit ----

func (s *SQL) AppendAudit(ctx context.Context, e AuditEntry) error {
	details, _ := json.Marshal(e.Details)
	if e.Details == nil {
		details = []byte("{}")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO audit(at, request_id, actor_type, actor, action, target, result, reason, details_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ms(e.At), e.RequestID, e.ActorType, e.Actor, e.Action, e.Target, e.Result, e.Reason, string(details))
	return mapErr(err)
}

func (s *SQL) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Target != "" {
		add("LOWER(target) = ?", upnKey(f.Target))
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Result != "" {
		add("result = ?", f.Result)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ms(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	query := `SELECT id, at, request_id, actor_type, actor, action, target, result, reason, details_json FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.RequestID, &e.ActorType, &e.Actor, &e.Action, &e.Target, &e.Result, &e.Reason, &details); err != nil {
			return nil, mapErr(err)
		}
		e.At = fromMS(at)
		_ = json.Unmarshal([]byte(details), &e.Details)
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}
