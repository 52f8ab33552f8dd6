package store

import (
	"context"
	"database/sql"
	"errors"
	"unicode/utf8"
)

const throttleCols = `checked, failures, level, last_failure, reserved_at, locked_until, holds, lock_cause`

func scanThrottle(sc interface{ Scan(...any) error }, t *Throttle) error {
	var last, reserved, locked int64
	if err := sc.Scan(&t.Checked, &t.Failures, &t.Level, &last, &reserved, &locked, &t.Holds, &t.LockCause); err != nil {
		return err
	}
	t.LastFailure, t.ReservedAt, t.LockedUntil = fromMS(last), fromMS(reserved), fromMS(locked)
	return nil
}

func (s *SQL) GetThrottle(ctx context.Context, key string) (Throttle, error) {
	t := Throttle{Key: key}
	err := scanThrottle(s.r().QueryRowContext(ctx, s.q(`SELECT `+throttleCols+` FROM throttle WHERE key = ?`), key), &t)
	if errors.Is(err, sql.ErrNoRows) {
		return Throttle{Key: key}, nil
	}
	return t, mapErr(err)
}

func (s *SQL) UpdateThrottle(ctx context.Context, key string, change func(*Throttle)) (Throttle, error) {
	var out Throttle
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// One statement makes sure the row exists, locks it (ON CONFLICT
		// DO UPDATE takes the row lock on PostgreSQL; SQLite's immediate
		// transaction holds the write lock) and reads it. A separate insert
		// and SELECT ... FOR UPDATE would find no row when a concurrent
		// ClearThrottle deleted it in between.
		t := Throttle{Key: key}
		if err := scanThrottle(tx.QueryRowContext(ctx, s.q(`INSERT INTO throttle(key, failures, last_failure, locked_until) VALUES (?, 0, 0, 0)
			ON CONFLICT(key) DO UPDATE SET key = excluded.key
			RETURNING `+throttleCols), key), &t); err != nil {
			return err
		}
		change(&t)
		t.Key = key
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE throttle SET checked = ?, failures = ?, level = ?, last_failure = ?, reserved_at = ?, locked_until = ?,
			holds = ?, lock_cause = ? WHERE key = ?`), t.Checked, t.Failures, t.Level, ms(t.LastFailure), ms(t.ReservedAt), ms(t.LockedUntil),
			t.Holds, t.LockCause, key); err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

func (s *SQL) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.w().ExecContext(ctx, s.q(`DELETE FROM throttle WHERE key = ?`), key)
	return mapErr(err)
}

func (s *SQL) ListThrottles(ctx context.Context, prefix string) ([]Throttle, error) {
	// substr, not LIKE: a UPN may hold _ or %. substr counts characters,
	// on both databases, so the length is the prefix's in runes, not bytes.
	rows, err := s.r().QueryContext(ctx, s.q(`SELECT key, `+throttleCols+` FROM throttle WHERE substr(key, 1, ?) = ? ORDER BY key`),
		utf8.RuneCountInString(prefix), prefix)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []Throttle
	for rows.Next() {
		var t Throttle
		var key string
		if err := scanThrottle(rowScanner{rows, &key}, &t); err != nil {
			return nil, mapErr(err)
		}
		t.Key = key
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

// rowScanner scans a leading key column before a throttle's.
type rowScanner struct {
	rows *sql.Rows
	key  *string
}

func (r rowScanner) Scan(dest ...any) error { return r.rows.Scan(append([]any{r.key}, dest...)...) }
