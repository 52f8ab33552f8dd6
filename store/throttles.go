package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

func (s *SQL) GetThrottle(ctx context.Context, key string) (Throttle, error) {
	t := Throttle{Key: key}
	var last, locked int64
	err := s.rdb.QueryRowContext(ctx, s.q(`SELECT failures, last_failure, locked_until FROM throttle WHERE key = ?`), key).Scan(&t.Failures, &last, &locked)
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
