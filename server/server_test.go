package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

func decodeJSON(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func ptr[T any](v T) *T { return &v }

var bg = context.Background()

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

func TestSignInRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "sue@example.com", DisplayName: "Sue Storm"})
		p := e.newPass("sue@example.com", api.CreatePassRequest{LifetimeInMinutes: ptr(60)})
		k := e.fresh(e.kiosk)

		// Wrong pass and unknown user: one answer.
		_, err1 := k.OpenSession(bg, "sue@example.com", "WrongPass")
		_, err2 := k.OpenSession(bg, "nobody@example.com", *p.TemporaryAccessPass)
		a1, a2 := code(t, err1, 401, api.CodeInvalidCredentials), code(t, err2, 401, api.CodeInvalidCredentials)
		if a1.Message != a2.Message {
			t.Fatal("wrong pass and unknown user must look the same")
		}
		// Malformed.
		_, err := k.OpenSession(bg, "sue @example.com", "x")
		code(t, err, 400, api.CodeInvalidValue)
		_, err = k.OpenSession(bg, "sue@example.com", "")
		code(t, err, 400, api.CodeInvalidValue)

		s, err := k.OpenSession(bg, "SUE@example.com", *p.TemporaryAccessPass)
		if err != nil {
			t.Fatal(err)
		}
		// Session life = min(pass end, 10-minute limit).
		if !s.ExpiresDateTime.Equal(e.clock.Now().Add(10*time.Minute)) || s.DisplayName != "Sue Storm" || s.HasOtherMethods || !strings.HasPrefix(s.SessionToken, api.SessionTokenPrefix) {
			t.Fatalf("session: %+v", s)
		}
		got, err := k.GetSession(bg)
		if err != nil || got.UserPrincipalName != "sue@example.com" || got.SessionToken != "" {
			t.Fatalf("get: %+v %v", got, err)
		}
		// Near the pass's end, the session ends with the pass.
		e.clock.Advance(55 * time.Minute)
		s2, err := e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		if err != nil || !s2.ExpiresDateTime.Equal(p.StartDateTime.Add(60*time.Minute)) {
			t.Fatalf("session must end with the pass: %+v %v", s2, err)
		}
		// The first session has outlived its 10 minutes.
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeSessionExpired)
		e.clock.Advance(5 * time.Minute)
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodePassExpired)

		// Not yet valid, with its start.
		start := e.clock.Now().Add(2 * time.Hour).Truncate(time.Second)
		p = e.newPass("sue@example.com", api.CreatePassRequest{StartDateTime: &start})
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		if ae := code(t, err, 403, api.CodePassNotYetValid); ae.StartDateTime == nil || !ae.StartDateTime.Equal(start) {
			t.Fatalf("start not given: %+v", ae)
		}
		e.clock.Advance(2 * time.Hour)
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatalf("pass should be valid from its start: %v", err)
		}

		// One-time: used once, then refused.
		p = e.newPass("sue@example.com", api.CreatePassRequest{IsUsableOnce: ptr(true)})
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		_, err = e.fresh(e.kiosk2).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodePassAlreadyUsed)
		if l, _ := e.admin.ListPasses(bg, "sue@example.com"); l[0].MethodUsabilityReason != tap.OneTimeUsed {
			t.Fatalf("reason: %+v", l)
		}

		// Not in policy, then policy disabled.
		p = e.newPass("sue@example.com", api.CreatePassRequest{})
		if _, err := e.admin.UpdatePolicy(bg, tap.PolicyPatch{ExcludeTargets: &[]tap.Target{{TargetType: "user", ID: "sue@example.com"}}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodeNotInPolicy)
		if _, err := e.admin.UpdatePolicy(bg, tap.PolicyPatch{State: ptr("disabled"), ExcludeTargets: &[]tap.Target{}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodePolicyDisabled)

		// Audit reasons.
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "sue@example.com", Action: api.ActionSessionDenied})
		reasons := map[string]bool{}
		for _, a := range es {
			reasons[a.ResultReason] = true
			if a.Actor.Type != "kiosk" || a.RequestID == "" {
				t.Fatalf("audit entry lacks actor or request id: %+v", a)
			}
		}
		for _, r := range []string{"wrongPass", "expired", "notYetValid", "alreadyUsed", "notInPolicy", "policyDisabled"} {
			if !reasons[r] {
				t.Errorf("no audit entry with reason %s (have %v)", r, reasons)
			}
		}
		if es, _ := e.admin.Audit(bg, api.AuditQuery{User: "nobody@example.com"}); len(es) != 1 || es[0].ResultReason != "unknownUser" {
			t.Errorf("unknown user audit: %+v", es)
		}
	})
}

func TestOneTimeRaceAcrossKiosks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "race@example.com"})
		// The production hash cost makes every request spend ~25 ms between
		// reading the pass and consuming it, as in real life, so the
		// requests truly overlap.
		e.reconfigure(func(c *recovery.Config) { c.Argon2 = tap.DefaultArgon2 })
		p := e.newPass("race@example.com", api.CreatePassRequest{IsUsableOnce: ptr(true)})
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				k := e.kiosk
				if i%2 == 1 {
					k = e.kiosk2
				}
				_, errs[i] = e.fresh(k).OpenSession(bg, "race@example.com", *p.TemporaryAccessPass)
			}(i)
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				code(t, err, 403, api.CodePassAlreadyUsed)
			}
		}
		if wins != 1 {
			t.Fatalf("%d sessions from one one-time pass", wins)
		}
	})
}

func TestLockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "lou@example.com"})
		p := e.newPass("lou@example.com", api.CreatePassRequest{})
		k := e.fresh(e.kiosk)
		for i := 1; i <= 9; i++ {
			_, err := k.OpenSession(bg, "lou@example.com", "Wrong")
			code(t, err, 401, api.CodeInvalidCredentials)
		}
		_, err := k.OpenSession(bg, "lou@example.com", "Wrong")
		if ae := code(t, err, 429, api.CodeTooManyAttempts); ae.RetryAfterSeconds != 60 {
			t.Fatalf("10th failure: lock 60 s, got %d", ae.RetryAfterSeconds)
		}
		// Even the right pass is refused while locked, from any kiosk.
		_, err = e.fresh(e.kiosk2).OpenSession(bg, "lou@example.com", *p.TemporaryAccessPass)
		if ae := code(t, err, 429, api.CodeTooManyAttempts); ae.RetryAfterSeconds != 60 {
			t.Fatalf("retry-after %d", ae.RetryAfterSeconds)
		}
		status, _, hdr := e.raw("POST", "/v1/sessions", e.kiosk.Token, "application/json", []byte(`{"userPrincipalName":"lou@example.com","temporaryAccessPass":"x"}`))
		if status != 429 || hdr.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After header: %d %q", status, hdr.Get("Retry-After"))
		}
		// After the minute, another failure doubles the lock.
		e.clock.Advance(61 * time.Second)
		_, err = k.OpenSession(bg, "lou@example.com", "Wrong")
		if ae := code(t, err, 429, api.CodeTooManyAttempts); ae.RetryAfterSeconds != 120 {
			t.Fatalf("11th failure: lock 120 s, got %d", ae.RetryAfterSeconds)
		}
		e.clock.Advance(121 * time.Second)
		if _, err := k.OpenSession(bg, "lou@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatalf("right pass after lock: %v", err)
		}
		// Success clears the counter.
		_, err = e.fresh(e.kiosk).OpenSession(bg, "lou@example.com", "Wrong")
		code(t, err, 401, api.CodeInvalidCredentials)
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "lou@example.com", Action: api.ActionSessionDenied})
		found := false
		for _, a := range es {
			found = found || a.ResultReason == "lockedOut"
		}
		if !found {
			t.Fatal("lockout not audited")
		}
	})
}

func TestKioskThrottle(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) { c.Lockout = recovery.DefaultLockout; c.Lockout.KioskThreshold = 5 })
	e.enablePolicy()
	k := e.fresh(e.kiosk)
	for i := 0; i < 4; i++ {
		_, err := k.OpenSession(bg, fmt.Sprintf("u%d@example.com", i), "Wrong")
		code(t, err, 401, api.CodeInvalidCredentials)
	}
	_, err := k.OpenSession(bg, "u5@example.com", "Wrong")
	if ae := code(t, err, 429, api.CodeTooManyAttempts); !strings.Contains(ae.Message, "at this kiosk") {
		t.Fatal(ae.Message)
	}
	// Another kiosk is not affected.
	_, err = e.fresh(e.kiosk2).OpenSession(bg, "u6@example.com", "Wrong")
	code(t, err, 401, api.CodeInvalidCredentials)
}

func TestSessionCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "sid@example.com"})
		if err := e.st.CreateMethod(bg, store.Method{ID: "m1", UPN: "sid@example.com", Kind: "fido2", DisplayName: "Old key", CreatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		p := e.newPass("sid@example.com", api.CreatePassRequest{})
		k := e.fresh(e.kiosk)
		s, err := k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		if err != nil || !s.HasOtherMethods {
			t.Fatalf("%+v %v", s, err)
		}
		// The session belongs to its kiosk.
		thief := e.fresh(e.kiosk2)
		thief.SessionToken = k.SessionToken
		_, err = thief.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// The session token alone is not enough, nor is a kiosk token alone.
		st, _, _ := e.raw("GET", "/v1/session", "", "", nil, api.SessionHeader, k.SessionToken)
		if st != 401 {
			t.Fatalf("session without kiosk token: %d", st)
		}
		_, err = e.fresh(e.kiosk).GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// Sign out.
		if err := k.SignOut(bg); err != nil {
			t.Fatal(err)
		}
		k.SessionToken = "taps_gone"
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// Deleting the pass ends the session and the pass.
		k = e.fresh(e.kiosk)
		if _, err := k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		other := e.fresh(e.kiosk2)
		if _, err := other.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		tok := k.SessionToken
		if err := k.DeleteSessionPass(bg); err != nil {
			t.Fatal(err)
		}
		k.SessionToken = tok
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		_, err = other.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		if l, _ := e.admin.ListPasses(bg, "sid@example.com"); len(l) != 0 {
			t.Fatal("pass survived")
		}
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		code(t, err, 401, api.CodeInvalidCredentials)
		// An admin deleting the pass ends sessions too.
		p = e.newPass("sid@example.com", api.CreatePassRequest{})
		k = e.fresh(e.kiosk)
		k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		e.admin.DeletePass(bg, "sid@example.com", p.ID)
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// Revoking the kiosk ends its sessions and its token.
		p = e.newPass("sid@example.com", api.CreatePassRequest{})
		k = e.fresh(e.kiosk)
		k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		ks, _ := e.admin.ListKiosks(bg)
		for _, kk := range ks {
			if strings.HasPrefix(kk.Name, "lobby-") {
				if err := e.admin.RevokeKiosk(bg, kk.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeTokenRevoked)
	})
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

func TestBadInput(t *testing.T) {
	e := newEnv(t, "sqlite")
	adm := e.admin.Token
	cases := []struct {
		name, path, ct, body string
		status               int
		code                 api.Code
		target, msg          string
	}{
		{"malformed", "/v1/users", "application/json", `{"userPrincipalName":`, 400, api.CodeBadRequest, "", "ends too early"},
		{"syntax", "/v1/users", "application/json", `{"a" 1}`, 400, api.CodeBadRequest, "", "not valid JSON"},
		{"empty", "/v1/users", "application/json", ``, 400, api.CodeBadRequest, "", "empty"},
		{"unknown field", "/v1/users", "application/json", `{"userPrincipalName":"a@b.co","displayName":"A","isAdmin":true}`, 400, api.CodeInvalidValue, "isAdmin", "Unknown field"},
		{"wrong type", "/v1/policies/temporaryAccessPass", "application/json", `{"defaultLength":"twelve"}`, 400, api.CodeInvalidValue, "defaultLength", "whole number"},
		{"not an object", "/v1/users", "application/json", `[1,2]`, 400, api.CodeBadRequest, "", "JSON object"},
		{"two values", "/v1/users", "application/json", `{} {}`, 400, api.CodeBadRequest, "", "more than one"},
		{"trailing", "/v1/users", "application/json", `{}x`, 400, api.CodeBadRequest, "", ""},
		{"media type", "/v1/users", "text/plain", `{}`, 415, api.CodeUnsupportedMediaType, "", "application/json"},
		{"oversized", "/v1/users", "application/json", `{"displayName":"` + strings.Repeat("x", 70<<10) + `"}`, 413, api.CodePayloadTooLarge, "", "limit"},
		{"bad date", "/v1/users/a@b.co/temporaryAccessPassMethods", "application/json", `{"startDateTime":"tomorrow"}`, 400, api.CodeInvalidValue, "", "RFC 3339"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if strings.Contains(c.path, "policies") {
				method = "PATCH"
			}
			status, ae, hdr := e.raw(method, c.path, adm, c.ct, []byte(c.body))
			if status != c.status || ae == nil || ae.Code != c.code || ae.Target != c.target || !strings.Contains(ae.Message, c.msg) {
				t.Fatalf("got %d %+v", status, ae)
			}
			if ae.RequestID == "" || hdr.Get(api.RequestIDHeader) != ae.RequestID {
				t.Fatal("no request id")
			}
		})
	}
	// Nothing was saved by any of them.
	if us, _ := e.admin.ListUsers(bg); len(us) != 0 {
		t.Fatalf("bad input saved users: %+v", us)
	}
	if p, _ := e.admin.GetPolicy(bg); p.DefaultLength != 8 {
		t.Fatal("bad input changed the policy")
	}
	status, ae, _ := e.raw("GET", "/v1/nothing", adm, "", nil)
	if status != 404 || ae.Code != api.CodeNotFound {
		t.Fatalf("%d %+v", status, ae)
	}
	status, _, hdr := e.raw("GET", "/v1/users", adm, "", nil, api.ClientRequestIDHeader, "helpdesk-ticket-42")
	if status != 200 || hdr.Get(api.RequestIDHeader) != "helpdesk-ticket-42" {
		t.Fatal("client request id not honoured")
	}
	_, _, hdr = e.raw("GET", "/v1/users", adm, "", nil, api.ClientRequestIDHeader, "bad id <script>")
	if strings.Contains(hdr.Get(api.RequestIDHeader), "<") {
		t.Fatal("unsafe client request id echoed")
	}
	for _, q := range []string{"since=yesterday", "top=0", "top=abc", "before=-1"} {
		status, ae, _ := e.raw("GET", "/v1/auditLogs?"+q, adm, "", nil)
		if status != 400 || ae.Code != api.CodeInvalidValue {
			t.Errorf("%s: %d %+v", q, status, ae)
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(e.http.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	e.st.Close()
	resp, _ := http.Get(e.http.URL + "/readyz")
	if resp.StatusCode != 503 {
		t.Fatalf("readyz with a closed db: %d", resp.StatusCode)
	}
}

// TestStorageFull fills the SQLite file to its page cap (what a full disk
// looks like to SQLite) mid-import: the client gets 507 storageFull with a
// clear message, nothing of the import is kept, and earlier data is intact.
func TestStorageFull(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnvOn(t, st, &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
	e.addUser(api.User{UserPrincipalName: "keep@example.com"})
	db := st.DB()
	db.SetMaxOpenConns(1)
	var pages int
	db.QueryRow("PRAGMA page_count").Scan(&pages)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+1)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "u%03d@example.com,%s\n", i, strings.Repeat("N", 200))
	}
	_, err := e.admin.ImportUsers(bg, strings.NewReader(b.String()), false)
	if ae := code(t, err, 507, api.CodeStorageFull); !strings.Contains(ae.Message, "nothing was changed") {
		t.Fatal(ae.Message)
	}
	us, err := e.admin.ListUsers(bg)
	if err != nil || len(us) != 1 {
		t.Fatalf("after a full disk: %d users, %v", len(us), err)
	}
	if !strings.Contains(e.logs.String(), "storage full") {
		t.Fatal("the cause was not logged")
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

func TestNoSecretsInLogsOrAudit(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.enablePolicy()
	e.addUser(api.User{UserPrincipalName: "sec@example.com"})
	p := e.newPass("sec@example.com", api.CreatePassRequest{})
	k := e.fresh(e.kiosk)
	k.OpenSession(bg, "sec@example.com", "WrongPassValue")
	s, err := k.OpenSession(bg, "sec@example.com", *p.TemporaryAccessPass)
	if err != nil {
		t.Fatal(err)
	}
	k.DeleteSessionPass(bg)
	es, _ := e.admin.Audit(bg, api.AuditQuery{Top: 1000})
	auditJSON, _ := json.Marshal(es)
	for _, secret := range []string{*p.TemporaryAccessPass, "WrongPassValue", s.SessionToken, e.admin.Token, e.kiosk.Token} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret reached the log")
		}
		if strings.Contains(string(auditJSON), secret) {
			t.Errorf("a secret reached the audit log")
		}
	}
	if len(es) < 4 {
		t.Fatalf("too few audit entries: %d", len(es))
	}
}
