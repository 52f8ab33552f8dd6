package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls tapd. Token is an admin or kiosk token; SessionToken is set
// by OpenSession for the session calls that follow.
type Client struct {
	BaseURL      string
	Token        string
	SessionToken string
	HTTP         *http.Client
}

// NewClient returns a client with a sensible timeout.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// ErrUnreachable wraps network failures, so a caller can say "tapd cannot be
// reached" rather than print a dial error.
var ErrUnreachable = errors.New("tapd cannot be reached")

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.SessionToken != "" {
		req.Header.Set(SessionHeader, c.SessionToken)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the answer: %v", ErrUnreachable, err)
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
			eb.Error.Status = resp.StatusCode
			if eb.Error.RetryAfterSeconds == 0 {
				eb.Error.RetryAfterSeconds, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
			}
			return eb.Error
		}
		return &Error{Status: resp.StatusCode, Code: CodeUnavailable,
			Message: fmt.Sprintf("tapd answered %s without an error body", resp.Status)}
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("tapd sent a malformed answer: %w", err)
		}
	}
	return nil
}

func (c *Client) json(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, body, ct, out)
}

func esc(s string) string { return url.PathEscape(s) }

// GetPolicy reads the TAP policy.
func (c *Client) GetPolicy(ctx context.Context) (Policy, error) {
	var p Policy
	return p, c.json(ctx, http.MethodGet, "/v1/policies/temporaryAccessPass", nil, &p)
}

// UpdatePolicy applies a partial update and returns the new policy.
func (c *Client) UpdatePolicy(ctx context.Context, patch PolicyPatch) (Policy, error) {
	var p Policy
	return p, c.json(ctx, http.MethodPatch, "/v1/policies/temporaryAccessPass", patch, &p)
}

// CreateUser adds a user.
func (c *Client) CreateUser(ctx context.Context, u User) (User, error) {
	var out User
	return out, c.json(ctx, http.MethodPost, "/v1/users", u, &out)
}

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, upn string) (User, error) {
	var out User
	return out, c.json(ctx, http.MethodGet, "/v1/users/"+esc(upn), nil, &out)
}

// ListUsers lists every user.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out List[User]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/users", nil, &out)
}

// DeleteUser removes a user with their pass and sessions.
func (c *Client) DeleteUser(ctx context.Context, upn string) error {
	return c.json(ctx, http.MethodDelete, "/v1/users/"+esc(upn), nil, nil)
}

// Unlock clears the account's pass sign-in locks and says what they
// were and who caused them; with revokeKiosks, the kiosks that caused
// them are revoked in the same step.
func (c *Client) Unlock(ctx context.Context, upn string, revokeKiosks bool) (Lockout, error) {
	var out Lockout
	path := "/v1/users/" + esc(upn) + "/lockout"
	if revokeKiosks {
		path += "?revokeKiosks=true"
	}
	return out, c.json(ctx, http.MethodDelete, path, nil, &out)
}

// ImportUsers posts a CSV file. With partial, good rows are imported even
// when others fail; otherwise any bad row stops the whole import.
func (c *Client) ImportUsers(ctx context.Context, csv io.Reader, partial bool) (ImportResult, error) {
	var out ImportResult
	path := "/v1/users/import"
	if partial {
		path += "?mode=partial"
	}
	return out, c.do(ctx, http.MethodPost, path, csv, "text/csv", &out)
}

// CreatePass issues a pass; the value is in the result, once.
func (c *Client) CreatePass(ctx context.Context, upn string, r CreatePassRequest) (TemporaryAccessPassMethod, error) {
	var out TemporaryAccessPassMethod
	return out, c.json(ctx, http.MethodPost, "/v1/users/"+esc(upn)+"/temporaryAccessPassMethods", r, &out)
}

// ListPasses lists the user's pass (zero or one).
func (c *Client) ListPasses(ctx context.Context, upn string) ([]TemporaryAccessPassMethod, error) {
	var out List[TemporaryAccessPassMethod]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/users/"+esc(upn)+"/temporaryAccessPassMethods", nil, &out)
}

// DeletePass deletes the user's pass by id.
func (c *Client) DeletePass(ctx context.Context, upn, id string) error {
	return c.json(ctx, http.MethodDelete, "/v1/users/"+esc(upn)+"/temporaryAccessPassMethods/"+esc(id), nil, nil)
}

// CreateKiosk registers a kiosk; the token is in the result, once.
func (c *Client) CreateKiosk(ctx context.Context, name string) (Kiosk, error) {
	var out Kiosk
	return out, c.json(ctx, http.MethodPost, "/v1/kiosks", CreateKioskRequest{Name: name}, &out)
}

// InviteStaff makes a helpdesk console staff member; the answer's link
// enrols their first passkey and is shown once.
func (c *Client) InviteStaff(ctx context.Context, name, role string) (StaffInvitation, error) {
	var out StaffInvitation
	return out, c.json(ctx, http.MethodPost, "/v1/staff", CreateStaffRequest{Name: name, Role: role}, &out)
}

// ListKiosks lists kiosks, revoked ones included.
func (c *Client) ListKiosks(ctx context.Context) ([]Kiosk, error) {
	var out List[Kiosk]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/kiosks", nil, &out)
}

// RevokeKiosk revokes a kiosk's token and ends its sessions.
func (c *Client) RevokeKiosk(ctx context.Context, name string) error {
	return c.json(ctx, http.MethodDelete, "/v1/kiosks/"+esc(name), nil, nil)
}

// CreateAdminToken makes an admin token; the token is in the result, once.
func (c *Client) CreateAdminToken(ctx context.Context, r CreateAdminTokenRequest) (AdminToken, error) {
	var out AdminToken
	return out, c.json(ctx, http.MethodPost, "/v1/adminTokens", r, &out)
}

// ListAdminTokens lists admin tokens, without their values.
func (c *Client) ListAdminTokens(ctx context.Context) ([]AdminToken, error) {
	var out List[AdminToken]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/adminTokens", nil, &out)
}

// RevokeAdminToken revokes an admin token by name.
func (c *Client) RevokeAdminToken(ctx context.Context, name string) error {
	return c.json(ctx, http.MethodDelete, "/v1/adminTokens/"+esc(name), nil, nil)
}

// Audit reads the audit log, newest first.
func (c *Client) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("user", q.User)
	set("action", q.Action)
	set("actor", q.Actor)
	set("result", q.Result)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Top > 0 {
		v.Set("top", strconv.Itoa(q.Top))
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	path := "/v1/auditLogs"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out List[AuditEntry]
	return out.Value, c.json(ctx, http.MethodGet, path, nil, &out)
}

// OpenSession signs a person in with a pass and keeps the session token
// for the calls that follow.
func (c *Client) OpenSession(ctx context.Context, upn, pass string) (Session, error) {
	var out Session
	err := c.json(ctx, http.MethodPost, "/v1/sessions", SessionRequest{UserPrincipalName: upn, TemporaryAccessPass: pass}, &out)
	if err == nil {
		c.SessionToken = out.SessionToken
	}
	return out, err
}

// GetSession reads the current session.
func (c *Client) GetSession(ctx context.Context) (Session, error) {
	var out Session
	return out, c.json(ctx, http.MethodGet, "/v1/session", nil, &out)
}

// SignOut ends the current session.
func (c *Client) SignOut(ctx context.Context) error {
	err := c.json(ctx, http.MethodDelete, "/v1/session", nil, nil)
	if err == nil {
		c.SessionToken = ""
	}
	return err
}

// DeleteSessionPass deletes the signed-in person's pass, which ends the
// session.
func (c *Client) DeleteSessionPass(ctx context.Context) error {
	err := c.json(ctx, http.MethodDelete, "/v1/session/temporaryAccessPass", nil, nil)
	if err == nil {
		c.SessionToken = ""
	}
	return err
}

// Ready asks /readyz whether tapd can serve.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, "", nil)
}
