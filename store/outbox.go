package store

import (
	"cmp"
	"context"
	"slices"
	"time"
)

const outboxCols = `id, kind, payload, created_at, attempts, next_attempt_at, last_error, dead`

func scanOutbox(sc interface{ Scan(...any) error }) (OutboxEvent, error) {
	var e OutboxEvent
	var payload string
	var created, next int64
	var dead int
	if err := sc.Scan(&e.ID, &e.Kind, &payload, &created, &e.Attempts, &next, &e.LastError, &dead); err != nil {
		return e, mapErr(err)
	}
	e.Payload, e.CreatedAt, e.NextAttemptAt, e.Dead = []byte(payload), fromMS(created), fromMS(next), dead != 0
	return e, nil
}

func (s *SQL) EnqueueEvent(ctx context.Context, e OutboxEvent) error {
	next := e.NextAttemptAt
	if next.IsZero() {
		next = e.CreatedAt
	}
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO outbox(id, kind, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)`),
		e.ID, e.Kind, string(e.Payload), ms(e.CreatedAt), ms(next))
	return mapErr(err)
}

func (s *SQL) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEvent, error) {
	// SQLite's single writer serialises claims. On PostgreSQL the due rows
	// are locked in a CTE (materialised, so its LIMIT holds; as a plain
	// IN subquery the planner may run it again per row), and SKIP LOCKED
	// lets concurrent instances take different rows instead of waiting.
	query := `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?
		WHERE id IN (SELECT id FROM outbox WHERE dead = 0 AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ?)
		RETURNING ` + outboxCols
	args := []any{ms(now.Add(lease)), ms(now), limit}
	if s.dialect == dialectPostgres {
		query = `WITH due AS (SELECT id FROM outbox WHERE dead = 0 AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
		UPDATE outbox SET attempts = outbox.attempts + 1, next_attempt_at = ? FROM due WHERE outbox.id = due.id
		RETURNING outbox.id, outbox.kind, outbox.payload, outbox.created_at, outbox.attempts, outbox.next_attempt_at, outbox.last_error, outbox.dead`
		args = []any{ms(now), limit, ms(now.Add(lease))}
	}
	rows, err := s.w().QueryContext(ctx, s.q(query), args...)
	out, err := scanAll(rows, err, scanOutbox)
	// RETURNING promises no order.
	slices.SortFunc(out, func(a, b OutboxEvent) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

func (s *SQL) EventDelivered(ctx context.Context, id string) error {
	return affected(s.w().ExecContext(ctx, s.q(`DELETE FROM outbox WHERE id = ?`), id))
}

func (s *SQL) EventFailed(ctx context.Context, id string, next time.Time, lastError string, dead bool) error {
	return affected(s.w().ExecContext(ctx, s.q(`UPDATE outbox SET next_attempt_at = ?, last_error = ?, dead = ? WHERE id = ?`),
		ms(next), lastError, b2i(dead), id))
}

func (s *SQL) ListEvents(ctx context.Context) ([]OutboxEvent, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox ORDER BY created_at, id`)
	return scanAll(rows, err, scanOutbox)
}

func (s *SQL) CountEvents(ctx context.Context) (pending, dead int, err error) {
	err = s.r().QueryRowContext(ctx, `SELECT COALESCE(SUM(1 - dead), 0), COALESCE(SUM(dead), 0) FROM outbox`).Scan(&pending, &dead)
	return pending, dead, mapErr(err)
}
