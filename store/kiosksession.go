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
	err := s.readRow(ctx, s.q(kioskSessionQuery), []any{sessionTokenHash, kioskTokenHash},
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

// readRow scans the one row of query into dest. On SQLite outside a
// transaction it waits for a read connection under ctx but runs the
// statement under context.WithoutCancel(ctx): with a context that can
// end, database/sql starts a goroutine per query to close its rows on
// cancellation and modernc another to interrupt the statement, two
// goroutines, a progress handler and a cancel registration for a point
// read of ~25 µs that cannot wait on anything (WAL readers never wait for
// the writer). That was ~4% of a poll's CPU under `make load`. A request
// whose client left still stops before its statement, in the wait for a
// connection, which is where a loaded tapd keeps it. PostgreSQL keeps the
// cancellable context: there the statement is a network round trip that
// can hang.
func (s *SQL) readRow(ctx context.Context, query string, args []any, dest ...any) error {
	if s.dialect != dialectSQLite || s.bound != nil {
		return s.r().QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.QueryRowContext(context.WithoutCancel(ctx), query, args...).Scan(dest...)
}
