package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Staff is a helpdesk console user: a name, one of tapd's admin roles, and
// the WebAuthn user handle their passkeys are made for.
type Staff struct {
	ID         string
	Name       string
	Role       string
	UserHandle []byte
	CreatedAt  time.Time
	CreatedBy  string
}

// StaffInvite is a one-time link that enrols a staff member's passkey;
// only the hash of its token is kept.
type StaffInvite struct {
	TokenHash string
	StaffID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// StaffPasskey is a staff member's WebAuthn credential for the console.
type StaffPasskey struct {
	ID             string
	StaffID        string
	CredentialID   []byte
	PublicKey      []byte // COSE key
	AAGUID         string
	SignCount      uint32
	BackupEligible bool
	BackupState    bool
	Name           string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	RevokedAt      *time.Time
}

// StaffSession is a console sign-in; the cookie's value is kept as a hash.
type StaffSession struct {
	ID         string
	TokenHash  string
	StaffID    string
	PasskeyID  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the longest it may last, however busy
}

// PassApproval is a pass asked for by one staff member that another must
// approve (four eyes) before it is issued; it is used once.
type PassApproval struct {
	ID              string
	UPN             string
	RequestedBy     string // staff id
	RequestedAt     time.Time
	Checklist       []string // what the asker ticked
	LifetimeMinutes int
	IsUsableOnce    bool
	ExpiresAt       time.Time
	ApprovedBy      string // staff id, "" until approved
	ApprovedAt      *time.Time
	UsedAt          *time.Time
}

// StaffStore keeps the console's staff, their passkeys, invitations and
// sessions, and the four-eyes approvals of passes.
type StaffStore interface {
	// CreateStaff stores the staff member with their first invitation; a
	// name already taken (ignoring case) gives ErrAlreadyExists.
	CreateStaff(ctx context.Context, s Staff, inv StaffInvite) error
	GetStaff(ctx context.Context, id string) (Staff, error)
	ListStaff(ctx context.Context) ([]Staff, error)
	GetStaffInvite(ctx context.Context, tokenHash string) (StaffInvite, error)
	// UseStaffInvite marks the invitation used, once: an invitation used
	// already, expired at now, or unknown gives ErrNotFound.
	UseStaffInvite(ctx context.Context, tokenHash string, now time.Time) (StaffInvite, error)
	// AddStaffPasskey stores a passkey; a credential id already stored
	// gives ErrAlreadyExists.
	AddStaffPasskey(ctx context.Context, p StaffPasskey) error
	// ListStaffPasskeys lists the staff member's passkeys, revoked ones
	// included, oldest first.
	ListStaffPasskeys(ctx context.Context, staffID string) ([]StaffPasskey, error)
	GetStaffPasskeyByCredential(ctx context.Context, credentialID []byte) (StaffPasskey, error)
	RecordStaffPasskeyUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error
	// RevokeStaffPasskey revokes a passkey not revoked yet and ends the
	// sessions signed in with it.
	RevokeStaffPasskey(ctx context.Context, id string, at time.Time) error

	CreateStaffSession(ctx context.Context, s StaffSession) error
	GetStaffSession(ctx context.Context, tokenHash string) (StaffSession, error)
	TouchStaffSession(ctx context.Context, id string, at time.Time) error
	DeleteStaffSession(ctx context.Context, id string) error
	// DeleteExpiredStaffSessions removes sessions past their end at now or
	// idle since before idleSince.
	DeleteExpiredStaffSessions(ctx context.Context, now, idleSince time.Time) (int64, error)

	CreatePassApproval(ctx context.Context, a PassApproval) error
	GetPassApproval(ctx context.Context, id string) (PassApproval, error)
	// ListPassApprovals lists approvals not used and not expired at now,
	// oldest first.
	ListPassApprovals(ctx context.Context, now time.Time) ([]PassApproval, error)
	// ApprovePassApproval records the approval of one not approved, not
	// used and not expired at now; otherwise ErrNotFound.
	ApprovePassApproval(ctx context.Context, id, by string, at time.Time) error
	// UsePassApproval marks an approved, unused, unexpired approval used,
	// once; otherwise ErrNotFound.
	UsePassApproval(ctx context.Context, id string, at time.Time) error
}

func nameKey(n string) string { return strings.ToLower(strings.TrimSpace(n)) }

func (s *SQL) CreateStaff(ctx context.Context, st Staff, inv StaffInvite) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO staff(id, name, name_key, role, user_handle, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			st.ID, st.Name, nameKey(st.Name), st.Role, b64.EncodeToString(st.UserHandle), ms(st.CreatedAt), st.CreatedBy); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO staff_invites(token_hash, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
			inv.TokenHash, st.ID, ms(inv.CreatedAt), ms(inv.ExpiresAt))
		return err
	})
}

const staffCols = `id, name, role, user_handle, created_at, created_by`

func scanStaff(sc interface{ Scan(...any) error }) (Staff, error) {
	var st Staff
	var handle string
	var created int64
	if err := sc.Scan(&st.ID, &st.Name, &st.Role, &handle, &created, &st.CreatedBy); err != nil {
		return st, mapErr(err)
	}
	st.CreatedAt = fromMS(created)
	var err error
	if st.UserHandle, err = b64.DecodeString(handle); err != nil {
		return st, fmt.Errorf("staff %s: corrupt user handle", st.ID)
	}
	return st, nil
}

func (s *SQL) GetStaff(ctx context.Context, id string) (Staff, error) {
	return scanStaff(s.r().QueryRowContext(ctx, s.q(`SELECT `+staffCols+` FROM staff WHERE id = ?`), id))
}

func (s *SQL) ListStaff(ctx context.Context) ([]Staff, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+staffCols+` FROM staff ORDER BY name_key`)
	return scanAll(rows, err, scanStaff)
}

const inviteCols = `token_hash, staff_id, created_at, expires_at, used_at`

func scanInvite(sc interface{ Scan(...any) error }) (StaffInvite, error) {
	var inv StaffInvite
	var created, expires int64
	var used sql.NullInt64
	if err := sc.Scan(&inv.TokenHash, &inv.StaffID, &created, &expires, &used); err != nil {
		return inv, mapErr(err)
	}
	inv.CreatedAt, inv.ExpiresAt, inv.UsedAt = fromMS(created), fromMS(expires), fromNullMS(used)
	return inv, nil
}

func (s *SQL) GetStaffInvite(ctx context.Context, h string) (StaffInvite, error) {
	return scanInvite(s.r().QueryRowContext(ctx, s.q(`SELECT `+inviteCols+` FROM staff_invites WHERE token_hash = ?`), h))
}

func (s *SQL) UseStaffInvite(ctx context.Context, h string, now time.Time) (StaffInvite, error) {
	return scanInvite(s.w().QueryRowContext(ctx, s.q(`UPDATE staff_invites SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING `+inviteCols), ms(now), h, ms(now)))
}

func (s *SQL) AddStaffPasskey(ctx context.Context, p StaffPasskey) error {
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO staff_passkeys(id, staff_id, credential_id, public_key, aaguid, sign_count,
		backup_eligible, backup_state, name, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		p.ID, p.StaffID, b64.EncodeToString(p.CredentialID), b64.EncodeToString(p.PublicKey), p.AAGUID, int64(p.SignCount),
		b2i(p.BackupEligible), b2i(p.BackupState), p.Name, ms(p.CreatedAt), nullMS(p.LastUsedAt), nullMS(p.RevokedAt))
	return mapErr(err)
}

const passkeyCols = `id, staff_id, credential_id, public_key, aaguid, sign_count, backup_eligible, backup_state, name, created_at, last_used_at, revoked_at`

func scanPasskey(sc interface{ Scan(...any) error }) (StaffPasskey, error) {
	var p StaffPasskey
	var cred, pub string
	var count, created int64
	var be, bs int
	var used, revoked sql.NullInt64
	if err := sc.Scan(&p.ID, &p.StaffID, &cred, &pub, &p.AAGUID, &count, &be, &bs, &p.Name, &created, &used, &revoked); err != nil {
		return p, mapErr(err)
	}
	p.SignCount, p.BackupEligible, p.BackupState = uint32(count), be == 1, bs == 1
	p.CreatedAt, p.LastUsedAt, p.RevokedAt = fromMS(created), fromNullMS(used), fromNullMS(revoked)
	var err error
	if p.CredentialID, err = b64.DecodeString(cred); err != nil {
		return p, fmt.Errorf("staff passkey %s: corrupt credential id", p.ID)
	}
	if p.PublicKey, err = b64.DecodeString(pub); err != nil {
		return p, fmt.Errorf("staff passkey %s: corrupt public key", p.ID)
	}
	return p, nil
}

func (s *SQL) ListStaffPasskeys(ctx context.Context, staffID string) ([]StaffPasskey, error) {
	rows, err := s.r().QueryContext(ctx, s.q(`SELECT `+passkeyCols+` FROM staff_passkeys WHERE staff_id = ? ORDER BY created_at, id`), staffID)
	return scanAll(rows, err, scanPasskey)
}

func (s *SQL) GetStaffPasskeyByCredential(ctx context.Context, credentialID []byte) (StaffPasskey, error) {
	return scanPasskey(s.r().QueryRowContext(ctx, s.q(`SELECT `+passkeyCols+` FROM staff_passkeys WHERE credential_id = ?`), b64.EncodeToString(credentialID)))
}

func (s *SQL) RecordStaffPasskeyUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE staff_passkeys SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE id = ?`),
		int64(signCount), b2i(backupState), ms(at), id)))
}

func (s *SQL) RevokeStaffPasskey(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, s.q(`UPDATE staff_passkeys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), ms(at), id)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM staff_sessions WHERE passkey_id = ?`), id)
		return err
	})
}

func (s *SQL) CreateStaffSession(ctx context.Context, ss StaffSession) error {
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO staff_sessions(id, token_hash, staff_id, passkey_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		ss.ID, ss.TokenHash, ss.StaffID, ss.PasskeyID, ms(ss.CreatedAt), ms(ss.LastSeenAt), ms(ss.ExpiresAt))
	return mapErr(err)
}

func (s *SQL) GetStaffSession(ctx context.Context, h string) (StaffSession, error) {
	var ss StaffSession
	var created, seen, expires int64
	err := s.r().QueryRowContext(ctx, s.q(`SELECT id, token_hash, staff_id, passkey_id, created_at, last_seen_at, expires_at FROM staff_sessions WHERE token_hash = ?`), h).
		Scan(&ss.ID, &ss.TokenHash, &ss.StaffID, &ss.PasskeyID, &created, &seen, &expires)
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return ss, mapErr(err)
}

func (s *SQL) TouchStaffSession(ctx context.Context, id string, at time.Time) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?`), ms(at), id)))
}

func (s *SQL) DeleteStaffSession(ctx context.Context, id string) error {
	_, err := s.w().ExecContext(ctx, s.q(`DELETE FROM staff_sessions WHERE id = ?`), id)
	return mapErr(err)
}

func (s *SQL) DeleteExpiredStaffSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	res, err := s.w().ExecContext(ctx, s.q(`DELETE FROM staff_sessions WHERE expires_at <= ? OR last_seen_at < ?`), ms(now), ms(idleSince))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

func (s *SQL) CreatePassApproval(ctx context.Context, a PassApproval) error {
	list, err := json.Marshal(nonNil(a.Checklist))
	if err != nil {
		return err
	}
	_, err = s.w().ExecContext(ctx, s.q(`INSERT INTO pass_approvals(id, upn_key, upn, requested_by, requested_at, checklist, lifetime_minutes, is_usable_once, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), a.ID, upnKey(a.UPN), a.UPN, a.RequestedBy, ms(a.RequestedAt), string(list), a.LifetimeMinutes, b2i(a.IsUsableOnce), ms(a.ExpiresAt))
	return mapErr(err)
}

const approvalCols = `id, upn, requested_by, requested_at, checklist, lifetime_minutes, is_usable_once, expires_at, approved_by, approved_at, used_at`

func scanApproval(sc interface{ Scan(...any) error }) (PassApproval, error) {
	var a PassApproval
	var requested, expires int64
	var list string
	var once int
	var approved, used sql.NullInt64
	if err := sc.Scan(&a.ID, &a.UPN, &a.RequestedBy, &requested, &list, &a.LifetimeMinutes, &once, &expires, &a.ApprovedBy, &approved, &used); err != nil {
		return a, mapErr(err)
	}
	a.RequestedAt, a.ExpiresAt, a.ApprovedAt, a.UsedAt, a.IsUsableOnce = fromMS(requested), fromMS(expires), fromNullMS(approved), fromNullMS(used), once == 1
	if err := json.Unmarshal([]byte(list), &a.Checklist); err != nil {
		return a, fmt.Errorf("pass approval %s: corrupt checklist", a.ID)
	}
	return a, nil
}

func (s *SQL) GetPassApproval(ctx context.Context, id string) (PassApproval, error) {
	return scanApproval(s.r().QueryRowContext(ctx, s.q(`SELECT `+approvalCols+` FROM pass_approvals WHERE id = ?`), id))
}

func (s *SQL) ListPassApprovals(ctx context.Context, now time.Time) ([]PassApproval, error) {
	rows, err := s.r().QueryContext(ctx, s.q(`SELECT `+approvalCols+` FROM pass_approvals WHERE used_at IS NULL AND expires_at > ? ORDER BY requested_at, id`), ms(now))
	return scanAll(rows, err, scanApproval)
}

func (s *SQL) ApprovePassApproval(ctx context.Context, id, by string, at time.Time) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE pass_approvals SET approved_by = ?, approved_at = ?
		WHERE id = ? AND approved_at IS NULL AND used_at IS NULL AND expires_at > ?`), by, ms(at), id, ms(at))))
}

func (s *SQL) UsePassApproval(ctx context.Context, id string, at time.Time) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE pass_approvals SET used_at = ?
		WHERE id = ? AND approved_at IS NOT NULL AND used_at IS NULL AND expires_at > ?`), ms(at), id, ms(at))))
}
