// Package directorytest is the conformance suite every directory.Directory
// must pass: the same people, passes, methods and registration, whatever
// the back end. It drives real libfido2 against the virtual key for the
// registration, so it needs cgo.
//
// A back end's test seeds People (and nothing else) and passes a
// constructor to RunTests:
//
//	directorytest.RunTests(t, func(t *testing.T) directory.Directory { ... })
package directorytest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Person is someone the directory under test must hold before the suite
// runs. A member is in one group, Group, which the TAP policy does not
// need to target, and holds one phone method whose number is Phone.
type Person struct {
	UPN, DisplayName string
	UserType         string // Member or Guest
	External         bool   // an external (B2B) guest
	Group            string // a group's display name; "" for none
	Phone            string // a phone method's number; "" for none
}

// The people every back end seeds.
var (
	Member        = Person{UPN: "ada@contoso.test", DisplayName: "Ada Lovelace", UserType: "Member", Group: "Kiosk users", Phone: "+1 555 0100"}
	InternalGuest = Person{UPN: "grace@contoso.test", DisplayName: "Grace Hopper", UserType: "Guest"}
	ExternalGuest = Person{UPN: "alan@fabrikam.test", DisplayName: "Alan Turing", UserType: "Guest", External: true}
	People        = []Person{Member, InternalGuest, ExternalGuest}
	// Unknown is held by no directory.
	Unknown = "nobody@contoso.test"
)

var bg = context.Background()

// RunTests runs the suite. newDir returns a fresh directory holding
// People; each subtest gets its own.
func RunTests(t *testing.T, newDir func(t *testing.T) directory.Directory) {
	tests := []struct {
		name string
		fn   func(*testing.T, directory.Directory)
	}{
		{"People", testPeople},
		{"GroupMembers", testGroupMembers},
		{"Policies", testPolicies},
		{"Passes", testPasses},
		{"Methods", testMethods},
		{"Registration", testRegistration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDir(t)) })
	}
}

func isCode(err error, code api.Code) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == code
}

func testPeople(t *testing.T, d directory.Directory) {
	u, err := d.User(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(u.UPN, Member.UPN) || u.DisplayName != Member.DisplayName || u.UserType != "Member" || u.GuestKind != "" || u.ExternalGuest() {
		t.Fatalf("member read as %+v", u)
	}
	if len(u.Groups) != 1 || u.Groups[0] == "" {
		t.Fatalf("member's groups %q: want the one group", u.Groups)
	}
	if m := u.Member(); !strings.EqualFold(m.UPN, Member.UPN) || !slices.Equal(m.Groups, u.Groups) {
		t.Fatalf("member for the policy: %+v", m)
	}
	// A directory that cannot show roles must say so, or the role rules
	// would take everyone for a non-admin.
	if u.RolesKnown == false && u.AdminRole != "" {
		t.Fatalf("a role reported while roles are unknown: %+v", u)
	}
	again, err := d.User(bg, strings.ToUpper(Member.UPN))
	if err != nil || !strings.EqualFold(again.UPN, Member.UPN) {
		t.Fatalf("lookup is not case-insensitive: %+v %v", again, err)
	}
	g, err := d.User(bg, InternalGuest.UPN)
	if err != nil || g.UserType != "Guest" || g.GuestKind != "internal" || g.ExternalGuest() {
		t.Fatalf("internal guest: %+v %v", g, err)
	}
	x, err := d.User(bg, ExternalGuest.UPN)
	if err != nil || x.GuestKind != "external" || !x.ExternalGuest() {
		t.Fatalf("external guest: %+v %v", x, err)
	}
	if _, err := d.User(bg, Unknown); !isCode(err, api.CodeUserNotFound) {
		t.Fatalf("unknown user: want userNotFound, got %v", err)
	}
}

func testGroupMembers(t *testing.T, d directory.Directory) {
	g, upns, err := d.GroupMembers(bg, Member.Group)
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == "" || g.DisplayName != Member.Group || len(upns) != 1 || !strings.EqualFold(upns[0], Member.UPN) {
		t.Fatalf("group %+v with %q: want %s with %s alone", g, upns, Member.Group, Member.UPN)
	}
	// The member's own groups name the same group as the lookup does.
	u, err := d.User(bg, Member.UPN)
	if err != nil || !slices.Contains(u.Groups, g.ID) {
		t.Fatalf("the member's groups %q do not name the group's id %q: %v", u.Groups, g.ID, err)
	}
	for _, ref := range []string{strings.ToUpper(Member.Group), g.ID} {
		again, upns, err := d.GroupMembers(bg, ref)
		if err != nil || again != g || len(upns) != 1 || !strings.EqualFold(upns[0], Member.UPN) {
			t.Fatalf("group by %q: %+v %q %v", ref, again, upns, err)
		}
	}
	if _, _, err := d.GroupMembers(bg, "Nobody's group"); !isCode(err, api.CodeNotFound) {
		t.Fatalf("unknown group: want notFound, got %v", err)
	}
}

func testPolicies(t *testing.T, d directory.Directory) {
	p, err := d.TAPPolicy(bg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("the TAP policy breaks the rules: %v (%+v)", err, p)
	}
	f, err := d.FIDO2Policy(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	kr := f.KeyRestrictions
	if kr.AAGUIDs == nil || (kr.EnforcementType != "allow" && kr.EnforcementType != "block") {
		t.Fatalf("key restrictions %+v", kr)
	}
	if f.AcceptedFormats != nil && !slices.Contains(f.AcceptedFormats, "packed") {
		t.Fatalf("a directory that takes no packed attestation takes no security key: %q", f.AcceptedFormats)
	}
	// A person's view: what the directory itself requires is the same for
	// everyone; without profiles, so are the rules.
	pf, err := d.FIDO2Policy(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pf.AcceptedFormats, f.AcceptedFormats) || pf.JudgesAttestation != f.JudgesAttestation || pf.ProfilesInUse != f.ProfilesInUse {
		t.Fatalf("the person's policy %+v differs from the tenant's %+v in what is the same for everyone", pf, f)
	}
	if !f.ProfilesInUse && (pf.IsAttestationEnforced != f.IsAttestationEnforced || pf.KeyRestrictions.IsEnforced != kr.IsEnforced ||
		!slices.Equal(pf.KeyRestrictions.AAGUIDs, kr.AAGUIDs)) {
		t.Fatalf("without profiles a person's rules are everyone's: %+v, %+v", pf, f)
	}
}

func passRequest(minutes int, once bool) directory.PassRequest {
	return directory.PassRequest{PassState: tap.PassState{Start: time.Now().UTC().Truncate(time.Millisecond), LifetimeMinutes: minutes, IsUsableOnce: once},
		CreatedBy: "directorytest"}
}

func testPasses(t *testing.T, d directory.Directory) {
	u, err := d.User(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := d.Passes(bg, u); err != nil || len(ps) != 0 {
		t.Fatalf("before any pass: %+v %v", ps, err)
	}
	first, err := d.CreatePass(bg, u, passRequest(60, false))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || !tap.PassLooksRight(first.Value) || first.LifetimeMinutes != 60 || first.IsUsableOnce || first.Replaced != "" {
		t.Fatalf("new pass %+v", first.Pass)
	}
	second, err := d.CreatePass(bg, u, passRequest(120, true))
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Value == first.Value || second.Replaced != first.ID || !second.IsUsableOnce || second.LifetimeMinutes != 120 {
		t.Fatalf("a second pass must replace the first: %+v replaced %q", second.Pass, second.Replaced)
	}
	ps, err := d.Passes(bg, u)
	if err != nil || len(ps) != 1 || ps[0].ID != second.ID {
		t.Fatalf("one pass per person: %+v %v", ps, err)
	}
	j, err := d.JudgePass(bg, store.Pass{ID: second.ID, UPN: u.UPN, StartAt: second.StartAt, LifetimeMinutes: second.LifetimeMinutes, IsUsableOnce: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(j.Member.UPN, u.UPN) || !slices.Equal(j.Member.Groups, u.Groups) || j.Policy.Validate() != nil || j.Reason != "" {
		t.Fatalf("judging a fresh pass: %+v", j)
	}
	ms, err := d.Methods(bg, u.UPN)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m directory.Method) bool { return m.Kind == directory.KindTAP })
	if i < 0 || ms[i].ID != second.ID || ms[i].Pass == nil || ms[i].Pass.LifetimeMinutes != 120 {
		t.Fatalf("the pass is not among the methods: %+v", ms)
	}
	if _, err := d.DeletePass(bg, u.UPN, second.ID); err != nil {
		t.Fatal(err)
	}
	if ps, err := d.Passes(bg, u); err != nil || len(ps) != 0 {
		t.Fatalf("after delete: %+v %v", ps, err)
	}
	if _, err := d.DeletePass(bg, u.UPN, second.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a pass twice: want store.ErrNotFound, got %v", err)
	}
}

func testMethods(t *testing.T, d directory.Directory) {
	ms, err := d.Methods(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	var phone *directory.Method
	for i, m := range ms {
		if m.Kind == "password" || m.Kind == "" {
			t.Fatalf("a method nobody can remove here is listed: %+v", m)
		}
		if m.Kind == "phone" {
			phone = &ms[i]
		}
	}
	if phone == nil || phone.ID == "" || phone.DisplayName == "" {
		t.Fatalf("the member's phone, with a name: %+v", ms)
	}
	if _, err := d.DeleteMethod(bg, Member.UPN, *phone); err != nil {
		t.Fatal(err)
	}
	ms, err = d.Methods(bg, Member.UPN)
	if err != nil || slices.ContainsFunc(ms, func(m directory.Method) bool { return m.ID == phone.ID }) {
		t.Fatalf("the phone is still there: %+v %v", ms, err)
	}
	if ms, err := d.Methods(bg, InternalGuest.UPN); err != nil || len(ms) != 0 {
		t.Fatalf("someone with no methods: %+v %v", ms, err)
	}
}

func testRegistration(t *testing.T, d directory.Directory) {
	reg, err := d.BeginRegistration(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	o, sd := reg.Options, reg.Session
	rpID := o.RelyingParty.ID
	if rpID == "" || len(o.Challenge) == 0 || sd.Challenge != o.Challenge.String() || len(sd.UserID) == 0 ||
		(sd.RelyingPartyID != "" && sd.RelyingPartyID != rpID) {
		t.Fatalf("options and ceremony disagree: rp %q, challenge %q/%q, handle %x", rpID, o.Challenge, sd.Challenge, sd.UserID)
	}
	if sel := o.AuthenticatorSelection; sel.ResidentKey != protocol.ResidentKeyRequirementRequired && (sel.RequireResidentKey == nil || !*sel.RequireResidentKey) {
		t.Fatalf("a kiosk key must be discoverable: %+v", sel)
	}

	// The kiosk's part: real libfido2 and the virtual key answer.
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	answer, err := fido.Register(bg, path, fido.RegisterRequest{Options: o, Origin: "https://" + rpID, PIN: "2468"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(answer)

	// tapd's part: verify with go-webauthn before the directory keeps it.
	rp, err := webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "directorytest", RPOrigins: []string{"https://" + rpID}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The person as go-webauthn sees them, by the handle the directory's
	// ceremony names.
	holder := &directory.KeyHolder{Handle: sd.UserID, User: store.User{UPN: Member.UPN, DisplayName: Member.DisplayName}}
	cred, err := rp.CreateCredential(holder, sd, parsed)
	if err != nil {
		t.Fatalf("the directory's ceremony does not verify its own key's answer: %v", err)
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)
	m := store.Method{ID: uuid.NewString(), UPN: Member.UPN, Kind: directory.KindFIDO2, DisplayName: "Conformance key",
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond), CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AAGUID: aaguid.String(), Model: tap.GenericKeyModel, AttestationFormat: cred.AttestationFormat, AttestationLevel: "notAttested",
		SignCount: cred.Authenticator.SignCount, UserVerified: cred.Flags.UserVerified, RPID: rpID, UserHandle: sd.UserID}
	kept, _, err := d.AddKey(bg, directory.NewKey{Method: m, Credential: raw})
	if err != nil {
		t.Fatal(err)
	}
	if kept.ID == "" || kept.DisplayName != "Conformance key" || kept.AAGUID != aaguid.String() {
		t.Fatalf("kept as %+v", kept)
	}
	ms, err := d.Methods(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(x directory.Method) bool { return x.ID == kept.ID })
	if i < 0 || ms[i].Kind != directory.KindFIDO2 || ms[i].DisplayName != "Conformance key" || ms[i].AAGUID != aaguid.String() {
		t.Fatalf("the new key is not listed: %+v", ms)
	}
	// The next registration excludes the key, so one key is not added twice.
	next, err := d.BeginRegistration(bg, Member.UPN)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(next.Options.CredentialExcludeList, func(c protocol.CredentialDescriptor) bool { return string(c.CredentialID) == string(cred.ID) }) {
		t.Fatalf("the registered key is not excluded: %+v", next.Options.CredentialExcludeList)
	}
	if _, err := d.DeleteMethod(bg, Member.UPN, ms[i]); err != nil {
		t.Fatal(err)
	}
	if ms, err := d.Methods(bg, Member.UPN); err != nil || slices.ContainsFunc(ms, func(x directory.Method) bool { return x.ID == kept.ID }) {
		t.Fatalf("the key is still there: %+v %v", ms, err)
	}
}
