package server

import (
	"net/http"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

type authKind int

const (
	authNone authKind = iota
	authAdmin
	authKiosk
	authSession // kiosk token and session token
)

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate reads the tokens the route needs and has the service say
// whose they are. A token of the wrong kind is told apart from an unknown
// one, since that is the usual mistake.
func (s *Server) authenticate(c *call, kind authKind) error {
	if kind == authNone {
		return nil
	}
	tok := bearer(c.r)
	if tok == "" {
		return api.Unauthorized(api.CodeUnauthenticated, "Send a token as \"Authorization: Bearer <token>\".")
	}
	ctx := c.r.Context()
	var err error
	switch kind {
	case authAdmin:
		if strings.HasPrefix(tok, api.KioskTokenPrefix) {
			return api.E(api.CodeWrongTokenKind, "This is a kiosk token; admin routes need an admin token (see `tapctl token add`).")
		}
		if !strings.HasPrefix(tok, api.AdminTokenPrefix) {
			return api.Unauthorized(api.CodeInvalidToken, "The token is not a tapd admin token.")
		}
		c.who.Admin, err = s.svc.AdminByToken(ctx, tok)
		return err
	}
	if strings.HasPrefix(tok, api.AdminTokenPrefix) {
		return api.E(api.CodeWrongTokenKind, "This is an admin token; kiosk routes need a kiosk token (see `tapctl kiosk add`).")
	}
	if !strings.HasPrefix(tok, api.KioskTokenPrefix) {
		return api.Unauthorized(api.CodeInvalidToken, "The token is not a tapd kiosk token.")
	}
	if kind != authSession {
		c.who.Kiosk, err = s.svc.KioskByToken(ctx, tok)
		return err
	}
	st := c.r.Header.Get(api.SessionHeader)
	if !strings.HasPrefix(st, api.SessionTokenPrefix) {
		// The kiosk's token is checked all the same, so that a bad one
		// says so rather than asking for a session.
		if c.who.Kiosk, err = s.svc.KioskByToken(ctx, tok); err != nil {
			return err
		}
		return api.Unauthorized(api.CodeInvalidSession, "No session: sign in with a Temporary Access Pass first.")
	}
	// Kiosk and session in one read of the store.
	return s.svc.KioskSession(ctx, c.who, tok, st)
}
