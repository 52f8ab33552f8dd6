// Package local is the directory kept in tapd's own store: people, both
// method policies, passes and security keys, with tapd as the WebAuthn
// relying party. It has every optional capability (people and policies
// are managed through tapd).
package local

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Directory is the local directory.
type Directory struct {
	st     store.Store
	rp     *webauthn.WebAuthn
	argon2 tap.Argon2Params
	now    func() time.Time
}

// Config holds the local directory's dependencies.
type Config struct {
	Store store.Store
	// RP is tapd's WebAuthn relying party (see recovery.NewRelyingParty).
	RP     *webauthn.WebAuthn
	Argon2 tap.Argon2Params
	Now    func() time.Time
}

// New returns the local directory.
func New(c Config) *Directory {
	return &Directory{st: c.Store, rp: c.RP, argon2: c.Argon2, now: c.Now}
}

// WithStore is the same directory over st, such as a transaction.
func (d *Directory) WithStore(st store.Store) directory.Directory {
	c := *d
	c.st = st
	return &c
}

var (
	_ directory.Transactional  = (*Directory)(nil)
	_ directory.Directory      = (*Directory)(nil)
	_ directory.UserAdmin      = (*Directory)(nil)
	_ directory.PolicyAdmin    = (*Directory)(nil)
	_ directory.MethodsInStore = (*Directory)(nil)
)

// MethodsInStore marks the local directory's methods as the store's rows
// (Methods lists them and the pass, nothing else).
func (d *Directory) MethodsInStore() {}

// ManagedBy is "": tapd manages people and policies itself.
func (d *Directory) ManagedBy() string { return "" }

func userOf(u store.User) directory.User {
	return directory.User{UPN: u.UPN, DisplayName: u.DisplayName, UserType: u.UserType, GuestKind: u.GuestKind,
		Groups: u.Groups, CreatedAt: u.CreatedAt, AdminRole: u.AdminRole, RolesKnown: true}
}

// User reads the person from the store.
func (d *Directory) User(ctx context.Context, upn string) (directory.User, error) {
	u, err := d.st.GetUser(ctx, upn)
	if errors.Is(err, store.ErrNotFound) {
		return directory.User{}, api.E(api.CodeUserNotFound, "No user %s; add them with `tapctl user add`.", upn)
	}
	return userOf(u), err
}

// GroupMembers lists the people whose groups name group. Locally a group
// is only a name people hold (tapctl user add --groups), so a group
// nobody is in does not exist: unknown and empty are the same 404.
func (d *Directory) GroupMembers(ctx context.Context, group string) (directory.Group, []string, error) {
	us, err := d.st.ListUsers(ctx)
	if err != nil {
		return directory.Group{}, nil, err
	}
	var g directory.Group
	upns := []string{}
	for _, u := range us {
		if i := slices.IndexFunc(u.Groups, func(x string) bool { return strings.EqualFold(x, group) }); i >= 0 {
			if g.ID == "" {
				g = directory.Group{ID: u.Groups[i], DisplayName: u.Groups[i]}
			}
			upns = append(upns, u.UPN)
		}
	}
	if len(upns) == 0 {
		return g, nil, api.NotFound("Nobody is in a group %s here: a group is the name people are given with `tapctl user add --groups`.", group)
	}
	return g, upns, nil
}

// CreateUser adds a person.
func (d *Directory) CreateUser(ctx context.Context, u store.User) error {
	return alreadyExists(d.st.CreateUser(ctx, u), "A user %s already exists.", u.UPN)
}

// CreateUsers adds all or none.
func (d *Directory) CreateUsers(ctx context.Context, us []store.User) error {
	return alreadyExists(d.st.CreateUsers(ctx, us), "A user in the file was added by someone else meanwhile; nothing was imported. Try again.")
}

func alreadyExists(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.Conflict(api.CodeAlreadyExists, format, args...).Because(err)
	}
	return err
}

// ListUsers lists everyone.
func (d *Directory) ListUsers(ctx context.Context) ([]store.User, error) { return d.st.ListUsers(ctx) }

// DeleteUser removes the person with their pass, sessions and methods; a
// person already gone is no error.
func (d *Directory) DeleteUser(ctx context.Context, upn string) error {
	if err := d.st.DeleteUser(ctx, upn); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// ---- passes ----

func (d *Directory) passOf(p store.Pass, pol tap.Policy, m tap.Member) directory.Pass {
	st := stateOf(p)
	ok, reason := tap.Usability(pol, m, st, d.now())
	return directory.Pass{ID: p.ID, CreatedAt: p.CreatedAt, StartAt: p.StartAt, LifetimeMinutes: p.LifetimeMinutes,
		IsUsableOnce: p.IsUsableOnce, IsUsable: ok, Reason: reason}
}

func stateOf(p store.Pass) tap.PassState {
	return tap.PassState{Start: p.StartAt, LifetimeMinutes: p.LifetimeMinutes, IsUsableOnce: p.IsUsableOnce, Used: p.UsedAt != nil}
}

// CreatePass generates a value of the policy's length and stores only its
// hash; any old pass and its sessions go in the same transaction.
func (d *Directory) CreatePass(ctx context.Context, u directory.User, req directory.PassRequest) (directory.NewPass, error) {
	pol, err := d.TAPPolicy(ctx)
	if err != nil {
		return directory.NewPass{}, err
	}
	value, err := tap.GeneratePass(pol.DefaultLength)
	if err != nil {
		return directory.NewPass{}, err
	}
	hash, err := tap.HashPass(value, d.argon2)
	if err != nil {
		return directory.NewPass{}, err
	}
	now := d.now().UTC()
	p := store.Pass{ID: uuid.NewString(), UPN: u.UPN, Hash: hash, CreatedAt: now.Truncate(time.Millisecond), StartAt: req.Start,
		LifetimeMinutes: req.LifetimeMinutes, IsUsableOnce: req.IsUsableOnce, CreatedBy: req.CreatedBy}
	replaced, err := d.st.ReplacePass(ctx, p)
	if err != nil {
		return directory.NewPass{}, err
	}
	return directory.NewPass{Pass: d.passOf(p, pol, u.Member()), Value: value, Replaced: replaced}, nil
}

// Passes lists the person's pass with tapd's verdict on it.
func (d *Directory) Passes(ctx context.Context, u directory.User) ([]directory.Pass, error) {
	p, err := d.st.GetPass(ctx, u.UPN)
	if errors.Is(err, store.ErrNotFound) {
		return []directory.Pass{}, nil
	}
	if err != nil {
		return nil, err
	}
	pol, err := d.TAPPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return []directory.Pass{d.passOf(p, pol, u.Member())}, nil
}

// JudgePass leaves the verdict to tapd's rules: the store is the directory.
func (d *Directory) JudgePass(ctx context.Context, p store.Pass) (directory.Judgement, error) {
	u, err := d.User(ctx, p.UPN)
	if err != nil {
		return directory.Judgement{}, err
	}
	pol, err := d.TAPPolicy(ctx)
	return directory.Judgement{Policy: pol, Member: u.Member()}, err
}

// DeletePass deletes the pass and its sessions in one transaction.
func (d *Directory) DeletePass(ctx context.Context, upn, id string) (directory.Trace, error) {
	return nil, d.st.DeletePass(ctx, upn, id)
}

// ---- methods ----

// Methods lists the stored methods and the pass.
func (d *Directory) Methods(ctx context.Context, upn string) ([]directory.Method, error) {
	ms, err := d.st.ListMethods(ctx, upn)
	if err != nil {
		return nil, err
	}
	out := []directory.Method{}
	for _, m := range ms {
		out = append(out, directory.Method{Kind: m.Kind, ID: m.ID, DisplayName: m.DisplayName, CreatedAt: m.CreatedAt,
			AAGUID: m.AAGUID, Model: m.Model, AttestationLevel: m.AttestationLevel, LastUsedAt: m.LastUsedAt})
	}
	p, err := d.st.GetPass(ctx, upn)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	judged, err := d.JudgePass(ctx, p)
	if err != nil {
		return nil, err
	}
	po := d.passOf(p, judged.Policy, judged.Member)
	return append(out, directory.Method{Kind: directory.KindTAP, ID: p.ID, CreatedAt: p.CreatedAt, Pass: &po}), nil
}

// DeleteMethod deletes a stored method; one already gone is no error.
func (d *Directory) DeleteMethod(ctx context.Context, upn string, m directory.Method) (directory.Trace, error) {
	if err := d.st.DeleteMethod(ctx, upn, m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// ---- registration ----

// BeginRegistration asks go-webauthn for options: a resident, verified
// key, direct attestation, and the person's own keys excluded so that one
// key is not registered twice.
func (d *Directory) BeginRegistration(ctx context.Context, upn string) (directory.Registration, error) {
	u, err := d.st.GetUser(ctx, upn)
	if err != nil {
		return directory.Registration{}, err
	}
	h, err := directory.UserHandle(ctx, d.st, upn)
	if err != nil {
		return directory.Registration{}, err
	}
	ms, err := d.st.ListMethods(ctx, upn)
	if err != nil {
		return directory.Registration{}, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, m := range ms {
		if m.Kind == directory.KindFIDO2 {
			exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: m.CredentialID})
		}
	}
	creation, sd, err := d.rp.BeginRegistration(&directory.KeyHolder{Handle: h, User: u},
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferDirectAttestation),
		webauthn.WithCredentialParameters([]protocol.CredentialParameter{
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
		}))
	if err != nil {
		return directory.Registration{}, err
	}
	return directory.Registration{Options: creation.Response, Session: *sd}, nil
}

// AddKey stores the key; a credential id registered to anyone is refused.
func (d *Directory) AddKey(ctx context.Context, k directory.NewKey) (store.Method, directory.Trace, error) {
	err := d.st.CreateMethod(ctx, k.Method)
	if errors.Is(err, store.ErrAlreadyExists) {
		return k.Method, nil, &directory.Failed{Result: store.AuditFailure, Reason: "alreadyRegistered", Err: directory.ErrAlreadyRegistered}
	}
	return k.Method, nil, err
}
