package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// CookieName is the session cookie: __Host- binds it to this host, path
// / and Secure, so no other site or subdomain can set or read it.
const CookieName = "__Host-tapkiosk-console"

// maxBody bounds a WebAuthn answer.
const maxBody = 64 << 10

// csrfOf is a session's CSRF token: derived from the session's secret, so
// it needs no column of its own and dies with the session (a token from
// an earlier session is stale), and one-way, so the page that carries it
// never reveals the cookie.
func csrfOf(sessionToken string) string {
	sum := sha256.Sum256([]byte("tapkiosk console csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (c *Console) setCookie(q *req, ss recovery.StaffSession) {
	http.SetCookie(q.w, &http.Cookie{Name: CookieName, Value: ss.Token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(recovery.StaffSessionMax.Seconds())})
}

func clearCookie(q *req) {
	http.SetCookie(q.w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// signedIn serves a page for a signed-in staff member. Without a session
// the sign-in page is all there is (nothing of anyone); a POST must carry
// the session's CSRF token.
func (c *Console) signedIn(h func(*req)) http.HandlerFunc {
	return c.open(func(q *req) {
		w, r := q.w, q.r
		var tok string
		if ck, err := r.Cookie(CookieName); err == nil {
			tok = ck.Value
		}
		ss, err := c.svc.StaffBySession(r.Context(), tok)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || (ae.Code != api.CodeInvalidSession && ae.Code != api.CodeSessionExpired) {
				c.fail(q, err)
				return
			}
			if tok != "" {
				clearCookie(q)
			}
			msg := ""
			if ae.Code == api.CodeSessionExpired {
				msg = ae.Message
			}
			c.page(q, http.StatusUnauthorized, "signin", "Sign in", map[string]any{"Message": msg})
			return
		}
		q.staff, q.csrf = &ss, csrfOf(tok)
		ss.Caller(q.who)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			// Forms send the token as a field, console.js as a header.
			given := r.Header.Get("X-CSRF-Token")
			if given == "" {
				given = r.PostFormValue("csrf")
			}
			if given == "" || subtle.ConstantTimeCompare([]byte(given), []byte(q.csrf)) != 1 {
				c.fail(q, api.E(api.CodeForbidden, "This form is out of date or did not come from the console (its security token does not match). Go back, reload the page and try again."))
				return
			}
		}
		h(q)
	})
}

func (c *Console) enrolPage(q *req) {
	tok := q.r.URL.Query().Get("t")
	m, err := c.svc.StaffInvitation(q.r.Context(), tok)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.page(q, http.StatusOK, "enrol", "Set up your passkey", map[string]any{"Invitee": m, "Token": tok})
}

// writeJSON answers a ceremony call; errors go as {"error": message}.
func (c *Console) writeJSON(q *req, v any, err error) {
	q.w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var ae *api.Error
		if !errors.As(err, &ae) {
			q.who.Log.Error("console call failed", "err", err)
			ae = api.E(api.CodeInternal, "tapd hit an internal error; the request id is %s.", q.who.RequestID)
		}
		q.w.WriteHeader(ae.Status)
		json.NewEncoder(q.w).Encode(map[string]string{"error": ae.Message})
		return
	}
	json.NewEncoder(q.w).Encode(v)
}

func readBody(q *req) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxBody))
	if err != nil {
		return nil, api.E(api.CodePayloadTooLarge, "The answer is too large.")
	}
	return b, nil
}

// enrolCall is the body of the enrolment calls: the invitation's token,
// the new passkey's name, and (to finish) the credential.
type enrolCall struct {
	Token      string          `json:"token"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func (c *Console) readEnrol(q *req) (enrolCall, error) {
	var in enrolCall
	b, err := readBody(q)
	if err == nil && json.Unmarshal(b, &in) != nil {
		err = api.E(api.CodeBadRequest, "The request is not the JSON this page sends.")
	}
	return in, err
}

func (c *Console) enrolOptions(q *req) {
	in, err := c.readEnrol(q)
	if err != nil {
		c.writeJSON(q, nil, err)
		return
	}
	opts, err := c.svc.BeginStaffEnrolment(q.r.Context(), in.Token)
	c.writeJSON(q, opts, err)
}

func (c *Console) enrolFinish(q *req) {
	in, err := c.readEnrol(q)
	if err != nil {
		c.writeJSON(q, nil, err)
		return
	}
	ss, err := c.svc.FinishStaffEnrolment(q.r.Context(), q.who, in.Token, in.Name, in.Credential)
	if err == nil {
		c.setCookie(q, ss)
	}
	c.writeJSON(q, map[string]string{"next": "/console/"}, err)
}

// myPasskeys is the signed-in staff member's passkeys, with a way to add
// another.
func (c *Console) myPasskeys(q *req) {
	keys, err := c.svc.MyPasskeys(q.r.Context(), *q.staff)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.page(q, http.StatusOK, "passkeys", "My passkeys", map[string]any{"Keys": keys})
}

func (c *Console) addPasskeyOptions(q *req) {
	opts, err := c.svc.BeginAddStaffPasskey(q.r.Context(), *q.staff)
	c.writeJSON(q, opts, err)
}

func (c *Console) addPasskeyFinish(q *req) {
	in, err := c.readEnrol(q)
	if err == nil {
		err = c.svc.AddStaffPasskey(q.r.Context(), q.who, *q.staff, in.Name, in.Credential)
	}
	c.writeJSON(q, map[string]string{"next": "/console/passkeys"}, err)
}

func (c *Console) signInOptions(q *req) {
	opts, err := c.svc.BeginStaffSignIn(q.r.Context())
	c.writeJSON(q, opts, err)
}

func (c *Console) signInFinish(q *req) {
	b, err := readBody(q)
	if err != nil {
		c.writeJSON(q, nil, err)
		return
	}
	ss, err := c.svc.FinishStaffSignIn(q.r.Context(), q.who, b)
	if err == nil {
		c.setCookie(q, ss)
	}
	c.writeJSON(q, map[string]string{"next": "/console/"}, err)
}

func (c *Console) signOut(q *req) {
	if err := c.svc.EndStaffSession(q.r.Context(), q.who, *q.staff); err != nil {
		c.fail(q, err)
		return
	}
	clearCookie(q)
	q.staff, q.csrf = nil, ""
	c.page(q, http.StatusOK, "signin", "Sign in", map[string]any{"Message": "You are signed out."})
}
