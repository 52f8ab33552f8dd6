package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

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
	err := s.r().QueryRowContext(ctx, s.q(`SELECT p.id, u.upn, p.hash, p.created_at, p.start_at, p.lifetime_minutes, p.is_usable_once, p.used_at, p.created_by
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
	err := s.r().QueryRowContext(ctx, s.q(`SELECT s.id, s.token_hash, s.kiosk_id, u.upn, s.pass_id, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.upn_key = s.upn_key WHERE s.token_hash = ?`), tokenHash).
		Scan(&x.ID, &x.TokenHash, &x.KioskID, &x.UPN, &x.PassID, &created, &expires)
	if err != nil {
		return x, mapErr(err)
	}
	x.CreatedAt, x.ExpiresAt = fromMS(created), fromMS(expires)
	return x, nil
}

func (s *SQL) DeleteSession(ctx context.Context, id string) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id = ?`), id)))
}

func (s *SQL) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w().ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), ms(now.Add(-ExpiredSessionKept)))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
