package entra_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
)

func simClient(t *testing.T) (*graphsim.Sim, *graph.Client) {
	t.Helper()
	sim := graphsim.New()
	t.Cleanup(sim.Close)
	sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	return sim, graphClient(sim)
}

// graphClient is a Graph client for sim, with its token.
func graphClient(sim *graphsim.Sim) *graph.Client {
	return &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken(sim.Token), HTTP: sim.Server.Client(), Timeout: 5 * time.Second}
}

// TestCheckPermissions: the start-up check proves every permission the
// kiosk flow needs and names each one missing, changing nothing.
func TestCheckPermissions(t *testing.T) {
	ctx := context.Background()
	global := entra.CloudOf(entra.DefaultGraphURL)
	sim, c := simClient(t)
	if err := entra.Check(ctx, c, global); err != nil {
		t.Fatal(err)
	}
	for _, r := range sim.Requests {
		if strings.HasPrefix(r, "POST") {
			t.Fatalf("the check wrote: %v", sim.Requests)
		}
	}
	sim.Revoke("UserAuthMethod-TAP.ReadWrite.All", "UserAuthMethod-Passkey.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All",
		"UserAuthMethod-TAP.Read.All", "UserAuthMethod-Passkey.Read.All", "UserAuthenticationMethod.Read.All")
	err := entra.Check(ctx, c, global)
	for _, want := range []string{"UserAuthMethod-TAP.ReadWrite.All (to read a user's Temporary Access Pass", "UserAuthMethod-TAP.ReadWrite.All (to delete a user's Temporary Access Pass",
		"UserAuthMethod-Passkey.ReadWrite.All (to read a user's security keys", "UserAuthMethod-Passkey.ReadWrite.All (to register and delete a user's security keys",
		"UserAuthenticationMethod.ReadWrite.All (to read a user's authentication methods", "admin consent"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "Policy.Read") || strings.Contains(err.Error(), "User.Read.All") {
		t.Errorf("a granted permission named missing: %v", err)
	}
	// In a cloud without registration the passkey write is not asked for.
	sim2, c2 := simClient(t)
	sim2.Revoke("UserAuthMethod-Passkey.ReadWrite.All", "UserAuthMethod-Passkey.Read.All", "UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
	err = entra.Check(ctx, c2, entra.CloudOf("https://graph.microsoft.us/v1.0"))
	if err == nil || strings.Contains(err.Error(), "register and delete a user's security keys") || !strings.Contains(err.Error(), "read a user's security keys") {
		t.Errorf("national cloud: %v", err)
	}
}

// TestCheckGroupMemberRead: a tenant that granted User.Read.All but not
// GroupMember.Read.All fails the check, naming it, although the user's
// transitiveMemberOf (which User.Read.All allows) still answers: staging
// from a group calls /groups, which User.Read.All does not allow.
func TestCheckGroupMemberRead(t *testing.T) {
	ctx := context.Background()
	sim, c := simClient(t)
	sim.Revoke("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
	if _, _, err := c.Groups(ctx, "ada@contoso.com"); err != nil {
		t.Fatalf("transitiveMemberOf needs only User.Read.All: %v", err)
	}
	err := entra.Check(ctx, c, entra.CloudOf(entra.DefaultGraphURL))
	if err == nil || !strings.Contains(err.Error(), "GroupMember.Read.All (to find groups and list their members") || strings.Contains(err.Error(), "User.Read.All (") {
		t.Fatalf("%v", err)
	}
	// Without User.Read.All as well, both are named, and what needs a
	// user to ask about is said to be not proved rather than granted.
	sim.Revoke("User.Read.All")
	p, err := entra.Permissions(ctx, c, entra.CloudOf(entra.DefaultGraphURL))
	if err != nil || len(p.Missing) != 2 || !strings.HasPrefix(p.Missing[0], "GroupMember.Read.All") || !strings.HasPrefix(p.Missing[1], "User.Read.All") ||
		len(p.NotProved) != 3 || !strings.Contains(p.NotProved[0], "cannot read users without User.Read.All") {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestCheckNotProved: a delete of a method that does not exist answered
// with anything but 204 or 403 proves nothing (only 204 is documented):
// "not proved", not "granted". The passkey write is proved by a read that
// needs it (the creation options) and so needs no delete.
func TestCheckNotProved(t *testing.T) {
	ctx := context.Background()
	sim, c := simClient(t)
	p, err := entra.Permissions(ctx, c, entra.CloudOf(entra.DefaultGraphURL))
	if err != nil || len(p.Missing) != 0 || len(p.NotProved) != 2 || !strings.HasPrefix(p.NotProved[0], "UserAuthenticationMethod.ReadWrite.All") ||
		!strings.Contains(p.NotProved[0], "answered 404") || !strings.HasPrefix(p.NotProved[1], "UserAuthMethod-TAP.ReadWrite.All") {
		t.Fatalf("%+v %v", p, err)
	}
	for _, r := range sim.Requests {
		if strings.HasPrefix(r, "DELETE") && strings.Contains(r, "fido2Methods") {
			t.Fatalf("the passkey write was probed by a delete although the creation options proved it: %q", sim.Requests)
		}
	}
	// Self-service setup off: the options are refused, and the delete
	// decides; its 404 proves nothing.
	sim.SelfServiceSetup = false
	p, err = entra.Permissions(ctx, c, entra.CloudOf(entra.DefaultGraphURL))
	if err != nil || len(p.NotProved) != 3 || !strings.HasPrefix(p.NotProved[2], "UserAuthMethod-Passkey.ReadWrite.All") {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestTenantCheckSeveralProfiles: entra-check --write settles how several
// passkey profiles combine: a key model one of the user's profiles allows
// and another forbids, registered, and Graph's verdict shown, both ways
// the simulator can combine them. The key is deleted again.
func TestTenantCheckSeveralProfiles(t *testing.T) {
	ctx := context.Background()
	sim, c := simClient(t)
	sim.AddUser("bo@contoso.com", "Bo", "Member", false, "Lab")
	const def, lab, model = "00000000-0000-0000-0000-000000000001", "6f1967b7-15e8-4935-ac26-d50770ed07a7", "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	sim.ProfilesByExpand = true
	sim.DefaultPasskeyProfile = def
	sim.PasskeyProfiles = []map[string]any{
		{"id": def, "name": "Default", "passkeyTypes": "deviceBound,synced", "attestationEnforcement": "disabled",
			"keyRestrictions": map[string]any{"isEnforced": true, "enforcementType": "block", "aaGuids": []string{model}}},
		{"id": lab, "name": "Lab keys", "passkeyTypes": "deviceBound", "attestationEnforcement": "disabled",
			"keyRestrictions": map[string]any{"isEnforced": true, "enforcementType": "allow", "aaGuids": []string{model}}},
	}
	sim.FIDO2Targets = []map[string]any{{"targetType": "group", "id": "all_users"},
		{"targetType": "group", "id": graphsim.GroupID("Lab"), "allowedPasskeyProfiles": []string{lab}}}
	for combine, want := range map[string]string{"any": "any one profile allowing suffices", "all": "every profile must allow"} {
		sim.ProfilesCombine = combine
		var out strings.Builder
		if err := (entra.TenantCheck{User: "bo@contoso.com", Write: true}).Run(ctx, c, &out); err != nil {
			t.Fatal(err)
		}
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "several passkey profiles:") {
				line = l
			}
		}
		if !strings.Contains(line, want) || !strings.Contains(line, `allowed by ["`) || !strings.Contains(line, `forbidden by ["`) {
			t.Errorf("%s: %q\n%s", combine, line, out.String())
		}
		if fs, _, _ := c.ListFIDO2(ctx, "bo@contoso.com"); len(fs) != 0 {
			t.Fatalf("%s: the check left keys behind: %+v", combine, fs)
		}
	}
	// Someone with one profile cannot settle it, and is told so.
	var out strings.Builder
	if err := (entra.TenantCheck{User: "ada@contoso.com", Write: true}).Run(ctx, c, &out); err != nil || !strings.Contains(out.String(), "not settled: the 1 profile(s)") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// TestNationalClouds: which Graph hosts are which cloud, and a directory
// in a cloud without the registration API refuses registration without
// asking Graph.
func TestNationalClouds(t *testing.T) {
	for u, want := range map[string]string{
		entra.DefaultGraphURL:                          "global",
		"https://graph.microsoft.us/v1.0":              "US Government L4",
		"https://dod-graph.microsoft.us/v1.0":          "US Government L5 (DOD)",
		"https://microsoftgraph.chinacloudapi.cn/v1.0": "China (operated by 21Vianet)",
		"https://127.0.0.1:4443/v1.0":                  "global",
	} {
		if c := entra.CloudOf(u); c.Name != want || c.Registration != (want == "global") {
			t.Errorf("%s: %+v", u, c)
		}
	}
	sim, c := simClient(t)
	d := entra.New(entra.Config{Graph: c, Now: time.Now, Cloud: entra.CloudOf("https://graph.microsoft.us/v1.0")})
	before := len(sim.Requests)
	_, err := d.BeginRegistration(context.Background(), "ada@contoso.com")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeRegistrationUnavailable || !strings.Contains(ae.Message, "US Government L4") || len(sim.Requests) != before {
		t.Fatalf("%v (%d calls)", err, len(sim.Requests)-before)
	}
}

// TestTenantCheck: tapd entra-check against the simulator prints each
// open question's answer; read-only unless asked, and it undoes its writes.
func TestTenantCheck(t *testing.T) {
	ctx := context.Background()
	sim, c := simClient(t)
	sim.AddUser("ext_partner.com#EXT#@contoso.com", "Ext", "Guest", true)
	sim.Extensions = map[string]any{"credentialProtectionPolicy": "userVerificationOptional", "hmacCreateSecret": true}
	var out strings.Builder
	if err := (entra.TenantCheck{User: "ada@contoso.com"}).Run(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if strings.Contains(out.String(), "@odata") {
		t.Error("an OData annotation was shown as if it were part of the options")
	}
	for _, want := range []string{"rp id / name:", "login.microsoftonline.com / Microsoft", "policy path .../fido2:", "groups cast, bare:",
		"extensions:                          [credentialProtectionPolicy hmacCreateSecret]",
		"HTTP 400 Request_UnsupportedQuery", "platform / direct", "not seen: self-service setup is on", "Read-only"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q", want)
		}
	}
	for _, r := range sim.Requests {
		if !strings.HasPrefix(r, "GET") {
			t.Fatalf("a read-only check sent %s", r)
		}
	}

	out.Reset()
	sim.OmitCreateStart = true
	sim.BlockedAAGUIDs = []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}
	if err := (entra.TenantCheck{User: "ada@contoso.com", Guest: "ext_partner.com#EXT#@contoso.com", Write: true}).Run(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"startDateTime (absent)", "Temporary Access Pass cannot be added to an external guest user.",
		"refusal, blocked AAGUID:", "blocked by the FIDO2 key restriction", "a software key (none attestation):   HTTP 201", "refusal, duplicate key:", "HTTP 409"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q", want)
		}
	}
	ms, _, _ := c.Methods(ctx, "ada@contoso.com")
	if len(ms) != 1 { // the password
		t.Fatalf("the check left methods behind: %+v", ms)
	}
}
