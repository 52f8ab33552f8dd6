package entra

// The Entra directory. Microsoft Entra ID, through Microsoft Graph, holds
// the people, both method policies, the passes and the methods, and is the
// relying party for new keys. tapd's store keeps only what the kiosk needs
// and Graph cannot give: each pass's Argon2id hash (Graph shows a pass
// value once, to its creator), and a record of each key the kiosk
// registered, so the key check still works. A local user row mirrors each
// person who got a pass from tapd, because passes and sessions refer to
// users.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Directory is the Entra directory.
type Directory struct {
	g      *graph.Client
	cloud  Cloud
	st     store.Store
	argon2 tap.Argon2Params
	now    func() time.Time
	log    *slog.Logger
}

// Config holds the Entra directory's dependencies.
type Config struct {
	Graph  *graph.Client
	Store  store.Store
	Argon2 tap.Argon2Params
	Now    func() time.Time
	Logger *slog.Logger
	// Cloud is the Microsoft cloud of the Graph URL (CloudOf); the zero
	// value is taken for the global cloud.
	Cloud Cloud
}

// New returns the Entra directory over a Graph client.
func New(c Config) *Directory {
	if c.Cloud.Name == "" {
		c.Cloud = Cloud{Name: "global", Registration: true}
	}
	return &Directory{g: c.Graph, cloud: c.Cloud, st: c.Store, argon2: c.Argon2, now: c.Now, log: c.Logger}
}

var (
	_ directory.Directory     = (*Directory)(nil)
	_ directory.ForeignPasses = (*Directory)(nil)
)

// ManagedBy is "entra": people and policies are managed in the tenant.
func (d *Directory) ManagedBy() string { return "entra" }

// failure turns a failed Graph call into a client-safe error. op says
// what tapd was doing, in words that finish "tapd could not ...". The
// cause, with Graph's request id, goes to the log.
func failure(op string, res graph.Result, err error) error {
	var ge *graph.Error
	isGraph := errors.As(err, &ge)
	var out *api.Error
	var te *graph.ThrottledError
	switch {
	case errors.As(err, &te):
		secs := int(te.RetryAfter / time.Second)
		out = api.E(api.CodeDirectoryUnavailable,
			"Microsoft Entra ID is busy and asked tapd to wait %d seconds, so tapd could not %s. Try again in %d seconds.", secs, op, secs).RetryAfter(secs)
	case errors.Is(err, graph.ErrUnavailable) || isGraph && ge.Status == http.StatusTooManyRequests:
		out = api.E(api.CodeDirectoryUnavailable,
			"The directory (Microsoft Entra ID) is unavailable, so tapd could not %s. Try again in a few minutes.", op).RetryAfter(30)
	case isGraph && (ge.Status == http.StatusUnauthorized || ge.Status == http.StatusForbidden):
		out = api.E(api.CodeDirectoryError,
			"Microsoft Entra ID did not let tapd %s (HTTP %d); IT should check tapd's application permissions. Graph request id %s.", op, ge.Status, ge.RequestID)
	case isGraph:
		out = api.E(api.CodeDirectoryError, "Microsoft Entra ID refused to %s (HTTP %d). Graph request id %s.", op, ge.Status, ge.RequestID)
	default:
		out = api.E(api.CodeDirectoryError, "tapd could not %s in Microsoft Entra ID.", op)
	}
	return out.Because(fmt.Errorf("graph (request-id %q, client-request-id %q, %d attempts): %w", res.RequestID, res.ClientRequestID, res.Attempts, err))
}

func status(err error) int {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

func graphMessage(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Message
	}
	return ""
}

// trace records a Graph call's ids for the audit trail: Graph's
// request-id and the client-request-id tapd sent, either of which
// Microsoft support can trace.
func trace(t directory.Trace, res graph.Result) directory.Trace {
	if t == nil {
		t = directory.Trace{}
	}
	if res.RequestID != "" {
		t["graphRequestId"] = res.RequestID
	}
	if res.ClientRequestID != "" {
		t["graphClientRequestId"] = res.ClientRequestID
	}
	return t
}

// writeFailed is a Graph write that failed, for the audit trail. A write
// Graph may have done before the line went quiet is "unknown", not
// "failure", so the trail never claims less than may have reached Entra.
func writeFailed(op string, res graph.Result, err error, t directory.Trace) *directory.Failed {
	f := &directory.Failed{Result: store.AuditFailure, Reason: "directoryRefused", Trace: trace(t, res), Err: failure(op, res, err)}
	if errors.Is(err, graph.ErrUnavailable) {
		f.Result, f.Reason = store.AuditUnknown, "directoryUnavailable"
	}
	return f
}

// ---- people and policies ----

// User looks a person up in Entra with their groups. Graph accepts a UPN
// where it takes an id on every call but the two provisioning ones (see
// person), so tapd never needs to keep object ids. Roles are
// unknown: tapd's least-privileged permissions do not show them.
func (d *Directory) User(ctx context.Context, upn string) (directory.User, error) {
	g, res, err := d.g.GetUser(ctx, upn)
	if status(err) == http.StatusNotFound {
		return directory.User{}, api.E(api.CodeUserNotFound, "No user %s in Microsoft Entra ID.", upn)
	}
	if err != nil {
		return directory.User{}, failure("look the user up", res, err)
	}
	u := userOf(g)
	u.Groups, err = d.groups(ctx, u.UPN)
	return u, err
}

// person looks a person up by UPN, for their object id: the two
// provisioning calls (fido2Methods/creationOptions and POST fido2Methods,
// v1.0) document only /users/{id}, where every other call tapd makes
// takes {id | userPrincipalName}.
func (d *Directory) person(ctx context.Context, upn string) (graph.User, graph.Result, error) {
	g, res, err := d.g.GetUser(ctx, upn)
	switch {
	case status(err) == http.StatusNotFound:
		return g, res, api.E(api.CodeUserNotFound, "No user %s in Microsoft Entra ID.", upn)
	case err != nil:
		return g, res, failure("look the user up", res, err)
	case g.ID == "":
		return g, res, api.E(api.CodeDirectoryError, "Microsoft Entra ID gave no object id for %s. Graph request id %s.", upn, res.RequestID)
	}
	return g, res, nil
}

// userOf is a Graph user in tapd's terms, without groups.
func userOf(g graph.User) directory.User {
	u := directory.User{UPN: g.UserPrincipalName, DisplayName: g.DisplayName, UserType: g.UserType}
	if u.UserType == "Guest" {
		u.GuestKind = "internal"
		if g.External() {
			u.GuestKind = "external"
		}
	}
	return u
}

// GroupMembers finds the group by object id or, failing that reading, by
// display name, and lists its users, nested groups' included. Display
// names are not unique in Entra: a name several groups share is refused
// rather than guessed.
func (d *Directory) GroupMembers(ctx context.Context, ref string) (directory.Group, []string, error) {
	notFound := api.NotFound("No group %s in Microsoft Entra ID.", ref)
	var g graph.Group
	if _, perr := uuid.Parse(ref); perr == nil {
		var res graph.Result
		var err error
		g, res, err = d.g.GetGroup(ctx, ref)
		if status(err) == http.StatusNotFound {
			return directory.Group{}, nil, notFound
		}
		if err != nil {
			return directory.Group{}, nil, failure("read the group", res, err)
		}
	} else {
		gs, res, err := d.g.GroupsNamed(ctx, ref)
		if err != nil {
			return directory.Group{}, nil, failure("find the group", res, err)
		}
		switch len(gs) {
		case 0:
			return directory.Group{}, nil, notFound
		case 1:
			g = gs[0]
		default:
			return directory.Group{}, nil, api.Invalid("group", "%d groups in Microsoft Entra ID are named %s; give the group's object id instead.", len(gs), ref)
		}
	}
	us, res, err := d.g.GroupUsers(ctx, g.ID)
	if err != nil {
		return directory.Group{}, nil, failure("list the group's members", res, err)
	}
	upns := []string{}
	for _, u := range us {
		upns = append(upns, u.UserPrincipalName)
	}
	return directory.Group{ID: g.ID, DisplayName: g.DisplayName}, upns, nil
}

// groups returns the object ids of the person's groups, direct or not:
// the policy's targets name groups by id.
func (d *Directory) groups(ctx context.Context, upn string) ([]string, error) {
	gs, res, err := d.g.Groups(ctx, upn)
	if err != nil {
		return nil, failure("read the user's groups", res, err)
	}
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids, nil
}

// TAPPolicyOf is the tenant's policy in tapd's terms.
func TAPPolicyOf(g graph.TAPPolicy) tap.Policy {
	targets := func(ts []graph.Target) []tap.Target {
		out := []tap.Target{}
		for _, t := range ts {
			out = append(out, tap.Target{TargetType: t.TargetType, ID: t.ID})
		}
		return out
	}
	p := tap.Policy{State: g.State, IncludeTargets: targets(g.IncludeTargets), ExcludeTargets: targets(g.ExcludeTargets),
		MinimumLifetimeInMinutes: g.MinimumLifetimeInMinutes, MaximumLifetimeInMinutes: g.MaximumLifetimeInMinutes,
		DefaultLifetimeInMinutes: g.DefaultLifetimeInMinutes, IsUsableOnce: g.IsUsableOnce, DefaultLength: g.DefaultLength}
	if p.DefaultLength == 0 {
		p.DefaultLength = tap.MinPassLength
	}
	return p
}

// TAPPolicy reads the tenant's policy, every time: an admin's change in
// Entra applies at once.
func (d *Directory) TAPPolicy(ctx context.Context) (tap.Policy, error) {
	p, res, err := d.g.TAPPolicy(ctx)
	if err != nil {
		return tap.Policy{}, failure("read the Temporary Access Pass policy", res, err)
	}
	return TAPPolicyOf(p), nil
}

// FIDO2Policy reads the tenant's policy. Entra verifies attestation itself
// with its own roots, and takes packed or none attestation only.
//
// In a tenant with passkey profiles, the deprecated top-level
// isAttestationEnforced and keyRestrictions no longer decide: for a
// person (upn given), tapd reads their groups and keeps the profiles of
// every include target they are in (a target that lists none allows the
// default profile); an exclude target that holds them leaves none. A key
// is then acceptable when one of those profiles accepts it. That union is
// our reading of "allowedPasskeyProfiles: list of passkey profiles scoped
// to the targets"; `tapd entra-check` shows what a tenant holds.
func (d *Directory) FIDO2Policy(ctx context.Context, upn string) (directory.FIDO2Policy, error) {
	p, res, err := d.g.FIDO2Policy(ctx)
	if err != nil {
		return directory.FIDO2Policy{}, failure("read the FIDO2 policy", res, err)
	}
	self := p.IsSelfServiceRegistrationAllowed
	out := directory.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictions: restrictionsOf(p.KeyRestrictions), SelfServiceSetup: &self,
		AcceptedFormats: []string{"packed", "none"}, JudgesAttestation: true}
	if len(p.PasskeyProfiles) == 0 {
		return out, nil
	}
	out.ProfilesInUse, out.DefaultProfile = true, p.DefaultPasskeyProfile
	for _, t := range p.IncludeTargets {
		out.Targets = append(out.Targets, directory.ProfileTarget{TargetType: t.TargetType, ID: t.ID, Profiles: t.AllowedPasskeyProfiles})
	}
	all := profilesOf(p)
	if upn == "" {
		out.Profiles = all
		return out, nil
	}
	groups, err := d.groups(ctx, upn)
	if err != nil {
		return directory.FIDO2Policy{}, err
	}
	out.Profiles = profilesFor(p, groups, all)
	return out, nil
}

// profilesOf is the tenant's passkey profiles in tapd's terms.
func profilesOf(p graph.FIDO2Policy) []directory.PasskeyProfile {
	all := []directory.PasskeyProfile{}
	for _, gp := range p.PasskeyProfiles {
		pp := directory.PasskeyProfile{ID: gp.ID, Name: gp.Name, AttestationEnforcement: gp.AttestationEnforcement,
			KeyRestrictions: restrictionsOf(gp.KeyRestrictions), PasskeyTypes: []string{}}
		for _, t := range strings.Split(gp.PasskeyTypes, ",") {
			if t = strings.TrimSpace(t); t != "" {
				pp.PasskeyTypes = append(pp.PasskeyTypes, t)
			}
		}
		all = append(all, pp)
	}
	return all
}

// profilesFor picks the profiles a person in groups may use.
func profilesFor(p graph.FIDO2Policy, groups []string, all []directory.PasskeyProfile) []directory.PasskeyProfile {
	in := func(id string) bool { return id == "all_users" || slices.Contains(groups, id) }
	for _, t := range p.ExcludeTargets {
		if in(t.ID) {
			return []directory.PasskeyProfile{}
		}
	}
	allowed := map[string]bool{}
	for _, t := range p.IncludeTargets {
		if !in(t.ID) {
			continue
		}
		if len(t.AllowedPasskeyProfiles) == 0 {
			allowed[strings.ToLower(p.DefaultPasskeyProfile)] = true
		}
		for _, id := range t.AllowedPasskeyProfiles {
			allowed[strings.ToLower(id)] = true
		}
	}
	out := []directory.PasskeyProfile{}
	for _, pp := range all {
		if allowed[strings.ToLower(pp.ID)] {
			out = append(out, pp)
		}
	}
	return out
}

func restrictionsOf(k graph.KeyRestrictions) directory.KeyRestrictions {
	kr := directory.KeyRestrictions(k)
	if kr.AAGUIDs == nil {
		kr.AAGUIDs = []string{}
	}
	return kr
}

// ---- passes ----

func passOf(g graph.TAPMethod) directory.Pass {
	return directory.Pass{ID: g.ID, CreatedAt: g.CreatedDateTime, StartAt: startOf(g.StartDateTime, g.CreatedDateTime), LifetimeMinutes: g.LifetimeInMinutes,
		IsUsableOnce: g.IsUsableOnce, IsUsable: g.IsUsable, Reason: g.MethodUsabilityReason}
}

// startOf is a pass's start. startDateTime is optional on create ("If not
// specified, the Temporary Access Pass is available to use immediately
// after it's created", authentication-post-temporaryaccesspassmethods.md)
// and the docs do not promise it in the answer, so a pass without one
// starts when it was created: the zero time would have made it start in
// year 1 and expire at once.
func startOf(start, created time.Time) time.Time {
	if start.IsZero() {
		return created
	}
	return start
}

// CreatePass creates the pass in Entra, which replaces any pass the
// person had there, and keeps its hash under Entra's method id. The answer
// is Entra's own, so isUsable is Entra's verdict. When the hash cannot be
// kept the Entra pass is deleted again, so no pass exists that the kiosk
// cannot check, and the audit trail says so either way.
//
// The start is sent only when the admin gave one: "now" is Entra's to
// decide, so a clock behind Entra's cannot make a start in the past.
func (d *Directory) CreatePass(ctx context.Context, u directory.User, req directory.PassRequest) (directory.NewPass, error) {
	body := graph.CreateTAP{LifetimeInMinutes: &req.LifetimeMinutes, IsUsableOnce: &req.IsUsableOnce}
	if req.StartGiven {
		start := req.Start
		body.StartDateTime = &start
	}
	gp, res, err := d.g.CreateTAP(ctx, u.UPN, body)
	if err != nil {
		f := writeFailed("create the pass", res, err, nil)
		if graphMessage(err) == api.ExternalGuestMessage {
			f.Err = api.E(api.CodeExternalGuest, "%s", api.ExternalGuestMessage).Because(err)
		}
		return directory.NewPass{}, f
	}
	if gp.TemporaryAccessPass == nil || *gp.TemporaryAccessPass == "" {
		return directory.NewPass{}, &directory.Failed{Result: store.AuditFailure, Reason: "noValueFromDirectory",
			Trace: trace(directory.Trace{"passId": gp.ID}, res),
			Err:   api.E(api.CodeDirectoryError, "Microsoft Entra ID created pass %s but did not return its value; delete it in Entra and try again.", gp.ID)}
	}
	if gp.CreatedDateTime.IsZero() {
		gp.CreatedDateTime = d.now()
	}
	if gp.StartDateTime.IsZero() && req.StartGiven {
		gp.StartDateTime = req.Start // what tapd asked for, when Entra does not repeat it
	}
	out := directory.NewPass{Pass: passOf(gp), Value: *gp.TemporaryAccessPass, Trace: trace(nil, res)}
	p := store.Pass{ID: gp.ID, UPN: u.UPN, CreatedAt: out.CreatedAt.UTC().Truncate(time.Millisecond), StartAt: out.StartAt.UTC().Truncate(time.Millisecond),
		LifetimeMinutes: gp.LifetimeInMinutes, IsUsableOnce: gp.IsUsableOnce, CreatedBy: req.CreatedBy}
	p.Hash, err = tap.HashPass(out.Value, d.argon2)
	if err == nil {
		err = d.mirror(ctx, u)
	}
	if err == nil {
		out.Replaced, err = d.st.ReplacePass(ctx, p)
	}
	if err == nil {
		return out, nil
	}
	// Undo in Entra so that no pass exists which nobody can use here.
	dres, derr := d.g.DeleteMethod(ctx, u.UPN, directory.KindTAP, gp.ID)
	t := trace(directory.Trace{"passId": gp.ID, "createRequestId": res.RequestID}, dres)
	if derr != nil {
		t["undo"] = "failed"
		return directory.NewPass{}, &directory.Failed{Result: store.AuditFailure, Reason: "savedInEntraOnly", Trace: t,
			Err: api.E(api.CodeInternal, "tapd created pass %s in Entra but could not keep its check value, and could not delete it again: delete it in the Entra admin centre.", gp.ID).Because(errors.Join(err, derr))}
	}
	t["undo"] = "deleted"
	return directory.NewPass{}, &directory.Failed{Result: store.AuditFailure, Reason: "notSaved", Trace: t, Err: err}
}

// mirror makes sure the person has a local row for passes and sessions to
// refer to.
func (d *Directory) mirror(ctx context.Context, u directory.User) error {
	err := d.st.CreateUser(ctx, store.User{UPN: u.UPN, DisplayName: u.DisplayName, UserType: u.UserType, GuestKind: u.GuestKind, CreatedAt: d.now().UTC()})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil
	}
	return err
}

// Passes lists the person's pass as Entra reports it.
func (d *Directory) Passes(ctx context.Context, u directory.User) ([]directory.Pass, error) {
	ps, res, err := d.g.ListTAP(ctx, u.UPN)
	if err != nil {
		return nil, failure("list the passes", res, err)
	}
	out := []directory.Pass{}
	for _, p := range ps {
		out = append(out, passOf(p))
	}
	return out, nil
}

// ErrPassGone is a pass Entra no longer has: deleted, or replaced by a
// pass made elsewhere.
var ErrPassGone = api.E(api.CodePassDeleted, "This pass was deleted or replaced in Microsoft Entra ID. Ask IT for a new one.")

// JudgePass asks Entra about the pass (its isUsable and reason), the
// tenant's policy and the person's groups for its targets. A pass Entra
// no longer has is forgotten here too.
func (d *Directory) JudgePass(ctx context.Context, p store.Pass) (directory.Judgement, error) {
	var j directory.Judgement
	ps, res, err := d.g.ListTAP(ctx, p.UPN)
	if err != nil && status(err) != http.StatusNotFound {
		return j, failure("check the pass", res, err)
	}
	found := false
	for _, gp := range ps {
		if gp.ID == p.ID {
			found = true
			if !gp.IsUsable {
				j.Reason = gp.MethodUsabilityReason
			}
		}
	}
	if !found {
		if derr := d.st.DeletePass(ctx, p.UPN, p.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			d.log.Warn("stale pass not deleted", "pass_id", p.ID, "err", derr)
		}
		return j, ErrPassGone
	}
	if j.Policy, err = d.TAPPolicy(ctx); err != nil {
		return j, err
	}
	j.Member.UPN = p.UPN
	j.Member.Groups, err = d.groups(ctx, p.UPN)
	return j, err
}

// HasPassElsewhere reports whether Entra holds a pass for upn: when tapd
// has no hash for it, it was made elsewhere and the kiosk cannot check it.
func (d *Directory) HasPassElsewhere(ctx context.Context, upn string) bool {
	ps, _, err := d.g.ListTAP(ctx, upn)
	return err == nil && len(ps) > 0
}

// DeletePass deletes a pass in Entra, then here (which ends its sessions).
// A pass already gone from Entra is deleted here all the same; one in
// neither place is store.ErrNotFound.
func (d *Directory) DeletePass(ctx context.Context, upn, id string) (directory.Trace, error) {
	res, err := d.g.DeleteMethod(ctx, upn, directory.KindTAP, id)
	t := trace(nil, res)
	if err != nil && status(err) != http.StatusNotFound {
		return t, writeFailed("delete the pass", res, err, t)
	}
	goneThere := err != nil
	if goneThere {
		t["inEntra"] = "alreadyGone"
	}
	switch lerr := d.st.DeletePass(ctx, upn, id); {
	case errors.Is(lerr, store.ErrNotFound) && goneThere:
		return t, lerr // in neither place: there is no such pass
	case lerr != nil && !errors.Is(lerr, store.ErrNotFound):
		return t, &directory.Failed{Result: store.AuditFailure, Reason: "deletedInEntraOnly", Trace: t, Err: lerr}
	}
	return t, nil
}

// ---- methods ----

// Methods lists the person's methods from Entra, the password left out.
// Every method gets a name a person recognises (see methodName) and the
// creation time Graph gives, or none.
func (d *Directory) Methods(ctx context.Context, upn string) ([]directory.Method, error) {
	ms, res, err := d.g.Methods(ctx, upn)
	if err != nil {
		return nil, failure("list the sign-in methods", res, err)
	}
	out := []directory.Method{}
	for _, m := range ms {
		kind := m.Kind()
		if kind == "" || kind == "password" {
			continue
		}
		created := m.CreatedDateTime
		if created.IsZero() {
			created = m.CreationDateTime
		}
		dm := directory.Method{Kind: kind, ID: m.ID, DisplayName: methodName(kind, m), CreatedAt: created, PhoneType: m.PhoneType,
			AAGUID: m.AAGUID, Model: m.Model, AttestationLevel: m.AttestationLevel}
		if kind == directory.KindTAP {
			dm.Pass = &directory.Pass{ID: m.ID, CreatedAt: m.CreatedDateTime, StartAt: startOf(m.StartDateTime, m.CreatedDateTime), LifetimeMinutes: m.LifetimeInMinutes,
				IsUsableOnce: m.IsUsableOnce, IsUsable: m.IsUsable, Reason: m.MethodUsabilityReason}
		}
		out = append(out, dm)
	}
	return out, nil
}

// methodName names a method for the person at the kiosk. Graph names only
// some kinds (keys, Authenticator and Windows Hello devices); the others
// are named by what identifies them: the email address, the phone number
// masked to its country code and last two digits (enough to tell one's
// own phones apart, too little to read a stranger's number off the
// screen), or the kind in words.
func methodName(kind string, m graph.Method) string {
	if name := strings.TrimSpace(m.DisplayName); name != "" {
		return name
	}
	switch kind {
	case "email":
		if m.EmailAddress != "" {
			return m.EmailAddress
		}
		return "Email address"
	case "phone":
		if m.PhoneNumber != "" {
			return MaskPhone(m.PhoneNumber)
		}
		return "Phone"
	case "fido2":
		if m.Model != "" {
			return m.Model
		}
		return "Security key"
	}
	if name, ok := kindNames[kind]; ok {
		return name
	}
	return kind
}

// kindNames are the names of the kinds Graph gives no name of their own.
var kindNames = map[string]string{
	"microsoftAuthenticator":  "Microsoft Authenticator",
	"softwareOath":            "Authenticator app",
	"hardwareOath":            "OATH token",
	"windowsHelloForBusiness": "Windows Hello for Business",
	"platformCredential":      "Platform credential",
	"temporaryAccessPass":     "Temporary Access Pass",
	"qrCodePin":               "QR code",
}

// MaskPhone keeps a phone number's country code ("+46", when the number
// starts with + and a space follows it) and its last two digits, and
// replaces every other digit with •, keeping the spacing.
func MaskPhone(n string) string {
	n = strings.TrimSpace(n)
	keepFrom := 0
	if strings.HasPrefix(n, "+") {
		if i := strings.IndexByte(n, ' '); i > 0 {
			keepFrom = i
		}
	}
	digits := 0
	for _, r := range n {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	seen := 0
	for i, r := range n {
		if r >= '0' && r <= '9' {
			seen++
			if i >= keepFrom && seen <= digits-2 {
				r = '•'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DeleteMethod deletes one method in Entra by its kind, then tapd's own
// record of it, if any (kept for the key check).
func (d *Directory) DeleteMethod(ctx context.Context, upn string, m directory.Method) (directory.Trace, error) {
	res, err := d.g.DeleteMethod(ctx, upn, m.Kind, m.ID)
	t := trace(nil, res)
	if err != nil && status(err) != http.StatusNotFound {
		f := writeFailed("remove the method", res, err, t)
		if m.Kind == "phone" && refused(err) {
			f.Reason, f.Err = d.phoneRefusal(ctx, upn, m, err)
		}
		return t, f
	}
	if err := d.st.DeleteMethod(ctx, upn, m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		d.log.Warn("local key record not deleted", "method_id", m.ID, "err", err)
	}
	return t, nil
}

// refused tells a refusal of the request itself (400, 409, 422, ...)
// from a missing permission, a missing method, throttling or an outage.
func refused(err error) bool {
	switch st := status(err); st {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests:
		return false
	default:
		return st >= 400 && st < 500
	}
}

// ErrPhoneIsDefault and ErrMobileHasAlternate are Entra's two documented
// refusals to delete a phone (phoneauthenticationmethod-delete.md).
var (
	ErrPhoneIsDefault = api.E(api.CodePhoneIsDefaultMethod,
		"This phone is your default way to confirm sign-ins, and Microsoft Entra ID does not remove a default method. Ask IT to make another method your default, then remove the phone.")
	ErrMobileHasAlternate = api.E(api.CodeMobileHasAlternate,
		"Microsoft Entra ID does not remove a mobile phone while an alternate mobile phone is registered. Remove the alternate mobile phone first, then this one.")
)

// phoneRefusal says which documented rule Graph applied when it refused
// to delete a phone: a mobile phone while an alternate mobile exists (tapd
// can see that in the list), else the phone being the default MFA method,
// which v1.0 does not show (Graph's own words go to the log).
func (d *Directory) phoneRefusal(ctx context.Context, upn string, m directory.Method, err error) (string, error) {
	if m.PhoneType == "mobile" {
		if ms, _, lerr := d.g.Methods(ctx, upn); lerr == nil {
			for _, x := range ms {
				if x.Kind() == "phone" && x.PhoneType == "alternateMobile" {
					return "mobileHasAlternate", ErrMobileHasAlternate.Because(err)
				}
			}
		}
	}
	return "phoneIsDefaultMethod", ErrPhoneIsDefault.Because(err)
}

// ---- registration ----

// ErrSelfServiceOff is Entra refusing self-service key registration.
var ErrSelfServiceOff = api.E(api.CodeSelfServiceSetupOff,
	`Security keys cannot be registered here yet: "Allow self-service setup" is off in your organisation's FIDO2 policy. Ask IT.`)

// selfServiceOff tells whether the tenant's FIDO2 policy has "Allow
// self-service setup" off, which is what a 403 from the provisioning API
// usually means; otherwise the 403 is a missing permission.
func (d *Directory) selfServiceOff(ctx context.Context) bool {
	p, err := d.FIDO2Policy(ctx, "")
	return err == nil && p.SelfServiceSetup != nil && !*p.SelfServiceSetup
}

// BeginRegistration fetches creation options from Entra, right when the
// kiosk is ready to touch (the challenge lives five minutes), and keeps
// what tapd needs to check the answer before sending it on: the challenge,
// Entra's rp id (the origin is https:// + rp id) and Entra's user handle.
func (d *Directory) BeginRegistration(ctx context.Context, upn string) (directory.Registration, error) {
	if !d.cloud.Registration {
		return directory.Registration{}, &directory.Failed{Result: store.AuditFailure, Reason: "registrationUnavailable",
			Err: api.E(api.CodeRegistrationUnavailable, "%s", d.cloud.NoRegistration())}
	}
	who, res, err := d.person(ctx, upn)
	if err != nil {
		return directory.Registration{}, err
	}
	o, res, err := d.g.CreationOptions(ctx, who.ID)
	if err != nil {
		if status(err) == http.StatusForbidden && d.selfServiceOff(ctx) {
			return directory.Registration{}, &directory.Failed{Result: store.AuditFailure, Reason: "selfServiceSetupOff", Trace: trace(nil, res), Err: ErrSelfServiceOff}
		}
		return directory.Registration{}, failure("start the key registration", res, err)
	}
	pk := o.PublicKey
	// Entra's documented options ask for authenticatorAttachment
	// "platform" (a passkey in the device itself). The kiosk's
	// authenticator is always a USB security key, which a browser would
	// skip for "platform"; Entra verifies the attestation, not the
	// attachment, so the hint is dropped on purpose rather than passed on
	// to a client that cannot honour it.
	if pk.AuthenticatorSelection.AuthenticatorAttachment == protocol.Platform {
		pk.AuthenticatorSelection.AuthenticatorAttachment = ""
	}
	handle, _ := pk.User.ID.(protocol.URLEncodedBase64) // graph.Client decoded and checked it
	uv := protocol.VerificationRequired
	if pk.AuthenticatorSelection.UserVerification != "" {
		uv = pk.AuthenticatorSelection.UserVerification
	}
	sd := webauthn.SessionData{Challenge: pk.Challenge.String(), RelyingPartyID: pk.RelyingParty.ID, Origin: "https://" + pk.RelyingParty.ID,
		UserID: handle, UserVerification: uv, CredParams: pk.Parameters, Extensions: pk.Extensions.Session()}
	return directory.Registration{Options: pk, Session: sd, Expires: o.ChallengeTimeoutDateTime, Trace: trace(nil, res)}, nil
}

// AddKey sends a response tapd has already verified on to Entra, then
// keeps a local record of the key for the key check. A refusal from Entra
// becomes a clear kiosk message; Graph's own words go only to the log.
//
// The local record refers to a local user row. A person who got a pass
// through tapd has one; a person whose key IT stages has not (yet), so
// the person is looked up first and mirrored with the key: without the
// row the record cannot be kept and the key check would not find the key.
func (d *Directory) AddKey(ctx context.Context, k directory.NewKey) (store.Method, directory.Trace, error) {
	m := k.Method
	who, res, err := d.person(ctx, m.UPN)
	if err != nil {
		return m, trace(nil, res), err
	}
	gm, res, err := d.g.RegisterFIDO2(ctx, who.ID, graph.RegisterFIDO2{DisplayName: m.DisplayName, PublicKeyCredential: k.Credential})
	t := trace(nil, res)
	if err != nil {
		f := writeFailed("register the key", res, err, t)
		switch st := status(err); {
		case st == http.StatusConflict:
			f.Reason, f.Err = "alreadyRegistered", directory.ErrAlreadyRegistered
		case st == http.StatusForbidden && d.selfServiceOff(ctx):
			f.Reason, f.Err = "selfServiceSetupOff", ErrSelfServiceOff
		case st == http.StatusBadRequest:
			f.Err = api.E(api.CodeRegistrationRejected,
				"Microsoft Entra ID refused this key. Ask IT to check the FIDO2 policy (key restrictions, attestation). Graph request id %s.", res.RequestID).Because(err)
		}
		return m, t, f
	}
	m.ID, m.DisplayName, m.CreatedAt = gm.ID, gm.DisplayName, gm.CreatedDateTime.UTC().Truncate(time.Millisecond)
	if gm.AttestationLevel != "" {
		m.AttestationLevel = gm.AttestationLevel
	}
	if gm.Model != "" {
		m.Model = gm.Model
	}
	err = d.mirror(ctx, userOf(who))
	if err == nil {
		err = d.st.CreateMethod(ctx, m)
	}
	if err != nil {
		// The key is in Entra, which is what matters; only the key check
		// will not find it.
		d.log.Error("local key record not kept", "method_id", m.ID, "err", err)
		t["localRecord"] = "notKept"
	}
	return m, t, nil
}
