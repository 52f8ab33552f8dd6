package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

func (s *Server) loadPolicy(c *call) (tap.Policy, error) {
	if s.entra() {
		return s.entraPolicy(c)
	}
	p, err := s.store.GetTAPPolicy(c.r.Context())
	if errors.Is(err, store.ErrNotFound) {
		return tap.DefaultPolicy(), nil
	}
	if err != nil {
		return tap.Policy{}, err
	}
	return tapPolicyFromStore(p), nil
}

func (s *Server) getPolicy(c *call) error {
	p, err := s.loadPolicy(c)
	if err != nil {
		return err
	}
	out := api.Policy{Policy: p}
	if s.entra() {
		out.ManagedBy = managedByEntra
	}
	return c.writeJSON(http.StatusOK, out)
}

func (s *Server) patchPolicy(c *call) error {
	var patch tap.PolicyPatch
	if err := s.decode(c, &patch); err != nil {
		return err
	}
	old, err := s.loadPolicy(c)
	if err != nil {
		return err
	}
	p, err := old.Apply(patch)
	if err != nil {
		s.audit(c, api.ActionUpdatePolicy, "", "failure", "invalidValue", nil)
		return fieldError(err)
	}
	if err := s.store.PutTAPPolicy(c.r.Context(), tapPolicyToStore(p)); err != nil {
		return err
	}
	raw, _ := json.Marshal(p)
	s.audit(c, api.ActionUpdatePolicy, "", "success", "", map[string]string{"policy": string(raw)})
	return c.writeJSON(http.StatusOK, p)
}

// ---- users ----

func userOut(u store.User) api.User {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return api.User{UserPrincipalName: u.UPN, DisplayName: u.DisplayName, UserType: u.UserType, GuestKind: u.GuestKind,
		Groups: groups, AdminRole: u.AdminRole, CreatedDateTime: u.CreatedAt}
}

// validUser checks a user from the API or a CSV row; the error is a
// sentence naming the field.
func validUser(in api.User) (store.User, *api.Error) {
	bad := func(field, msg string) (store.User, *api.Error) {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "%s %s.", field, msg)
		e.Target = field
		return store.User{}, e
	}
	upn, err := tap.NormalizeUPN(in.UserPrincipalName)
	if err != nil {
		return bad("userPrincipalName", err.Error())
	}
	name := strings.TrimSpace(in.DisplayName)
	if err := tap.ValidDisplayName(name); err != nil {
		return bad("displayName", err.Error())
	}
	switch in.UserType {
	case "", "Member":
		in.UserType = "Member"
		if in.GuestKind != "" {
			return bad("guestKind", "is only for guests")
		}
	case "Guest":
		if in.GuestKind != "internal" && in.GuestKind != "external" {
			return bad("guestKind", `must be "internal" or "external" for a guest`)
		}
	default:
		return bad("userType", fmt.Sprintf(`must be "Member" or "Guest", not %q`, in.UserType))
	}
	if len(in.Groups) > 100 {
		return bad("groups", "has more than 100 entries")
	}
	var groups []string
	for _, g := range in.Groups {
		g = strings.TrimSpace(g)
		if err := tap.ValidGroupName(g); err != nil {
			return bad("groups", err.Error())
		}
		groups = append(groups, g)
	}
	if in.AdminRole != "" && !isRole(in.AdminRole) {
		return bad("adminRole", "must be one of "+strings.Join(api.Roles, ", "))
	}
	return store.User{UPN: upn, DisplayName: name, UserType: in.UserType, GuestKind: in.GuestKind, Groups: groups, AdminRole: in.AdminRole}, nil
}

func isRole(r string) bool {
	_, ok := rolePerms[r]
	return ok
}

func (s *Server) createUser(c *call) error {
	var in api.User
	if err := s.decode(c, &in); err != nil {
		return err
	}
	if !in.CreatedDateTime.IsZero() {
		return api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "createdDateTime is set by tapd; leave it out.")
	}
	u, apiErr := validUser(in)
	if apiErr != nil {
		return apiErr
	}
	if err := s.canManageUser(c, u); err != nil {
		return err
	}
	u.CreatedAt = s.now().UTC()
	err := s.store.CreateUser(c.r.Context(), u)
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.Errf(http.StatusConflict, api.CodeAlreadyExists, "A user %s already exists.", u.UPN)
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionCreateUser, tap.UPNKey(u.UPN), "success", "", map[string]string{"userType": u.UserType, "guestKind": u.GuestKind})
	return c.writeJSON(http.StatusCreated, userOut(u))
}

// pathUser loads the user named in the path, with a 404 that says what to do.
func (s *Server) pathUser(c *call) (store.User, error) {
	raw := c.r.PathValue("upn")
	upn, err := tap.NormalizeUPN(raw)
	if err != nil {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "userPrincipalName %s.", err.Error())
		e.Target = "userPrincipalName"
		return store.User{}, e
	}
	if s.entra() {
		return s.entraUser(c, upn)
	}
	u, err := s.store.GetUser(c.r.Context(), upn)
	if errors.Is(err, store.ErrNotFound) {
		return u, api.Errf(http.StatusNotFound, api.CodeUserNotFound, "No user %s; add them with `tapctl user add`.", upn)
	}
	return u, err
}

func (s *Server) getUser(c *call) error {
	u, err := s.pathUser(c)
	if err == nil && s.entra() {
		u.Groups, err = s.entraGroups(c, u.UPN)
	}
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, userOut(u))
}

func (s *Server) listUsers(c *call) error {
	us, err := s.store.ListUsers(c.r.Context())
	if err != nil {
		return err
	}
	out := api.List[api.User]{Value: []api.User{}}
	for _, u := range us {
		out.Value = append(out.Value, userOut(u))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (s *Server) deleteUser(c *call) error {
	u, err := s.pathUser(c)
	if err != nil {
		return err
	}
	if err := s.canManageUser(c, u); err != nil {
		return err
	}
	if err := s.store.DeleteUser(c.r.Context(), u.UPN); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.audit(c, api.ActionDeleteUser, tap.UPNKey(u.UPN), "success", "", nil)
	return c.noContent()
}

var csvColumns = []string{"userPrincipalName", "displayName", "userType", "guestKind", "groups", "adminRole"}

// importUsers reads a CSV with a header row. Every row is checked first.
// By default one bad row stops the import and nothing is written; with
// ?mode=partial the good rows are written, together, in one transaction.
func (s *Server) importUsers(c *call) error {
	if mt := c.r.Header.Get("Content-Type"); mt != "" && !strings.HasPrefix(mt, "text/csv") {
		return api.Errf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType, "Send the file as text/csv, not %q.", mt)
	}
	mode := c.r.URL.Query().Get("mode")
	if mode != "" && mode != "partial" && mode != "all" {
		return api.Errf(http.StatusBadRequest, api.CodeInvalidValue, `mode must be "all" (the default) or "partial".`)
	}
	body := http.MaxBytesReader(c.w, c.r.Body, s.cfg.MaxCSVBytes)
	rd := csv.NewReader(body)
	rd.FieldsPerRecord = -1
	header, err := rd.Read()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return api.Errf(http.StatusRequestEntityTooLarge, api.CodePayloadTooLarge, "The CSV file is larger than the %d-byte limit.", s.cfg.MaxCSVBytes)
	}
	if err != nil {
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The CSV file has no header row; the first line must name the columns: %s.", strings.Join(csvColumns, ","))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		known := false
		for _, k := range csvColumns {
			if strings.EqualFold(h, k) {
				col[k], known = i, true
			}
		}
		if !known {
			return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "Unknown CSV column %q; the columns are %s.", h, strings.Join(csvColumns, ","))
		}
	}
	if _, ok := col["userPrincipalName"]; !ok {
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The CSV header has no userPrincipalName column.")
	}
	if _, ok := col["displayName"]; !ok {
		return api.Errf(http.StatusBadRequest, api.CodeBadRequest, "The CSV header has no displayName column.")
	}
	ctx := c.r.Context()
	var good []store.User
	failed := []api.RowError{}
	seen := map[string]int{}
	now := s.now().UTC()
	for row := 2; ; row++ {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &mbe) {
			return api.Errf(http.StatusRequestEntityTooLarge, api.CodePayloadTooLarge, "The CSV file is larger than the %d-byte limit.", s.cfg.MaxCSVBytes)
		}
		if err != nil {
			failed = append(failed, api.RowError{Row: row, Message: "not valid CSV: " + csvErr(err)})
			if _, ok := err.(*csv.ParseError); !ok {
				break
			}
			continue
		}
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		in := api.User{UserPrincipalName: get("userPrincipalName"), DisplayName: get("displayName"), UserType: get("userType"),
			GuestKind: get("guestKind"), AdminRole: get("adminRole")}
		if g := get("groups"); g != "" {
			in.Groups = strings.Split(g, ";")
		}
		u, apiErr := validUser(in)
		if apiErr != nil {
			failed = append(failed, api.RowError{Row: row, UserPrincipalName: in.UserPrincipalName, Message: apiErr.Message})
			continue
		}
		key := tap.UPNKey(u.UPN)
		if first, dup := seen[key]; dup {
			failed = append(failed, api.RowError{Row: row, UserPrincipalName: u.UPN, Message: fmt.Sprintf("repeats row %d", first)})
			continue
		}
		seen[key] = row
		if u.AdminRole != "" && c.admin.Role != api.RoleGlobalAdministrator && c.admin.Role != api.RolePrivilegedAuthenticationAdministrator {
			failed = append(failed, api.RowError{Row: row, UserPrincipalName: u.UPN, Message: "only a privileged authentication administrator may add users with an admin role"})
			continue
		}
		if _, err := s.store.GetUser(ctx, u.UPN); err == nil {
			failed = append(failed, api.RowError{Row: row, UserPrincipalName: u.UPN, Message: "a user with this userPrincipalName already exists"})
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u.CreatedAt = now
		good = append(good, u)
	}
	details := map[string]string{"rowsOk": strconv.Itoa(len(good)), "rowsFailed": strconv.Itoa(len(failed)), "mode": mode}
	if len(failed) > 0 && mode != "partial" {
		s.audit(c, api.ActionImportUsers, "", "failure", "badRows", details)
		e := api.Errf(http.StatusBadRequest, api.CodeImportFailed, "%d row(s) failed, so nothing was imported. Fix them, or import the good rows with mode=partial.", len(failed))
		e.Rows = failed
		return e
	}
	if len(good) > 0 {
		if err := s.store.CreateUsers(ctx, good); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return api.Errf(http.StatusConflict, api.CodeAlreadyExists, "A user in the file was added by someone else meanwhile; nothing was imported. Try again.")
			}
			return err
		}
	}
	s.audit(c, api.ActionImportUsers, "", "success", "", details)
	return c.writeJSON(http.StatusOK, api.ImportResult{Created: len(good), Failed: failed})
}

func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ---- passes ----

func passOut(p store.Pass, pol tap.Policy, u store.User, now time.Time) api.TemporaryAccessPassMethod {
	st := tap.PassState{Start: p.StartAt, LifetimeMinutes: p.LifetimeMinutes, IsUsableOnce: p.IsUsableOnce, Used: p.UsedAt != nil}
	ok, reason := tap.Usability(pol, tap.Member{UPN: u.UPN, Groups: u.Groups}, st, now)
	return api.TemporaryAccessPassMethod{ID: p.ID, CreatedDateTime: p.CreatedAt, StartDateTime: p.StartAt,
		LifetimeInMinutes: p.LifetimeMinutes, IsUsableOnce: p.IsUsableOnce, IsUsable: ok, MethodUsabilityReason: reason}
}

func (s *Server) createPass(c *call) error {
	var req api.CreatePassRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	u, err := s.pathUser(c)
	if err != nil {
		return err
	}
	if err := s.canManageUser(c, u); err != nil {
		return err
	}
	target := tap.UPNKey(u.UPN)
	if u.UserType == "Guest" && u.GuestKind == "external" {
		s.audit(c, api.ActionCreatePass, target, "failure", "externalGuest", nil)
		return api.Errf(http.StatusBadRequest, api.CodeExternalGuest, "%s", api.ExternalGuestMessage)
	}
	pol, err := s.loadPolicy(c)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	st, err := tap.ResolvePass(pol, tap.PassRequest{Start: req.StartDateTime, LifetimeMinutes: req.LifetimeInMinutes, IsUsableOnce: req.IsUsableOnce}, now)
	if err != nil {
		s.audit(c, api.ActionCreatePass, target, "failure", "invalidValue", nil)
		return fieldError(err)
	}
	details := map[string]string{}
	out, err := s.makePass(c, u, pol, st, req.StartDateTime != nil, now, details)
	if err != nil {
		return err
	}
	details["passId"], details["startDateTime"] = out.ID, out.StartDateTime.Format(time.RFC3339)
	details["lifetimeInMinutes"], details["isUsableOnce"] = strconv.Itoa(out.LifetimeInMinutes), strconv.FormatBool(out.IsUsableOnce)
	s.audit(c, api.ActionCreatePass, target, "success", "", details)
	return c.writeJSON(http.StatusCreated, out)
}

// makePass makes the pass where the directory keeps passes and returns it
// as the directory reports it, with its value, which is shown once. It adds
// the replaced pass's id and Graph's request id to the audit details.
func (s *Server) makePass(c *call, u store.User, pol tap.Policy, st tap.PassState, startGiven bool, now time.Time, details map[string]string) (api.TemporaryAccessPassMethod, error) {
	if s.entra() {
		return s.createEntraPass(c, u, st, startGiven, details)
	}
	value, err := tap.GeneratePass(pol.DefaultLength)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	hash, err := tap.HashPass(value, s.cfg.Argon2)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	_, name := c.actor()
	p := store.Pass{ID: uuid.NewString(), UPN: u.UPN, Hash: hash, CreatedAt: now.Truncate(time.Millisecond), StartAt: st.Start,
		LifetimeMinutes: st.LifetimeMinutes, IsUsableOnce: st.IsUsableOnce, CreatedBy: name}
	replaced, err := s.store.ReplacePass(c.r.Context(), p)
	if replaced != "" {
		details["replacedPassId"] = replaced
	}
	out := passOut(p, pol, u, now)
	out.TemporaryAccessPass = &value
	return out, err
}

func (s *Server) listPasses(c *call) error {
	u, err := s.pathUser(c)
	if err != nil {
		return err
	}
	if s.entra() {
		return s.listEntraPasses(c, u)
	}
	out := api.List[api.TemporaryAccessPassMethod]{Value: []api.TemporaryAccessPassMethod{}}
	p, err := s.store.GetPass(c.r.Context(), u.UPN)
	if errors.Is(err, store.ErrNotFound) {
		return c.writeJSON(http.StatusOK, out)
	}
	if err != nil {
		return err
	}
	pol, err := s.loadPolicy(c)
	if err != nil {
		return err
	}
	out.Value = append(out.Value, passOut(p, pol, u, s.now()))
	return c.writeJSON(http.StatusOK, out)
}

func (s *Server) deletePass(c *call) error {
	u, err := s.pathUser(c)
	if err != nil {
		return err
	}
	if err := s.canManageUser(c, u); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	if s.entra() {
		if err := s.deleteEntraPass(c, u.UPN, id, map[string]string{"passId": id}); err != nil {
			return err
		}
		return c.noContent()
	}
	err = s.store.DeletePass(c.r.Context(), u.UPN, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "%s has no pass with id %q.", u.UPN, id)
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionDeletePass, tap.UPNKey(u.UPN), "success", "", map[string]string{"passId": id})
	return c.noContent()
}

// ---- kiosks and admin tokens ----

// validName accepts names for kiosks and tokens: short, printable, no
// slashes (they appear in URLs).
func validName(field, n string) (string, error) {
	n = strings.TrimSpace(n)
	if err := tap.ValidDisplayName(n); err != nil || len(n) > 64 || strings.ContainsAny(n, "/\\?#%") {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "%s must be 1-64 printable characters without / \\ ? # or %%.", field)
		e.Target = field
		return "", e
	}
	return n, nil
}

func kioskOut(k store.Kiosk) api.Kiosk {
	return api.Kiosk{ID: k.ID, Name: k.Name, CreatedDateTime: k.CreatedAt, RevokedDateTime: k.RevokedAt}
}

func (s *Server) createKiosk(c *call) error {
	var req api.CreateKioskRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	name, err := validName("name", req.Name)
	if err != nil {
		return err
	}
	tok := newToken(api.KioskTokenPrefix)
	k := store.Kiosk{ID: uuid.NewString(), Name: name, TokenHash: hashToken(tok), CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err = s.store.CreateKiosk(c.r.Context(), k)
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.Errf(http.StatusConflict, api.CodeAlreadyExists, "A kiosk named %q already exists; revoked names are kept for the audit trail, so pick another.", name)
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionCreateKiosk, name, "success", "", map[string]string{"kioskId": k.ID})
	out := kioskOut(k)
	out.Token = tok
	return c.writeJSON(http.StatusCreated, out)
}

func (s *Server) listKiosks(c *call) error {
	ks, err := s.store.ListKiosks(c.r.Context())
	if err != nil {
		return err
	}
	out := api.List[api.Kiosk]{Value: []api.Kiosk{}}
	for _, k := range ks {
		out.Value = append(out.Value, kioskOut(k))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (s *Server) revokeKiosk(c *call) error {
	name := c.r.PathValue("name")
	err := s.store.RevokeKiosk(c.r.Context(), name, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "No active kiosk named %q.", name)
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionRevokeKiosk, name, "success", "", nil)
	return c.noContent()
}

func tokenOut(t store.AdminToken) api.AdminToken {
	return api.AdminToken{ID: t.ID, Name: t.Name, Role: t.Role, CreatedDateTime: t.CreatedAt, ExpiresDateTime: t.ExpiresAt, RevokedDateTime: t.RevokedAt}
}

// CreateAdminToken stores a fresh admin token and returns its value, which
// is shown once and never stored. tapd init uses it for the first token.
func CreateAdminToken(ctx context.Context, st store.Store, name, role string, now time.Time, expires *time.Time) (string, store.AdminToken, error) {
	tok := newToken(api.AdminTokenPrefix)
	t := store.AdminToken{ID: uuid.NewString(), Name: name, Role: role, TokenHash: hashToken(tok), CreatedAt: now, ExpiresAt: expires}
	if err := st.CreateAdminToken(ctx, t); err != nil {
		return "", t, err
	}
	return tok, t, nil
}

func (s *Server) createToken(c *call) error {
	var req api.CreateAdminTokenRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	name, err := validName("name", req.Name)
	if err != nil {
		return err
	}
	if !isRole(req.Role) {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "role must be one of %s.", strings.Join(api.Roles, ", "))
		e.Target = "role"
		return e
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if req.ExpiresDateTime != nil && !req.ExpiresDateTime.After(now) {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "expiresDateTime must be in the future.")
		e.Target = "expiresDateTime"
		return e
	}
	tok, t, err := CreateAdminToken(c.r.Context(), s.store, name, req.Role, now, req.ExpiresDateTime)
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.Errf(http.StatusConflict, api.CodeAlreadyExists, "An admin token named %q already exists.", name)
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionCreateToken, name, "success", "", map[string]string{"role": req.Role})
	out := tokenOut(t)
	out.Token = tok
	return c.writeJSON(http.StatusCreated, out)
}

func (s *Server) listTokens(c *call) error {
	ts, err := s.store.ListAdminTokens(c.r.Context())
	if err != nil {
		return err
	}
	out := api.List[api.AdminToken]{Value: []api.AdminToken{}}
	for _, t := range ts {
		out.Value = append(out.Value, tokenOut(t))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (s *Server) revokeToken(c *call) error {
	name := c.r.PathValue("name")
	err := s.store.RevokeAdminToken(c.r.Context(), name, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "No active admin token named %q.", name)
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionRevokeToken, name, "success", "", nil)
	return c.noContent()
}

// ---- audit ----

func (s *Server) listAudit(c *call) error {
	q := c.r.URL.Query()
	f := store.AuditFilter{Target: q.Get("user"), Action: q.Get("action"), Actor: q.Get("actor"), Result: q.Get("result")}
	parseTime := func(k string) (time.Time, error) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "%s must be an RFC 3339 date like 2026-11-23T09:00:00Z.", k)
			e.Target = k
			return t, e
		}
		return t, nil
	}
	var err error
	if f.Since, err = parseTime("since"); err != nil {
		return err
	}
	if f.Until, err = parseTime("until"); err != nil {
		return err
	}
	for k, dst := range map[string]*int64{"top": nil, "before": &f.Before} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "%s must be a positive whole number.", k)
			e.Target = k
			return e
		}
		if dst != nil {
			*dst = n
		} else {
			f.Limit = int(min(n, 1000))
		}
	}
	es, err := s.store.ListAudit(c.r.Context(), f)
	if err != nil {
		return err
	}
	out := api.List[api.AuditEntry]{Value: []api.AuditEntry{}}
	for _, e := range es {
		out.Value = append(out.Value, api.AuditEntry{ID: e.ID, ActivityDateTime: e.At, RequestID: e.RequestID,
			Actor: api.Actor{Type: e.ActorType, Name: e.Actor}, Action: e.Action, Target: e.Target, Result: e.Result,
			ResultReason: e.Reason, Details: e.Details})
	}
	return c.writeJSON(http.StatusOK, out)
}
