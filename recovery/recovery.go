// Package recovery holds tapd's use cases without HTTP: sign-in with its
// lockout, passes, registration and the key policy, methods, the admin
// model, and the audit trail. It works the same over every directory; what
// differs between back ends is behind directory.Directory.
//
// Every use case takes the *Caller (who is asking, for the audit trail and
// the log) and returns a typed result or a client-safe *api.Error.
package recovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Config holds the service's dependencies and limits. Zero limits take
// the values in Defaults.
type Config struct {
	Store     store.Store
	Directory directory.Directory
	// RP verifies key answers; the same one the local directory uses to
	// begin registrations (see NewRelyingParty).
	RP     *webauthn.WebAuthn
	Logger *slog.Logger
	Now    func() time.Time
	// SessionLimit caps a kiosk session, whatever the pass allows.
	SessionLimit time.Duration
	// Argon2 is the cost used for new pass hashes.
	Argon2  tap.Argon2Params
	Lockout Lockout
	// Trust holds the attestation roots; nil trusts nothing.
	Trust *Trust
	// CeremonyTimeout is how long a challenge waits for the key.
	CeremonyTimeout time.Duration
	// HashQueue is how many pass checks are admitted at once, computing
	// or waiting for a runner; a sign-in past them is refused at once with
	// 503 rather than queued (0: DefaultHashQueue of the runners). It bounds
	// the wait, not memory: a waiting check holds none.
	HashQueue int
	// HashRunners is how many of those checks compute at once; the rest
	// wait their turn (0: DefaultHashRunners, half the CPUs).
	HashRunners int
	// Observer hears outcomes (metrics, the audit export); nil hears none.
	Observer Observer
	// ConsoleRP is the helpdesk console's relying party (its own host
	// name, apart from the kiosks'); nil when tapd serves no console.
	ConsoleRP *webauthn.WebAuthn
	// Checklist is what staff must tick, having checked it, before the
	// console issues a pass; an empty list asks for nothing.
	Checklist []string
	// Notify queues a notification (store.OutboxEvent) with each action
	// someone should hear of: a key registered, a method removed, a pass
	// used, a lock started. Leave it off when nothing delivers them.
	Notify bool
	// CheckBegan, when set, is called with the request's context once a
	// sign-in holds its hash slot, its turn at the hash gate and its
	// reservations, just before the Argon2id check (and its wait for a
	// place): from here a hang-up is a counted, audited guess.
	// It lets a test hang up inside a check whatever the machine's speed
	// (hold it until ctx is done); tapd leaves it nil.
	CheckBegan func(ctx context.Context)
}

// Defaults are tapd's limits when nothing else is said; tapd serve's
// flags take their defaults from here.
var Defaults = Config{
	SessionLimit:    10 * time.Minute,
	Argon2:          tap.DefaultArgon2,
	Lockout:         DefaultLockout,
	CeremonyTimeout: 5 * time.Minute, // as Microsoft Graph's
}

// DefaultRPID and DefaultRPName are the relying party when none is named.
const (
	DefaultRPID   = "localhost"
	DefaultRPName = "tapkiosk"
)

// Service is tapd's use cases.
type Service struct {
	cfg       Config
	st        store.Store
	dir       directory.Directory
	rp        *webauthn.WebAuthn
	log       *slog.Logger
	now       func() time.Time
	dummyHash string
	hashSlots chan struct{}
	hashRun   *hashGate
	obs       Observer
	names     *pseudonyms
}

// New checks the config, fills defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Directory == nil || cfg.RP == nil {
		return nil, errors.New("recovery: a store, a directory and a relying party are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionLimit <= 0 {
		cfg.SessionLimit = Defaults.SessionLimit
	}
	if cfg.Argon2.Memory == 0 {
		cfg.Argon2 = Defaults.Argon2
	}
	if cfg.Lockout.UserThreshold == 0 {
		cfg.Lockout = Defaults.Lockout
	}
	if cfg.CeremonyTimeout <= 0 {
		cfg.CeremonyTimeout = Defaults.CeremonyTimeout
	}
	if cfg.HashRunners <= 0 {
		cfg.HashRunners = DefaultHashRunners()
	}
	if cfg.HashQueue <= 0 {
		cfg.HashQueue = DefaultHashQueue(cfg.HashRunners)
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	// A hash of a random value: sign-ins for unknown users verify against it
	// so that they take as long as a wrong pass for a known user.
	dummy, err := tap.HashPass(randomHex(16), cfg.Argon2)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: cfg.Store, dir: cfg.Directory, rp: cfg.RP, log: cfg.Logger, now: cfg.Now, dummyHash: dummy,
		hashSlots: make(chan struct{}, cfg.HashQueue), hashRun: newHashGate(min(cfg.HashRunners, cfg.HashQueue)), obs: cfg.Observer,
		names: &pseudonyms{}}, nil
}

// NewRelyingParty is tapd's WebAuthn relying party. The origin is always
// https:// + rp id, as with Microsoft Graph, so one kiosk code path serves
// every directory; a ceremony begun in another directory names its own
// rp id and origin, which override these.
func NewRelyingParty(rpID, rpName string) (*webauthn.WebAuthn, error) {
	if rpID == "" {
		rpID = DefaultRPID
	}
	if rpName == "" {
		rpName = DefaultRPName
	}
	rk := true
	return webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: rpName, RPOrigins: []string{"https://" + rpID},
		AttestationPreference: protocol.PreferDirectAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			AuthenticatorAttachment: protocol.CrossPlatform, RequireResidentKey: &rk,
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired},
	})
}

// Directory is the directory the service runs over, for routes that
// depend on its capabilities.
func (s *Service) Directory() directory.Directory { return s.dir }

// Ping reports whether the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.st.Ping(ctx) }

// Caller is one request's asker: who, for the audit trail, and the
// request's logger. Authentication fills Admin, Kiosk and Session.
type Caller struct {
	RequestID string
	// Path is what was asked for, for the audit of refusals.
	Path string
	// ClientAddr is the client's IP address, for the per-address lockout
	// (the proxy's own unless tapd is told to trust it).
	ClientAddr string
	Log        *slog.Logger
	Admin      *store.AdminToken
	Kiosk      *store.Kiosk
	Session    *store.Session

	// sessionUser and storedMethods came with the session (see
	// KioskSession), so describing it needs no further read.
	sessionUser   *store.User
	storedMethods bool
	// StaffID is set, beside Admin (which then carries the staff member's
	// name and role), when a console staff member is asking.
	StaffID string
}

// Actor names the caller for audit entries and the log.
func (c *Caller) Actor() (typ, name string) {
	switch {
	case c.StaffID != "" && c.Admin != nil:
		return "staff", c.Admin.Name
	case c.Admin != nil:
		return "admin", c.Admin.Name
	case c.Kiosk != nil:
		return "kiosk", c.Kiosk.Name
	}
	return "anonymous", ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ms truncates a time to what the store keeps.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
