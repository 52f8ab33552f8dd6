package recovery

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// validName accepts names for kiosks and tokens: short, printable, no
// slashes (they appear in URLs).
func validName(field, n string) (string, error) {
	n = strings.TrimSpace(n)
	if tap.ValidName(n) != nil || strings.ContainsAny(n, "/\\?#%") {
		return "", api.Invalid(field, "%s must be 1-%d printable characters without / \\ ? # or %%.", field, tap.MaxNameLength)
	}
	return n, nil
}

// ---- kiosks ----

func kioskOut(k store.Kiosk) api.Kiosk {
	return api.Kiosk{ID: k.ID, Name: k.Name, CreatedDateTime: k.CreatedAt, RevokedDateTime: k.RevokedAt}
}

// CreateKiosk registers a kiosk; its token is in the answer, once.
func (s *Service) CreateKiosk(ctx context.Context, c *Caller, req api.CreateKioskRequest) (api.Kiosk, error) {
	name, err := validName("name", req.Name)
	if err != nil {
		return api.Kiosk{}, err
	}
	tok := newToken(api.KioskTokenPrefix)
	k := store.Kiosk{ID: uuid.NewString(), Name: name, TokenHash: HashToken(tok), CreatedAt: ms(s.now())}
	err = s.inStore(ctx, func(u unit) error {
		if err := u.st.CreateKiosk(ctx, k); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionCreateKiosk, name, map[string]string{"kioskId": k.ID})
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.Kiosk{}, api.Conflict(api.CodeAlreadyExists, "A kiosk named %q already exists; revoked names are kept for the audit trail, so pick another.", name)
	}
	if err != nil {
		return api.Kiosk{}, err
	}
	out := kioskOut(k)
	out.Token = tok
	return out, nil
}

// ListKiosks lists every kiosk, revoked ones included.
func (s *Service) ListKiosks(ctx context.Context) ([]api.Kiosk, error) {
	ks, err := s.st.ListKiosks(ctx)
	out := []api.Kiosk{}
	for _, k := range ks {
		out = append(out, kioskOut(k))
	}
	return out, err
}

// RevokeKiosk revokes a kiosk; its sessions end.
func (s *Service) RevokeKiosk(ctx context.Context, c *Caller, name string) error {
	err := s.inStore(ctx, func(u unit) error {
		if err := u.st.RevokeKiosk(ctx, name, s.now()); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionRevokeKiosk, name, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("No active kiosk named %q.", name)
	}
	return err
}

// ---- admin tokens ----

func tokenOut(t store.AdminToken) api.AdminToken {
	return api.AdminToken{ID: t.ID, Name: t.Name, Role: t.Role, CreatedDateTime: t.CreatedAt, ExpiresDateTime: t.ExpiresAt, RevokedDateTime: t.RevokedAt}
}

// CreateAdminToken stores a fresh admin token and returns its value, which
// is shown once and never stored. tapd init uses it for the first token.
func CreateAdminToken(ctx context.Context, st store.Store, name, role string, now time.Time, expires *time.Time) (string, store.AdminToken, error) {
	tok := newToken(api.AdminTokenPrefix)
	t := store.AdminToken{ID: uuid.NewString(), Name: name, Role: role, TokenHash: HashToken(tok), CreatedAt: now, ExpiresAt: expires}
	if err := st.CreateAdminToken(ctx, t); err != nil {
		return "", t, err
	}
	return tok, t, nil
}

// CreateToken makes a named admin token with a role.
func (s *Service) CreateToken(ctx context.Context, c *Caller, req api.CreateAdminTokenRequest) (api.AdminToken, error) {
	name, err := validName("name", req.Name)
	if err != nil {
		return api.AdminToken{}, err
	}
	if !IsRole(req.Role) {
		return api.AdminToken{}, api.Invalid("role", "role must be one of %s.", strings.Join(api.Roles, ", "))
	}
	now := ms(s.now())
	if req.ExpiresDateTime != nil && !req.ExpiresDateTime.After(now) {
		return api.AdminToken{}, api.Invalid("expiresDateTime", "expiresDateTime must be in the future.")
	}
	var tok string
	var t store.AdminToken
	err = s.inStore(ctx, func(u unit) error {
		var err error
		if tok, t, err = CreateAdminToken(ctx, u.st, name, req.Role, now, req.ExpiresDateTime); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionCreateToken, name, map[string]string{"role": req.Role})
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.AdminToken{}, api.Conflict(api.CodeAlreadyExists, "An admin token named %q already exists.", name)
	}
	if err != nil {
		return api.AdminToken{}, err
	}
	out := tokenOut(t)
	out.Token = tok
	return out, nil
}

// ListTokens lists every admin token, without values.
func (s *Service) ListTokens(ctx context.Context) ([]api.AdminToken, error) {
	ts, err := s.st.ListAdminTokens(ctx)
	out := []api.AdminToken{}
	for _, t := range ts {
		out = append(out, tokenOut(t))
	}
	return out, err
}

// RevokeToken revokes an admin token.
func (s *Service) RevokeToken(ctx context.Context, c *Caller, name string) error {
	err := s.inStore(ctx, func(u unit) error {
		if err := u.st.RevokeAdminToken(ctx, name, s.now()); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionRevokeToken, name, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("No active admin token named %q.", name)
	}
	return err
}

// ---- audit ----

// Audit lists audit entries, newest first.
func (s *Service) Audit(ctx context.Context, f store.AuditFilter) ([]api.AuditEntry, error) {
	if f.Target != "" {
		// Sign-ins with a name that matched no user are kept under the
		// name's pseudonym: asking for the name finds them.
		p, err := s.pseudonym(ctx, f.Target)
		if err != nil {
			return nil, err
		}
		f.OrTarget = p
	}
	es, err := s.st.ListAudit(ctx, f)
	out := []api.AuditEntry{}
	for _, e := range es {
		out = append(out, AuditOut(e))
	}
	return out, err
}

// AuditOut is an audit entry in the API's shape, as tapctl audit --json
// and the audit export show it.
func AuditOut(e store.AuditEntry) api.AuditEntry {
	return api.AuditEntry{ID: e.ID, ActivityDateTime: e.At, RequestID: e.RequestID,
		Actor: api.Actor{Type: e.ActorType, Name: e.Actor}, Action: e.Action, Target: e.Target, Result: string(e.Result),
		ResultReason: e.Reason, Details: e.Details, Repeats: e.Repeats}
}

// ---- who is calling ----

// AdminByToken authenticates an admin token.
func (s *Service) AdminByToken(ctx context.Context, tok string) (*store.AdminToken, error) {
	t, err := s.st.GetAdminTokenByHash(ctx, HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Unauthorized(api.CodeInvalidToken, "The admin token is not known to this tapd.")
	}
	if err != nil {
		return nil, err
	}
	if t.RevokedAt != nil {
		return nil, api.Unauthorized(api.CodeTokenRevoked, "The admin token %q has been revoked; ask a global administrator for a new one.", t.Name)
	}
	if t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt) {
		return nil, api.Unauthorized(api.CodeTokenExpired, "The admin token %q expired at %s; ask for a new one.", t.Name, t.ExpiresAt.Format("2006-01-02 15:04 MST"))
	}
	return &t, nil
}

// KioskByToken authenticates a kiosk token.
func (s *Service) KioskByToken(ctx context.Context, tok string) (*store.Kiosk, error) {
	k, err := s.st.GetKioskByTokenHash(ctx, HashToken(tok))
	if err := kioskUsable(k, err); err != nil {
		return nil, err
	}
	return &k, nil
}

// kioskUsable says why a kiosk, as read by its token hash, may not call.
func kioskUsable(k store.Kiosk, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return api.Unauthorized(api.CodeInvalidToken, "The kiosk token is not known to this tapd.")
	}
	if err != nil {
		return err
	}
	if k.RevokedAt != nil {
		return api.Unauthorized(api.CodeTokenRevoked, "This kiosk has been revoked; ask IT to register it again.")
	}
	return nil
}

var errSessionEnded = api.Unauthorized(api.CodeInvalidSession, "The session has ended; sign in again.")

// KioskSession authenticates a kiosk token and the session token it
// sends, filling c.Kiosk and c.Session, in one read of the store: a
// kiosk's poll costs one round trip. Nothing is cached between requests,
// so a kiosk revoked or a session ended through any tapd instance on the
// same store stops working on every instance at its next request. A
// session belongs to the kiosk that opened it.
func (s *Service) KioskSession(ctx context.Context, c *Caller, kioskTok, sessionTok string) error {
	ks, err := s.st.GetKioskSession(ctx, HashToken(kioskTok), HashToken(sessionTok))
	if err := kioskUsable(ks.Kiosk, err); err != nil {
		return err
	}
	c.Kiosk = &ks.Kiosk
	sess := ks.Session
	if sess == nil {
		return errSessionEnded
	}
	if sess.KioskID != c.Kiosk.ID {
		// Someone replayed a session token from another kiosk; say no more
		// than for an unknown session, but leave a trace.
		return s.refuse(ctx, c, api.ActionDenied, sess.UPN, "sessionKioskMismatch", errSessionEnded, nil)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return api.Unauthorized(api.CodeSessionExpired, "The session has expired; sign in again.")
	}
	c.Session, c.sessionUser, c.storedMethods = sess, &ks.User, ks.HasMethods
	return nil
}
