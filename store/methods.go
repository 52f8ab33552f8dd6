package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"
)

// ---- methods ----

var b64 = base64.RawURLEncoding

func nullB64(b []byte) any {
	if b == nil {
		return nil
	}
	return b64.EncodeToString(b)
}

func (s *SQL) CreateMethod(ctx context.Context, m Method) error {
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO methods(id, upn_key, kind, display_name, created_at, credential_id, public_key,
		aaguid, model, attestation_format, attestation_level, sign_count, user_verified, backup_eligible, backup_state, session_id, last_used_at, rp_id, user_handle, staged_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		m.ID, upnKey(m.UPN), m.Kind, m.DisplayName, ms(m.CreatedAt), nullB64(m.CredentialID), b64.EncodeToString(m.PublicKey),
		m.AAGUID, m.Model, m.AttestationFormat, m.AttestationLevel, int64(m.SignCount), b2i(m.UserVerified), b2i(m.BackupEligible),
		b2i(m.BackupState), m.SessionID, nullMS(m.LastUsedAt), m.RPID, b64.EncodeToString(m.UserHandle), m.StagedBy)
	return mapErr(err)
}

const methodCols = `m.id, u.upn, m.kind, m.display_name, m.created_at, m.credential_id, m.public_key, m.aaguid, m.model,
	m.attestation_format, m.attestation_level, m.sign_count, m.user_verified, m.backup_eligible, m.backup_state, m.session_id, m.last_used_at, m.rp_id, m.user_handle, m.staged_by`

func scanMethod(sc interface{ Scan(...any) error }) (Method, error) {
	var m Method
	var created, count int64
	var credID sql.NullString
	var pub, handle string
	var uv, be, bs int
	var used sql.NullInt64
	if err := sc.Scan(&m.ID, &m.UPN, &m.Kind, &m.DisplayName, &created, &credID, &pub, &m.AAGUID, &m.Model,
		&m.AttestationFormat, &m.AttestationLevel, &count, &uv, &be, &bs, &m.SessionID, &used, &m.RPID, &handle, &m.StagedBy); err != nil {
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
	rows, err := s.r().QueryContext(ctx, s.q(`SELECT `+methodCols+` FROM methods m
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
	return scanMethod(s.r().QueryRowContext(ctx, s.q(`SELECT `+methodCols+` FROM methods m
		JOIN users u ON u.upn_key = m.upn_key WHERE m.upn_key = ? AND m.id = ?`), upnKey(upn), id))
}

func (s *SQL) DeleteMethod(ctx context.Context, upn, id string) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`DELETE FROM methods WHERE upn_key = ? AND id = ?`), upnKey(upn), id)))
}

func (s *SQL) RecordMethodUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE methods SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE id = ?`),
		int64(signCount), b2i(backupState), ms(at), id)))
}

func (s *SQL) UserHandle(ctx context.Context, upn string, candidate []byte) ([]byte, error) {
	k := upnKey(upn)
	read := func() (sql.NullString, error) {
		var h sql.NullString
		err := s.r().QueryRowContext(ctx, s.q(`SELECT user_handle FROM users WHERE upn_key = ?`), k).Scan(&h)
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
	if _, err := s.w().ExecContext(ctx, s.q(`UPDATE users SET user_handle = ? WHERE upn_key = ? AND user_handle IS NULL`),
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
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO ceremonies(id, session_id, kind, method_id, data, expires_at, operator_id, upn) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.SessionID, c.Kind, c.MethodID, string(c.Data), ms(c.ExpiresAt), c.OperatorID, c.UPN)
	return mapErr(err)
}

func (s *SQL) TakeCeremony(ctx context.Context, id string) (Ceremony, error) {
	var c Ceremony
	var data string
	var exp int64
	err := s.w().QueryRowContext(ctx, s.q(`DELETE FROM ceremonies WHERE id = ? RETURNING id, session_id, kind, method_id, data, expires_at, operator_id, upn`), id).
		Scan(&c.ID, &c.SessionID, &c.Kind, &c.MethodID, &data, &exp, &c.OperatorID, &c.UPN)
	if err != nil {
		return c, mapErr(err)
	}
	c.Data, c.ExpiresAt = []byte(data), fromMS(exp)
	return c, nil
}

func (s *SQL) DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w().ExecContext(ctx, s.q(`DELETE FROM ceremonies WHERE expires_at <= ?`), ms(now))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
