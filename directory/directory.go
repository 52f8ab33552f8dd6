// Package directory is the seam between tapd's recovery rules and where
// people and their sign-in methods live. A Directory is chosen once, at
// wiring: directory/local keeps everything in tapd's own store with tapd as
// the WebAuthn relying party; directory/entra fronts Microsoft Entra ID
// through Microsoft Graph. Nothing above this package asks which one it
// has: what differs is either behind Directory's methods or an optional
// capability (UserAdmin, PolicyAdmin, ForeignPasses) that a back end has
// or has not.
//
// Every back end must pass directorytest.RunTests.
package directory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Directory is what every back end provides. Errors are client-safe
// *api.Error values (their cause attached for the log), store errors such
// as store.ErrNotFound where the method says so, or a *Failed for a write
// the audit trail must record.
type Directory interface {
	// ManagedBy names who manages users and policies when it is not tapd
	// itself ("entra"), or "" for tapd. Admin answers carry it.
	ManagedBy() string

	// User looks a person up, with the groups the policies' targets name
	// (names locally, object ids in Entra). An unknown person is a 404
	// userNotFound.
	User(ctx context.Context, upn string) (User, error)
	// GroupMembers finds a group and lists the people in it, by UPN, for
	// staging a batch from the group; whoever stages them looks each one
	// up as they would anyone named. group is a display name (compared
	// without case), or in Entra an object id as well; Entra counts the
	// members of nested groups too (its transitive members). An unknown
	// group is a 404 notFound, and a display name several groups share
	// a 400 invalidValue on "group".
	GroupMembers(ctx context.Context, group string) (Group, []string, error)
	// TAPPolicy is the Temporary Access Pass policy in force.
	TAPPolicy(ctx context.Context) (tap.Policy, error)
	// FIDO2Policy is the FIDO2 (security key) policy in force, with what the
	// back end itself requires of a key. upn "" is the tenant-wide view an
	// admin sees; a person's UPN gives the rules that apply to that person
	// when they register a key (in Entra, the passkey profiles their groups
	// allow). A directory with one set of rules for everyone gives the same
	// answer for both.
	FIDO2Policy(ctx context.Context, upn string) (FIDO2Policy, error)

	// CreatePass makes the person's pass, replacing any old one, and keeps
	// its Argon2id check value in tapd's store so the kiosk can check it.
	// The value is in the answer, once.
	CreatePass(ctx context.Context, u User, req PassRequest) (NewPass, error)
	// Passes lists the person's pass (zero or one) as the directory
	// reports it.
	Passes(ctx context.Context, u User) ([]Pass, error)
	// JudgePass gathers what decides whether a pass whose value was just
	// proved may sign in: the policy, the person's groups, and the
	// directory's own verdict. A pass the directory no longer has is a 403
	// passDeleted.
	JudgePass(ctx context.Context, p store.Pass) (Judgement, error)
	// DeletePass deletes the pass with that id, here and in the directory;
	// its sessions end. store.ErrNotFound when there is no such pass.
	DeletePass(ctx context.Context, upn, id string) (Trace, error)

	// Methods lists the person's methods, the pass included, the password
	// left out (nobody can remove it here).
	Methods(ctx context.Context, upn string) ([]Method, error)
	// DeleteMethod removes one method the caller has found with Methods.
	DeleteMethod(ctx context.Context, upn string, m Method) (Trace, error)

	// BeginRegistration gets creation options for a new security key.
	BeginRegistration(ctx context.Context, upn string) (Registration, error)
	// AddKey keeps a key whose registration tapd has verified and judged
	// against the key policy. The directory may rename or renumber it; the
	// method as kept is returned. A key already registered is a 409
	// alreadyRegistered.
	AddKey(ctx context.Context, k NewKey) (store.Method, Trace, error)
}

// UserAdmin is the capability to manage people in tapd itself. Only the
// local directory has it; elsewhere people are managed in the directory.
type UserAdmin interface {
	CreateUser(ctx context.Context, u store.User) error
	// CreateUsers adds all or none.
	CreateUsers(ctx context.Context, us []store.User) error
	ListUsers(ctx context.Context) ([]store.User, error)
	DeleteUser(ctx context.Context, upn string) error
}

// PolicyAdmin is the capability to change the two method policies in tapd.
type PolicyAdmin interface {
	PutTAPPolicy(ctx context.Context, p tap.Policy) error
	PutFIDO2Policy(ctx context.Context, p FIDO2Policy) error
}

// Transactional is for directories that keep everything in tapd's store:
// WithStore gives the same directory over st (a transaction), so that an
// action and its audit entry are written together.
type Transactional interface {
	WithStore(st store.Store) Directory
}

// MethodsInStore is for directories whose methods, the pass aside, are
// exactly the store's method rows (the local directory). Whether the
// person has other methods is then read with their session, in the one
// query a kiosk's poll costs (store.KioskSession.HasMethods), instead of
// listing every method on every poll.
type MethodsInStore interface {
	MethodsInStore()
}

// ForeignPasses is for directories where passes can be made outside tapd
// (the Entra admin centre): tapd has no check value for those, and says so
// instead of calling a right pass wrong.
type ForeignPasses interface {
	HasPassElsewhere(ctx context.Context, upn string) bool
}

// User is a person as the directory knows them.
type User struct {
	UPN         string
	DisplayName string
	UserType    string // "Member" or "Guest"
	GuestKind   string // "" for members; "internal" or "external"
	Groups      []string
	CreatedAt   time.Time
	// AdminRole is the admin role the person holds, if any. RolesKnown is
	// false where the directory cannot show roles (Entra, with tapd's
	// least-privileged permissions); the role rules then treat the person
	// as possibly privileged.
	AdminRole  string
	RolesKnown bool
}

// Group is a group as the directory names it: locally the name is the
// id, in Entra the id is the group's object id.
type Group struct {
	ID, DisplayName string
}

// ExternalGuest reports whether the person is a guest from outside the
// organisation, who cannot get a pass.
func (u User) ExternalGuest() bool { return u.UserType == "Guest" && u.GuestKind == "external" }

// Member is the person as the policy's targets see them.
func (u User) Member() tap.Member { return tap.Member{UPN: u.UPN, Groups: u.Groups} }

// PassRequest is a pass the rules have resolved. StartGiven says whether
// the admin named the start, or "now" is the directory's to decide.
type PassRequest struct {
	tap.PassState
	StartGiven bool
	CreatedBy  string
}

// Pass is a pass as the directory reports it, without its value.
type Pass struct {
	ID              string
	CreatedAt       time.Time
	StartAt         time.Time
	LifetimeMinutes int
	IsUsableOnce    bool
	IsUsable        bool
	// Reason is Graph's methodUsabilityReason.
	Reason string
}

// NewPass is a pass just made: its value (shown once), the pass it
// replaced, if any, and what the audit trail should know.
type NewPass struct {
	Pass
	Value    string
	Replaced string
	Trace    Trace
}

// Judgement is what decides whether a proved pass may sign in.
type Judgement struct {
	Policy tap.Policy
	Member tap.Member
	// Reason is the directory's own methodUsabilityReason when it holds
	// the pass unusable; "" leaves the verdict to tapd's rules.
	Reason string
}

// Method is one of a person's authentication methods. Kind is Graph's
// path name for it (fido2, phone, temporaryAccessPass, ...). CreatedAt is
// zero where the directory does not say when it was added (Graph gives no
// time for phones, email and OATH apps).
type Method struct {
	Kind        string
	ID          string
	DisplayName string
	CreatedAt   time.Time
	// phone: mobile, alternateMobile or office
	PhoneType string
	// fido2
	AAGUID           string
	Model            string
	AttestationLevel string
	LastUsedAt       *time.Time
	// temporaryAccessPass
	Pass *Pass
}

// FIDO2Policy is the security key policy, with Graph's names.
//
// Two shapes: the legacy one, where IsAttestationEnforced and
// KeyRestrictions apply to everyone, and passkey profiles (Entra's v1.0
// passkeyProfiles), where ProfilesInUse is true, the legacy fields are
// only shown, and a key is acceptable when one of Profiles accepts it.
// In the tenant-wide view Profiles are all the tenant's, with Targets
// saying which groups may use which; in a person's view Profiles are the
// ones that person's groups allow (none: the policy does not include them).
type FIDO2Policy struct {
	IsAttestationEnforced bool
	KeyRestrictions       KeyRestrictions
	ProfilesInUse         bool
	Profiles              []PasskeyProfile
	DefaultProfile        string
	Targets               []ProfileTarget
	// SelfServiceSetup is Entra's "Allow self-service setup"; nil where
	// the directory has no such switch.
	SelfServiceSetup *bool
	// AcceptedFormats are the attestation formats the directory takes;
	// nil takes every format go-webauthn verifies.
	AcceptedFormats []string
	// JudgesAttestation means the directory verifies attestation itself
	// with its own roots, so tapd's trust roots do not apply.
	JudgesAttestation bool
}

// PasskeyProfile is one of Entra's passkey profiles: what attestation
// it enforces ("disabled" or "registrationOnly"), which key models it
// allows or blocks, and which kinds of passkey it is for (PasskeyTypes
// holds "deviceBound" and/or "synced").
type PasskeyProfile struct {
	ID                     string
	Name                   string
	AttestationEnforcement string
	KeyRestrictions        KeyRestrictions
	PasskeyTypes           []string
}

// ProfileTarget is an include target of the policy with the profiles its
// members may use; none listed means the default profile.
type ProfileTarget struct {
	TargetType string
	ID         string
	Profiles   []string
}

// KeyRestrictions allows or blocks key models by AAGUID.
type KeyRestrictions struct {
	IsEnforced      bool
	EnforcementType string // "allow" or "block"
	AAGUIDs         []string
}

// Allows says whether the restrictions let a key model (its AAGUID) in.
func (k KeyRestrictions) Allows(aaguid string) bool {
	if !k.IsEnforced {
		return true
	}
	return (k.EnforcementType == "allow") == slices.ContainsFunc(k.AAGUIDs, func(a string) bool { return strings.EqualFold(a, aaguid) })
}

// Registration is a registration begun in the directory: the options for
// the key and the state tapd needs to check the answer. Expires, when
// set, is the directory's own deadline for the challenge.
type Registration struct {
	Options protocol.PublicKeyCredentialCreationOptions
	Session webauthn.SessionData
	Expires time.Time
	Trace   Trace
}

// NewKey is a verified key to keep: the method record tapd built and the
// key's answer as the kiosk sent it (the directory may need to pass it on).
type NewKey struct {
	Method     store.Method
	Credential json.RawMessage
}

// Trace is what a directory call tells the audit trail, such as Graph's
// request ids. It never holds a secret.
type Trace map[string]string

// Failed is a write that did not complete, with what the audit trail
// must say of it. Result is store.AuditUnknown when the write may have
// reached the directory before the line went quiet.
type Failed struct {
	Result store.AuditResult
	Reason string
	Trace  Trace
	Err    error
}

func (f *Failed) Error() string { return f.Err.Error() }
func (f *Failed) Unwrap() error { return f.Err }

// Method kinds tapd itself handles.
const (
	KindFIDO2 = "fido2"
	KindTAP   = "temporaryAccessPass"
)

// ErrAlreadyRegistered is a key whose credential is registered already.
var ErrAlreadyRegistered = api.E(api.CodeAlreadyRegistered, "This security key is already registered to an account.")
