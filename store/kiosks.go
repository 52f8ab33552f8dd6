package store

import (
	"context"
	"database/sql"
	"time"
)

// ---- kiosks ----

func (s *SQL) CreateKiosk(ctx context.Context, k Kiosk) error {
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO kiosks(id, name, token_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)`),
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
	return scanKiosk(s.r().QueryRowContext(ctx, s.q(`SELECT `+kioskCols+` FROM kiosks WHERE token_hash = ?`), h))
}

func (s *SQL) ListKiosks(ctx context.Context) ([]Kiosk, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+kioskCols+` FROM kiosks ORDER BY name`)
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
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO admin_tokens(id, name, role, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
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
	return scanToken(s.r().QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM admin_tokens WHERE token_hash = ?`), h))
}

func (s *SQL) ListAdminTokens(ctx context.Context) ([]AdminToken, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+tokenCols+` FROM admin_tokens ORDER BY name`)
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
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE admin_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`), ms(at), name)))
}

func (s *SQL) CountAdminTokens(ctx context.Context) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_tokens`).Scan(&n)
	return n, mapErr(err)
}
