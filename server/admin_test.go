package server

import (
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/tap"
)

func TestPolicy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p, err := e.admin.GetPolicy(bg)
		if err != nil || p.State != "disabled" || p.DefaultLength != 8 || p.MinimumLifetimeInMinutes != 60 {
			t.Fatalf("default policy: %+v %v", p, err)
		}
		_, err = e.admin.UpdatePolicy(bg, tap.PolicyPatch{State: ptr("enabled"), MaximumLifetimeInMinutes: ptr(50000)})
		ae := code(t, err, 400, api.CodeInvalidValue)
		if ae.Target != "maximumLifetimeInMinutes" || !strings.Contains(ae.Message, "between 10 and 43200") {
			t.Fatalf("error does not name field and range: %+v", ae)
		}
		if p, _ := e.admin.GetPolicy(bg); p.State != "disabled" {
			t.Fatal("a rejected patch was half-saved")
		}
		p, err = e.admin.UpdatePolicy(bg, tap.PolicyPatch{State: ptr("enabled"), DefaultLength: ptr(12)})
		if err != nil || p.State != "enabled" || p.DefaultLength != 12 || p.MaximumLifetimeInMinutes != 480 {
			t.Fatalf("patch: %+v %v", p, err)
		}
		// Roles: a reader may look, not change; a policy admin may change.
		reader := e.tokenClient("reader", api.RoleReader)
		if _, err := reader.GetPolicy(bg); err != nil {
			t.Fatal(err)
		}
		_, err = reader.UpdatePolicy(bg, tap.PolicyPatch{DefaultLength: ptr(9)})
		if ae := code(t, err, 403, api.CodeForbidden); !strings.Contains(ae.Message, "may not change the Temporary Access Pass policy") {
			t.Fatalf("unclear 403: %s", ae.Message)
		}
		if _, err := e.tokenClient("pol", api.RolePolicyAdministrator).UpdatePolicy(bg, tap.PolicyPatch{DefaultLength: ptr(9)}); err != nil {
			t.Fatal(err)
		}
		_, err = e.tokenClient("auth", api.RoleAuthenticationAdministrator).UpdatePolicy(bg, tap.PolicyPatch{DefaultLength: ptr(10)})
		code(t, err, 403, api.CodeForbidden)
	})
}

func (e *env) tokenClient(name, role string) *api.Client {
	e.t.Helper()
	tok, err := e.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: name, Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	return api.NewClient(e.http.URL, tok.Token)
}

func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u, err := e.admin.CreateUser(bg, api.User{UserPrincipalName: "  Ada@Example.com ", DisplayName: "Ada Lovelace", Groups: []string{"Engineering"}})
		if err != nil || u.UserPrincipalName != "Ada@Example.com" || u.UserType != "Member" {
			t.Fatalf("create: %+v %v", u, err)
		}
		_, err = e.admin.CreateUser(bg, api.User{UserPrincipalName: "ada@example.com", DisplayName: "Again"})
		code(t, err, 409, api.CodeAlreadyExists)
		bad := []api.User{
			{UserPrincipalName: "ada lovelace@example.com", DisplayName: "x"},
			{UserPrincipalName: "ada\x07@example.com", DisplayName: "x"},
			{UserPrincipalName: "noatsign", DisplayName: "x"},
			{UserPrincipalName: "esc@example.com", DisplayName: "Evil\x1b]0;pwned\x07"},
			{UserPrincipalName: "g@example.com", DisplayName: "G", UserType: "Guest"},
			{UserPrincipalName: "m@example.com", DisplayName: "M", GuestKind: "external"},
			{UserPrincipalName: "r@example.com", DisplayName: "R", AdminRole: "king"},
			{UserPrincipalName: "t@example.com", DisplayName: "T", UserType: "Robot"},
		}
		for _, b := range bad {
			_, err := e.admin.CreateUser(bg, b)
			ae := code(t, err, 400, api.CodeInvalidValue)
			if ae.Target == "" {
				t.Errorf("%q: error names no field", b.UserPrincipalName)
			}
		}
		got, err := e.admin.GetUser(bg, "ADA@example.com")
		if err != nil || got.DisplayName != "Ada Lovelace" {
			t.Fatalf("get: %+v %v", got, err)
		}
		_, err = e.admin.GetUser(bg, "nobody@example.com")
		code(t, err, 404, api.CodeUserNotFound)
		_, err = e.admin.GetUser(bg, "bad name")
		code(t, err, 400, api.CodeInvalidValue)
		all, _ := e.admin.ListUsers(bg)
		if len(all) != 1 {
			t.Fatalf("list: %+v", all)
		}
		if err := e.admin.DeleteUser(bg, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		code(t, e.admin.DeleteUser(bg, "ada@example.com"), 404, api.CodeUserNotFound)
	})
}

// TestUnicodeNames: UPNs and display names are stored in NFC, so the name
// typed decomposed finds the same person (at sign-in too); invisible
// characters and a UPN part mixing Latin with Cyrillic are refused.
func TestUnicodeNames(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.enablePolicy()
	u, err := e.admin.CreateUser(bg, api.User{UserPrincipalName: "rene\u0301@example.com", DisplayName: "Rene\u0301 \u039d\u03af\u03ba\u03bf\u03c2"})
	if err != nil || u.UserPrincipalName != "ren\u00e9@example.com" || u.DisplayName != "Ren\u00e9 \u039d\u03af\u03ba\u03bf\u03c2" {
		t.Fatalf("create: %+q %v", u, err)
	}
	if got, err := e.admin.GetUser(bg, "ren\u00e9@example.com"); err != nil || got.UserPrincipalName != u.UserPrincipalName {
		t.Fatalf("get by the composed name: %+v %v", got, err)
	}
	p := e.newPass("rene\u0301@example.com", api.CreatePassRequest{})
	if _, err := e.fresh(e.kiosk).OpenSession(bg, "rene\u0301@example.com", *p.TemporaryAccessPass); err != nil {
		t.Fatalf("sign in with the decomposed name: %v", err)
	}
	for _, c := range []struct {
		user   api.User
		target string
		msg    string
	}{
		{api.User{UserPrincipalName: "p\u0430ypal@example.com", DisplayName: "P"}, "userPrincipalName", "mixes Latin and Cyrillic"},
		{api.User{UserPrincipalName: "ada\u200b@example.com", DisplayName: "A"}, "userPrincipalName", "zero-width"},
		{api.User{UserPrincipalName: "ada@example.com", DisplayName: "Ada\u2060Lovelace"}, "displayName", "zero-width"},
		{api.User{UserPrincipalName: "ada@example.com", DisplayName: "Ada\u202e"}, "displayName", "control"},
	} {
		_, err := e.admin.CreateUser(bg, c.user)
		if ae := code(t, err, 400, api.CodeInvalidValue); ae.Target != c.target || !strings.Contains(ae.Message, c.msg) {
			t.Errorf("%+q: %+v", c.user, ae)
		}
	}
	_, err = e.fresh(e.kiosk).OpenSession(bg, "r\u0435n\u00e9@example.com", *p.TemporaryAccessPass)
	code(t, err, 400, api.CodeInvalidValue)
}

func TestImportCSV(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.addUser(api.User{UserPrincipalName: "exists@example.com"})
		csv := "userPrincipalName,displayName,userType,guestKind,groups\n" +
			"ann@example.com,Ann,Member,,Sales;EMEA\n" +
			"bad upn@example.com,Bad,Member,,\n" +
			"exists@example.com,Dup,Member,,\n" +
			"gus@example.com,Gus,Guest,external,\n" +
			"ann@example.com,Ann again,Member,,\n" +
			"eve@example.com,\"Eve\x1b[31m\",Member,,\n" +
			"ivy@example.com,Ivy,Guest,internal,\n"
		_, err := e.admin.ImportUsers(bg, strings.NewReader(csv), false)
		ae := code(t, err, 400, api.CodeImportFailed)
		wantRows := map[int]string{3: "contains a space", 4: "already exists", 6: "repeats row 2", 7: "control or escape"}
		if len(ae.Rows) != len(wantRows) {
			t.Fatalf("rows: %+v", ae.Rows)
		}
		for _, r := range ae.Rows {
			if !strings.Contains(r.Message, wantRows[r.Row]) {
				t.Errorf("row %d: %q, want %q", r.Row, r.Message, wantRows[r.Row])
			}
		}
		if _, err := e.admin.GetUser(bg, "ann@example.com"); err == nil {
			t.Fatal("a failed import wrote rows")
		}
		res, err := e.admin.ImportUsers(bg, strings.NewReader(csv), true)
		if err != nil || res.Created != 3 || len(res.Failed) != 4 {
			t.Fatalf("partial: %+v %v", res, err)
		}
		ann, err := e.admin.GetUser(bg, "ann@example.com")
		if err != nil || len(ann.Groups) != 2 || ann.Groups[1] != "EMEA" {
			t.Fatalf("ann: %+v %v", ann, err)
		}
		if g, _ := e.admin.GetUser(bg, "gus@example.com"); g.GuestKind != "external" {
			t.Fatalf("gus: %+v", g)
		}
		for _, bad := range []string{"", "nope,displayName\n", "displayName\nx\n", "userPrincipalName,displayName\n\"unterminated,x\n"} {
			_, err := e.admin.ImportUsers(bg, strings.NewReader(bad), false)
			if err == nil {
				t.Errorf("accepted %q", bad)
			}
		}
	})
}

func TestPasses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.addUser(api.User{UserPrincipalName: "pat@example.com"})
		p := e.newPass("pat@example.com", api.CreatePassRequest{})
		if len(*p.TemporaryAccessPass) != 8 || p.LifetimeInMinutes != 60 || p.IsUsableOnce || p.IsUsable || p.MethodUsabilityReason != tap.DisabledByPolicy {
			t.Fatalf("first pass: %+v", p)
		}
		list, err := e.admin.ListPasses(bg, "pat@example.com")
		if err != nil || len(list) != 1 || list[0].TemporaryAccessPass != nil || list[0].ID != p.ID {
			t.Fatalf("list must show metadata and a null value: %+v %v", list, err)
		}
		e.enablePolicy(tap.PolicyPatch{DefaultLength: ptr(16)})
		p2 := e.newPass("pat@example.com", api.CreatePassRequest{LifetimeInMinutes: ptr(120)})
		if len(*p2.TemporaryAccessPass) != 16 || !p2.IsUsable || p2.MethodUsabilityReason != tap.EnabledByPolicy {
			t.Fatalf("second pass: %+v", p2)
		}
		// One pass per user: the first stops working at once.
		_, err = e.fresh(e.kiosk).OpenSession(bg, "pat@example.com", *p.TemporaryAccessPass)
		code(t, err, 401, api.CodeInvalidCredentials)
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "pat@example.com", *p2.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		_, err = e.admin.CreatePass(bg, "pat@example.com", api.CreatePassRequest{LifetimeInMinutes: ptr(481)})
		if ae := code(t, err, 400, api.CodeInvalidValue); ae.Target != "lifetimeInMinutes" || !strings.Contains(ae.Message, "between 60 and 480") {
			t.Fatalf("%+v", ae)
		}
		_, err = e.admin.CreatePass(bg, "ghost@example.com", api.CreatePassRequest{})
		code(t, err, 404, api.CodeUserNotFound)
		// Guests.
		e.addUser(api.User{UserPrincipalName: "ext@partner.example", UserType: "Guest", GuestKind: "external"})
		_, err = e.admin.CreatePass(bg, "ext@partner.example", api.CreatePassRequest{})
		if ae := code(t, err, 400, api.CodeExternalGuest); ae.Message != "Temporary Access Pass cannot be added to an external guest user." {
			t.Fatalf("wording: %q", ae.Message)
		}
		e.addUser(api.User{UserPrincipalName: "int@example.com", UserType: "Guest", GuestKind: "internal"})
		e.newPass("int@example.com", api.CreatePassRequest{})
		// Policy isUsableOnce forces one-time passes.
		e.enablePolicy(tap.PolicyPatch{IsUsableOnce: ptr(true)})
		if p3 := e.newPass("pat@example.com", api.CreatePassRequest{IsUsableOnce: ptr(false)}); !p3.IsUsableOnce {
			t.Fatal("policy isUsableOnce not applied")
		}
		// Delete.
		list, _ = e.admin.ListPasses(bg, "pat@example.com")
		code(t, e.admin.DeletePass(bg, "pat@example.com", "not-an-id"), 404, api.CodeNotFound)
		if err := e.admin.DeletePass(bg, "pat@example.com", list[0].ID); err != nil {
			t.Fatal(err)
		}
		if list, _ = e.admin.ListPasses(bg, "pat@example.com"); len(list) != 0 {
			t.Fatal("pass not deleted")
		}
	})
}

func TestAdminRolesOnAdmins(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.addUser(api.User{UserPrincipalName: "boss@example.com", AdminRole: api.RoleGlobalAdministrator})
	e.addUser(api.User{UserPrincipalName: "staff@example.com"})
	auth := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
	priv := e.tokenClient("secops", api.RolePrivilegedAuthenticationAdministrator)
	if _, err := auth.CreatePass(bg, "staff@example.com", api.CreatePassRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := auth.CreatePass(bg, "boss@example.com", api.CreatePassRequest{})
	if ae := code(t, err, 403, api.CodeForbidden); !strings.Contains(ae.Message, "privileged authentication administrator") {
		t.Fatal(ae.Message)
	}
	code(t, auth.DeleteUser(bg, "boss@example.com"), 403, api.CodeForbidden)
	_, err = auth.CreateUser(bg, api.User{UserPrincipalName: "x@example.com", DisplayName: "X", AdminRole: api.RoleReader})
	code(t, err, 403, api.CodeForbidden)
	if _, err := priv.CreatePass(bg, "boss@example.com", api.CreatePassRequest{}); err != nil {
		t.Fatal(err)
	}
	reader := e.tokenClient("ro", api.RoleReader)
	list, err := reader.ListPasses(bg, "boss@example.com")
	if err != nil || len(list) != 1 || list[0].TemporaryAccessPass != nil {
		t.Fatalf("reader sees metadata only: %+v %v", list, err)
	}
	_, err = reader.CreatePass(bg, "staff@example.com", api.CreatePassRequest{})
	code(t, err, 403, api.CodeForbidden)
	_, err = auth.CreateKiosk(bg, "k")
	code(t, err, 403, api.CodeForbidden)
	_, err = auth.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "n", Role: api.RoleGlobalAdministrator})
	code(t, err, 403, api.CodeForbidden)
	es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionDenied})
	if len(es) < 4 {
		t.Fatalf("denials not audited: %+v", es)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, "sqlite")
	exp := e.clock.Now().Add(time.Hour)
	tok, err := e.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "temp", Role: api.RoleReader, ExpiresDateTime: &exp})
	if err != nil || !strings.HasPrefix(tok.Token, api.AdminTokenPrefix) {
		t.Fatalf("%+v %v", tok, err)
	}
	c := api.NewClient(e.http.URL, tok.Token)
	if _, err := c.ListUsers(bg); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	_, err = c.ListUsers(bg)
	code(t, err, 401, api.CodeTokenExpired)
	tok2, _ := e.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "gone", Role: api.RoleReader})
	if err := e.admin.RevokeAdminToken(bg, "gone"); err != nil {
		t.Fatal(err)
	}
	_, err = api.NewClient(e.http.URL, tok2.Token).ListUsers(bg)
	code(t, err, 401, api.CodeTokenRevoked)
	list, _ := e.admin.ListAdminTokens(bg)
	for _, l := range list {
		if l.Token != "" {
			t.Fatal("list shows a token value")
		}
	}
	_, err = e.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "x", Role: "emperor"})
	code(t, err, 400, api.CodeInvalidValue)
	_, err = e.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "temp", Role: api.RoleReader})
	code(t, err, 409, api.CodeAlreadyExists)
	_, err = e.admin.CreateKiosk(bg, "bad/name")
	code(t, err, 400, api.CodeInvalidValue)

	// Token kinds on the wrong routes.
	_, err = e.kiosk.ListUsers(bg)
	code(t, err, 403, api.CodeWrongTokenKind)
	_, err = api.NewClient(e.http.URL, e.admin.Token).OpenSession(bg, "a@example.com", "x")
	code(t, err, 403, api.CodeWrongTokenKind)
	for _, bad := range []string{"", "garbage", "tapa_unknown", "tapk_unknown"} {
		_, err := api.NewClient(e.http.URL, bad).ListUsers(bg)
		if ae, ok := err.(*api.Error); !ok || (ae.Status != 401 && ae.Status != 403) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestAuditFilters(t *testing.T) {
	e := newEnv(t, "postgres")
	e.addUser(api.User{UserPrincipalName: "a@example.com"})
	e.addUser(api.User{UserPrincipalName: "b@example.com"})
	e.newPass("a@example.com", api.CreatePassRequest{})
	e.clock.Advance(time.Hour)
	e.newPass("b@example.com", api.CreatePassRequest{})
	es, err := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionCreatePass})
	if err != nil || len(es) != 2 || es[0].Target != "b@example.com" {
		t.Fatalf("%+v %v", es, err)
	}
	es, _ = e.admin.Audit(bg, api.AuditQuery{Action: api.ActionCreatePass, Since: e.clock.Now().Add(-time.Minute)})
	if len(es) != 1 || es[0].Details["passId"] == "" || es[0].Actor.Type != "admin" {
		t.Fatalf("since: %+v", es)
	}
	es, _ = e.admin.Audit(bg, api.AuditQuery{User: "A@example.com"})
	if len(es) != 2 { // createUser + createPass
		t.Fatalf("user: %+v", es)
	}
	es, _ = e.admin.Audit(bg, api.AuditQuery{Top: 1})
	if len(es) != 1 {
		t.Fatal("top")
	}
}
