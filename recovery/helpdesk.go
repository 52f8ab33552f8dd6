package recovery

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// NewConsoleRelyingParty is the helpdesk console's relying party: its rp
// id is the console's own host name, so staff passkeys never sign in at a
// kiosk and kiosk keys never sign in to the console; the origin is the
// console's URL exactly (scheme, host and port).
func NewConsoleRelyingParty(origin, rpName string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("the console URL must be https://HOST[:PORT], without a path")
	}
	if rpName == "" {
		rpName = DefaultRPName + " helpdesk"
	}
	return webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: rpName, RPOrigins: []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation})
}

// ApprovalLife is how long a four-eyes request waits for its approval and
// then for its pass.
const ApprovalLife = time.Hour

// Person is what the console shows of someone: who they are, their
// methods, their lock, their last kiosk activity, their staging rows.
type Person struct {
	User    api.User
	Methods []api.AuthenticationMethod
	// Locked, LockedUntil and Failures are the account's pass sign-in
	// lock; LockKiosk and LockAddr name where the guess that started it
	// came from, when the audit recorded it.
	Locked      bool
	LockedUntil time.Time
	Failures    int
	LockKiosk   string
	LockAddr    string
	// Activity is the person's latest audit entries made by kiosks.
	Activity []api.AuditEntry
	Staging  []store.StagingRow
	// NeedsApproval is set when a pass for them needs a second staff
	// member (they hold an admin role, or the directory cannot tell).
	NeedsApproval bool
}

// FindPeople finds people by UPN (exactly) or by the start of their
// display name (in directories that can list people: tapd's own).
func (s *Service) FindPeople(ctx context.Context, c *Caller, q string) ([]api.User, error) {
	if err := s.Authorize(ctx, c, PermRead); err != nil {
		return nil, err
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return []api.User{}, nil
	}
	if strings.Contains(q, "@") {
		u, err := s.user(ctx, q)
		if isCode(err, api.CodeUserNotFound) {
			return []api.User{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []api.User{UserOut(u)}, nil
	}
	ua, err := userAdmin(s.dir)
	if err != nil {
		return nil, api.Invalid("q", "With the Entra directory, search by the full userPrincipalName (name@domain).")
	}
	all, err := ua.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.User{}
	lq := strings.ToLower(q)
	for _, u := range all {
		if strings.HasPrefix(strings.ToLower(u.DisplayName), lq) || strings.HasPrefix(strings.ToLower(u.UPN), lq) {
			out = append(out, storedUserOut(u))
		}
		if len(out) == 50 {
			break
		}
	}
	return out, nil
}

// needsApproval: a pass for someone who holds an admin role, or whose
// roles the directory cannot show, needs a second staff member.
func needsApproval(u directory.User) bool { return !u.RolesKnown || u.AdminRole != "" }

// Person gathers what the console shows of one person.
func (s *Service) Person(ctx context.Context, c *Caller, rawUPN string) (Person, error) {
	if err := s.Authorize(ctx, c, PermRead); err != nil {
		return Person{}, err
	}
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return Person{}, err
	}
	p := Person{User: UserOut(u), NeedsApproval: needsApproval(u)}
	if p.Methods, err = s.methods(ctx, u.UPN, ""); err != nil {
		return Person{}, err
	}
	// The account's locks at every kiosk and across them (see lockout.go):
	// the latest running one, and who started it.
	mine, err := accountThrottles(ctx, s.st, u.UPN)
	if err != nil {
		return Person{}, err
	}
	var causes []api.LockCause
	p.LockedUntil, p.Failures, causes = lockState(mine, s.now())
	p.Locked = !p.LockedUntil.IsZero()
	if len(causes) > 0 {
		p.LockKiosk, p.LockAddr = causes[0].Kiosk, causes[0].ClientAddress
	}
	entries, err := s.st.ListAudit(ctx, store.AuditFilter{Target: tap.UPNKey(u.UPN), Limit: 200})
	if err != nil {
		return Person{}, err
	}
	for _, e := range entries {
		if e.ActorType != "kiosk" {
			continue
		}
		if len(p.Activity) < 10 {
			p.Activity = append(p.Activity, AuditOut(e))
		}
	}
	if p.Staging, err = s.st.ActiveStagingRows(ctx, u.UPN); err != nil {
		return Person{}, err
	}
	return p, nil
}

// checkVerified refuses unless every item of the organisation's
// checklist was ticked, and returns the audit detail naming them.
func (s *Service) checkVerified(ticked []string) (string, error) {
	for _, item := range s.cfg.Checklist {
		if !slices.Contains(ticked, item) {
			return "", api.Invalid("verification", "Check and tick every item of the verification checklist first (missing: %s).", item)
		}
	}
	return strings.Join(s.cfg.Checklist, "; "), nil
}

// Checklist is the organisation's verification checklist.
func (s *Service) Checklist() []string { return slices.Clone(s.cfg.Checklist) }

// IssueVerifiedPass is the console's pass: the checklist must be ticked,
// and is recorded in the pass's audit entry. A person who needs a second
// staff member's approval gets RequestPass instead.
func (s *Service) IssueVerifiedPass(ctx context.Context, c *Caller, rawUPN string, req api.CreatePassRequest, ticked []string) (api.TemporaryAccessPassMethod, error) {
	if err := s.Authorize(ctx, c, PermPassesWrite); err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	verified, err := s.checkVerified(ticked)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	if needsApproval(u) {
		return api.TemporaryAccessPassMethod{}, s.refuse(ctx, c, api.ActionCreatePass, tap.UPNKey(u.UPN), "approvalRequired",
			api.E(api.CodeForbidden, "%s may hold an admin role: a pass for them needs a second staff member's approval. Ask for one instead.", u.UPN), nil)
	}
	return s.createPass(ctx, c, u.UPN, req, map[string]string{"verification": verified})
}

// RequestPass asks for a pass that a second staff member must approve.
func (s *Service) RequestPass(ctx context.Context, c *Caller, rawUPN string, req api.CreatePassRequest, ticked []string) (string, error) {
	if err := s.Authorize(ctx, c, PermPassesWrite); err != nil {
		return "", err
	}
	verified, err := s.checkVerified(ticked)
	if err != nil {
		return "", err
	}
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return "", err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return "", err
	}
	pol, err := s.dir.TAPPolicy(ctx)
	if err != nil {
		return "", err
	}
	// Checked now, so an approver never approves what cannot be issued.
	st, err := tap.ResolvePass(pol, tap.PassRequest{LifetimeMinutes: req.LifetimeInMinutes, IsUsableOnce: req.IsUsableOnce}, s.now().UTC())
	if err != nil {
		return "", fieldError(err)
	}
	now := ms(s.now())
	a := store.PassApproval{ID: uuid.NewString(), UPN: u.UPN, RequestedBy: c.StaffID, RequestedAt: now, Checklist: s.cfg.Checklist,
		LifetimeMinutes: st.LifetimeMinutes, IsUsableOnce: st.IsUsableOnce, ExpiresAt: now.Add(ApprovalLife)}
	err = s.inStore(ctx, func(un unit) error {
		if err := un.st.CreatePassApproval(ctx, a); err != nil {
			return err
		}
		return s.done(ctx, c, un, api.ActionRequestPass, tap.UPNKey(u.UPN), map[string]string{"approvalId": a.ID, "verification": verified,
			"lifetimeInMinutes": strconv.Itoa(a.LifetimeMinutes), "isUsableOnce": strconv.FormatBool(a.IsUsableOnce)})
	})
	return a.ID, err
}

// Approval is a four-eyes request as the console lists it.
type Approval struct {
	store.PassApproval
	RequestedByName, ApprovedByName string
}

// Approvals lists the requests waiting for an approval or for their pass.
func (s *Service) Approvals(ctx context.Context, c *Caller) ([]Approval, error) {
	if err := s.Authorize(ctx, c, PermPassesWrite); err != nil {
		return nil, err
	}
	as, err := s.st.ListPassApprovals(ctx, s.now())
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	name := func(id string) string {
		if id == "" {
			return ""
		}
		if n, ok := names[id]; ok {
			return n
		}
		st, err := s.st.GetStaff(ctx, id)
		if err == nil {
			names[id] = st.Name
		}
		return names[id]
	}
	out := []Approval{}
	for _, a := range as {
		out = append(out, Approval{PassApproval: a, RequestedByName: name(a.RequestedBy), ApprovedByName: name(a.ApprovedBy)})
	}
	return out, nil
}

// ApprovePass is the second staff member's approval: never the asker's.
func (s *Service) ApprovePass(ctx context.Context, c *Caller, id string) error {
	if err := s.Authorize(ctx, c, PermPassesWrite); err != nil {
		return err
	}
	a, err := s.st.GetPassApproval(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("No request with id %q.", id)
	}
	if err != nil {
		return err
	}
	target := tap.UPNKey(a.UPN)
	if a.RequestedBy == c.StaffID {
		return s.refuse(ctx, c, api.ActionApprovePass, target, "ownRequest",
			api.E(api.CodeForbidden, "You asked for this pass; a second staff member must approve it."), map[string]string{"approvalId": id})
	}
	u, err := s.user(ctx, a.UPN)
	if err != nil {
		return err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return err
	}
	err = s.inStore(ctx, func(un unit) error {
		if err := un.st.ApprovePassApproval(ctx, id, c.StaffID, ms(s.now())); err != nil {
			return err
		}
		return s.done(ctx, c, un, api.ActionApprovePass, target, map[string]string{"approvalId": id, "requestedBy": a.RequestedBy})
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.Conflict(api.CodeAlreadyExists, "This request was approved already, or has expired.")
	}
	return err
}

// IssueApprovedPass issues the pass of an approved request, once, to the
// staff member who asked for it; the pass's audit entry names both.
func (s *Service) IssueApprovedPass(ctx context.Context, c *Caller, id string) (api.TemporaryAccessPassMethod, error) {
	if err := s.Authorize(ctx, c, PermPassesWrite); err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	a, err := s.st.GetPassApproval(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.RequestedBy != c.StaffID {
		return api.TemporaryAccessPassMethod{}, api.NotFound("You have no request with id %q.", id)
	}
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	// Used first: of two clicks one issues a pass. A pass that then fails
	// leaves the request used; ask again.
	if err := s.st.UsePassApproval(ctx, id, ms(s.now())); errors.Is(err, store.ErrNotFound) {
		return api.TemporaryAccessPassMethod{}, api.Conflict(api.CodeForbidden, "This request is not approved yet, was issued already, or has expired.")
	} else if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	approver, err := s.st.GetStaff(ctx, a.ApprovedBy)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	once, life := a.IsUsableOnce, a.LifetimeMinutes
	return s.createPass(ctx, c, a.UPN, api.CreatePassRequest{LifetimeInMinutes: &life, IsUsableOnce: &once},
		map[string]string{"verification": strings.Join(a.Checklist, "; "), "approvalId": id, "approvedBy": approver.Name})
}
