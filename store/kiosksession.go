package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// KioskSession is what authenticating a kiosk's session request needs,
// read together so that a kiosk's poll costs one round trip to the store
// (it was seven: kiosk, session, person, methods, pass, person again).
type KioskSession struct {
	Kiosk Kiosk
	// Session is nil when the session token names no session (never
	// opened, signed out, swept, or its pass or person deleted).
	Session *Session
	// User is the session's person; zero when Session is nil.
	User User
	// HasMethods says whether the person has a stored method other than
	// a pass: with the local directory, exactly "has other methods".
	HasMethods bool
}

// kioskSessionQuery reads the kiosk, and beside it the session, its
// person and whether they have a method, in one statement. The kiosk is
// the driving row, so an unknown kiosk token gives no row at all, and an
// unknown session token gives the kiosk with NULLs.
const kioskSessionQuery = `SELECT k.id, k.name, k.token_hash, k.created_at, k.revoked_at,
	s.id, s.kiosk_id, s.pass_id, s.created_at, s.expires_at,
	u.upn, u.display_name, u.user_type, u.guest_kind, u.groups_json, u.admin_role, u.created_at,
	EXISTS (SELECT 1 FROM methods m WHERE m.upn_key = s.upn_key AND m.kind <> 'temporaryAccessPass')
	FROM kiosks k
	LEFT JOIN sessions s ON s.token_hash = ?
	LEFT JOIN users u ON u.upn_key = s.upn_key
	WHERE k.token_hash = ?`

func (s *SQL) GetKioskSession(ctx context.Context, kioskTokenHash, sessionTokenHash string) (KioskSession, error) {
	var x KioskSession
	var kCreated int64
	var kRevoked sql.NullInt64
	var sID, sKiosk, sPass, uUPN, uName, uType, uGuest, uGroups, uRole sql.NullString
	var sCreated, sExpires, uCreated sql.NullInt64
	err := s.r().QueryRowContext(ctx, s.q(kioskSessionQuery), sessionTokenHash, kioskTokenHash).Scan(
		&x.Kiosk.ID, &x.Kiosk.Name, &x.Kiosk.TokenHash, &kCreated, &kRevoked,
		&sID, &sKiosk, &sPass, &sCreated, &sExpires,
		&uUPN, &uName, &uType, &uGuest, &uGroups, &uRole, &uCreated,
		&x.HasMethods)
	if err != nil {
		return KioskSession{}, mapErr(err)
	}
	x.Kiosk.CreatedAt, x.Kiosk.RevokedAt = fromMS(kCreated), fromNullMS(kRevoked)
	// A session whose person is gone is no session (GetSession joins the
	// same way).
	if !sID.Valid || !uUPN.Valid {
		x.HasMethods = false
		return x, nil
	}
	x.Session = &Session{ID: sID.String, TokenHash: sessionTokenHash, KioskID: sKiosk.String, UPN: uUPN.String, PassID: sPass.String,
		CreatedAt: fromMS(sCreated.Int64), ExpiresAt: fromMS(sExpires.Int64)}
	x.User = User{UPN: uUPN.String, DisplayName: uName.String, UserType: uType.String, GuestKind: uGuest.String,
		AdminRole: uRole.String, CreatedAt: fromMS(uCreated.Int64)}
	if err := json.Unmarshal([]byte(uGroups.String), &x.User.Groups); err != nil {
		return KioskSession{}, fmt.Errorf("user %s: corrupt groups: %w", x.User.UPN, err)
	}
	return x, nil
}
