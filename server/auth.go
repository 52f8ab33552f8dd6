package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

type authKind int

const (
	authNone authKind = iota
	authAdmin
	authKiosk
	authSession // kiosk token and session token
)

type permission string

const (
	permRead        permission = "read"
	permPolicyRead  permission = "policy.read"
	permPolicyWrite permission = "policy.write"
	permUsersWrite  permission = "users.write"
	permPassesWrite permission = "passes.write"
	permKiosks      permission = "kiosks.manage"
	permTokens      permission = "tokens.manage"
)

// rolePerms is the admin model: readers see metadata; policy admins change
// the policy; authentication admins manage users and passes (not of other
// admins, see canManageUser); privileged ones also of admins; the global
// administrator also manages kiosks and admin tokens.
var rolePerms = map[string][]permission{
	api.RoleGlobalAdministrator:                   {permRead, permPolicyRead, permPolicyWrite, permUsersWrite, permPassesWrite, permKiosks, permTokens},
	api.RolePrivilegedAuthenticationAdministrator: {permRead, permPolicyRead, permUsersWrite, permPassesWrite},
	api.RoleAuthenticationAdministrator:           {permRead, permPolicyRead, permUsersWrite, permPassesWrite},
	api.RolePolicyAdministrator:                   {permRead, permPolicyRead, permPolicyWrite},
	api.RoleReader:                                {permRead, permPolicyRead},
}

var permWords = map[permission]string{
	permPolicyWrite: "change the Temporary Access Pass policy",
	permUsersWrite:  "add or remove users",
	permPassesWrite: "create or delete passes",
	permKiosks:      "manage kiosks",
	permTokens:      "manage admin tokens",
	permRead:        "read",
	permPolicyRead:  "read the policy",
}

// hashToken is how tokens are stored: they are 256-bit random values, so a
// fast hash is enough and a stolen database yields no usable token.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// newToken returns a fresh token with the kind's prefix.
func newToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func unauth(code, msg string) error {
	return &api.Error{Status: http.StatusUnauthorized, Code: code, Message: msg}
}

func (s *Server) authenticate(c *call, kind authKind) error {
	if kind == authNone {
		return nil
	}
	tok := bearer(c.r)
	if tok == "" {
		return unauth(api.CodeUnauthenticated, "Send a token as \"Authorization: Bearer <token>\".")
	}
	ctx := c.r.Context()
	now := s.now()
	switch kind {
	case authAdmin:
		if strings.HasPrefix(tok, api.KioskTokenPrefix) {
			return api.Errf(http.StatusForbidden, api.CodeWrongTokenKind, "This is a kiosk token; admin routes need an admin token (see `tapctl token add`).")
		}
		if !strings.HasPrefix(tok, api.AdminTokenPrefix) {
			return unauth(api.CodeInvalidToken, "The token is not a tapd admin token.")
		}
		t, err := s.store.GetAdminTokenByHash(ctx, hashToken(tok))
		if errors.Is(err, store.ErrNotFound) {
			return unauth(api.CodeInvalidToken, "The admin token is not known to this tapd.")
		}
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return unauth(api.CodeTokenRevoked, "The admin token \""+t.Name+"\" has been revoked; ask a global administrator for a new one.")
		}
		if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
			return unauth(api.CodeTokenExpired, "The admin token \""+t.Name+"\" expired at "+t.ExpiresAt.Format("2006-01-02 15:04 MST")+"; ask for a new one.")
		}
		c.admin = &t
		return nil
	case authKiosk, authSession:
		if strings.HasPrefix(tok, api.AdminTokenPrefix) {
			return api.Errf(http.StatusForbidden, api.CodeWrongTokenKind, "This is an admin token; kiosk routes need a kiosk token (see `tapctl kiosk add`).")
		}
		if !strings.HasPrefix(tok, api.KioskTokenPrefix) {
			return unauth(api.CodeInvalidToken, "The token is not a tapd kiosk token.")
		}
		k, err := s.store.GetKioskByTokenHash(ctx, hashToken(tok))
		if errors.Is(err, store.ErrNotFound) {
			return unauth(api.CodeInvalidToken, "The kiosk token is not known to this tapd.")
		}
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return unauth(api.CodeTokenRevoked, "This kiosk has been revoked; ask IT to register it again.")
		}
		c.kiosk = &k
		if kind == authSession {
			return s.authenticateSession(c)
		}
		return nil
	}
	return nil
}

func (s *Server) authenticateSession(c *call) error {
	st := c.r.Header.Get(api.SessionHeader)
	if !strings.HasPrefix(st, api.SessionTokenPrefix) {
		return unauth(api.CodeInvalidSession, "No session: sign in with a Temporary Access Pass first.")
	}
	sess, err := s.store.GetSession(c.r.Context(), hashToken(st))
	if errors.Is(err, store.ErrNotFound) {
		return unauth(api.CodeInvalidSession, "The session has ended; sign in again.")
	}
	if err != nil {
		return err
	}
	if sess.KioskID != c.kiosk.ID {
		// Someone replayed a session token from another kiosk; say no more
		// than for an unknown session, but leave a trace.
		s.audit(c, api.ActionDenied, sess.UPN, "failure", "sessionKioskMismatch", nil)
		return unauth(api.CodeInvalidSession, "The session has ended; sign in again.")
	}
	if !s.now().Before(sess.ExpiresAt) {
		return unauth(api.CodeSessionExpired, "The session has expired; sign in again.")
	}
	c.session = &sess
	return nil
}

func (s *Server) authorize(c *call, p permission) error {
	if c.admin == nil {
		return nil
	}
	if slices.Contains(rolePerms[c.admin.Role], p) {
		return nil
	}
	s.audit(c, api.ActionDenied, "", "failure", "missingPermission", map[string]string{"permission": string(p), "path": c.r.URL.Path})
	return api.Errf(http.StatusForbidden, api.CodeForbidden, "The role %s may not %s.", c.admin.Role, permWords[p])
}

// canManageUser enforces the admin model on passes and users: an
// authentication administrator may not act on users who hold an admin role.
func (s *Server) canManageUser(c *call, u store.User) error {
	if c.admin == nil || (u.AdminRole == "" && !s.entra()) {
		return nil
	}
	switch c.admin.Role {
	case api.RoleGlobalAdministrator, api.RolePrivilegedAuthenticationAdministrator:
		return nil
	}
	if s.entra() {
		// The least-privileged Graph permissions do not show directory
		// roles, so tapd cannot tell an admin from anyone else: treat
		// everyone as possibly privileged.
		s.audit(c, api.ActionDenied, u.UPN, "failure", "rolesUnknownInEntra", map[string]string{"path": c.r.URL.Path})
		return api.Errf(http.StatusForbidden, api.CodeForbidden,
			"With the Entra directory tapd cannot see who holds admin roles, so only a privileged authentication administrator may manage passes and methods.")
	}
	s.audit(c, api.ActionDenied, u.UPN, "failure", "targetIsAdmin", map[string]string{"path": c.r.URL.Path})
	return api.Errf(http.StatusForbidden, api.CodeForbidden, "%s holds the %s role; only a privileged authentication administrator may manage their passes.", u.UPN, u.AdminRole)
}
