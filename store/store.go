// Package store keeps tapd's state in SQL. One implementation serves SQLite
// (one instance, the default) and PostgreSQL (several instances sharing
// state). Every backend must pass the conformance suite in store/storetest.
//
// The store holds domain types and knows no HTTP or policy rules; it does
// guarantee the invariants that must hold across instances: one pass per
// user, one-time passes consumed atomically, shared failure counters.
package store

import (
	"context"
	"errors"
	"time"
)

// Domain errors. Backends map driver errors onto these so callers never see
// SQL text.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrPassUsed means a one-time pass was consumed by someone else first.
	ErrPassUsed = errors.New("pass already used")
	// ErrFull means the database cannot grow (disk or quota full). Nothing
	// of the failed write was kept.
	ErrFull = errors.New("storage full")
	// ErrSchema means the schema is missing or older than this binary;
	// run `tapd init`.
	ErrSchema = errors.New("schema not initialised or out of date")
	// ErrSchemaNewer means the database holds a migration this binary
	// does not know: a newer tapd's `tapd init` ran on it. An older tapd
	// must not run on (or migrate) it; the error names both versions.
	ErrSchemaNewer = errors.New("database schema is newer than this tapd")
	// ErrRegistered means a staging row is registered already and cannot
	// change state again.
	ErrRegistered = errors.New("staging row already registered")
	// ErrLeased means another ceremony holds a staging row's lease.
	ErrLeased = errors.New("staging row leased to another ceremony")
)

// User is a person the local directory knows.
type User struct {
	UPN         string
	DisplayName string
	UserType    string // "Member" or "Guest"
	GuestKind   string // "" for members; "internal" or "external" for guests
	Groups      []string
	// AdminRole is the admin role the user holds, if any; an authentication
	// administrator may not manage passes of users who hold one.
	AdminRole string
	CreatedAt time.Time
}

// Pass is a stored Temporary Access Pass. The value itself is never stored,
// only its Argon2id hash.
type Pass struct {
	ID              string
	UPN             string
	Hash            string
	CreatedAt       time.Time
	StartAt         time.Time
	LifetimeMinutes int
	IsUsableOnce    bool
	UsedAt          *time.Time
	CreatedBy       string
}

// Kiosk is a registered kiosk machine; its token is stored as a SHA-256 hash.
type Kiosk struct {
	ID        string
	Name      string
	TokenHash string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// AdminToken is a named admin credential with a role.
type AdminToken struct {
	ID        string
	Name      string
	Role      string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt *time.Time
	RevokedAt *time.Time
}

// Session is a kiosk sign-in made with a pass.
type Session struct {
	ID        string
	TokenHash string
	KioskID   string
	UPN       string
	PassID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Method is an authentication method other than the pass. The FIDO2
// fields are empty for other kinds.
type Method struct {
	ID          string
	UPN         string
	Kind        string // "fido2", ...
	DisplayName string
	CreatedAt   time.Time

	CredentialID      []byte
	PublicKey         []byte // COSE key
	AAGUID            string // canonical UUID text
	Model             string
	AttestationFormat string
	AttestationLevel  string // "attested" or "notAttested", as Graph names it
	SignCount         uint32
	UserVerified      bool
	BackupEligible    bool
	BackupState       bool
	SessionID         string // the kiosk session that registered it
	// StagedBy names the operator (admin token) who registered the key for
	// the person, when no session did.
	StagedBy   string
	LastUsedAt *time.Time
	// RPID is the relying party the credential was made for when it is not
	// tapd's own: Entra's (login.microsoft.com) for keys registered there.
	// UserHandle is then that relying party's handle for the person.
	RPID       string
	UserHandle []byte
}

// Ceremony is single-use WebAuthn state between options and response.
type Ceremony struct {
	ID        string // the challenge, base64url
	SessionID string
	// OperatorID and UPN are set instead of SessionID when an admin began
	// the ceremony for someone (staging): the admin token's id and the
	// person.
	OperatorID string
	UPN        string
	Kind       string // "registration" or "assertion"
	MethodID   string // for assertions: the method being checked
	Data       []byte
	ExpiresAt  time.Time
}

// Throttle is the lockout state of one key ("user:...", "kiosk:..." or
// "addr:..."): a round of guesses, each reserved (Checked) before its hash
// is checked, the wrong ones (Failures), and how many locks the key has
// had (Level). The rules that read and change it are recovery's; the store
// only guarantees that every change sees the one before it.
type Throttle struct {
	Key         string
	Checked     int
	Failures    int
	Level       int
	LastFailure time.Time
	ReservedAt  time.Time
	LockedUntil time.Time
	// Holds is the reservations in flight, each with its own expiry, in
	// recovery's encoding; the store keeps it as given.
	Holds string
	// LockCause names who started the current lock (recovery's words), so
	// the admin who lifts it sees which kiosk and address caused it.
	LockCause string
}

// AuditEntry is one line of the audit trail. It never holds a secret.
type AuditEntry struct {
	ID        int64
	At        time.Time
	RequestID string
	ActorType string // "admin", "kiosk" or "system"
	Actor     string
	Action    string
	Target    string // usually a UPN
	Result    AuditResult
	Reason    string
	Details   map[string]string
	// Group, when set, makes repeats one row: an entry whose Group is
	// already in the trail adds one to that row's Repeats instead.
	Group   string
	Repeats int
}

// AuditFilter selects audit entries; zero fields match everything. Entries
// come newest first.
type AuditFilter struct {
	Target string
	// OrTarget, when set with Target, also matches entries whose target
	// is exactly OrTarget (a name's pseudonym).
	OrTarget string
	Action   string
	Actor    string
	Result   string
	Since    time.Time
	Until    time.Time
	Limit    int // 0 means 100; at most 1000
	Before   int64
}

// OutboxEvent is a notification waiting to be delivered. Payload is the
// body to send, as it will be sent, so a delivery after a restart is the
// same bytes; ID is its idempotency key.
type OutboxEvent struct {
	ID            string
	Kind          string
	Payload       []byte
	CreatedAt     time.Time
	Attempts      int // attempts begun, this one included once claimed
	NextAttemptAt time.Time
	LastError     string
	// Dead means out of attempts: kept for an operator, never claimed.
	Dead bool
}

// PolicyTarget names a user or group a policy includes or excludes.
type PolicyTarget struct {
	Type string // "user" or "group"
	ID   string // a UPN, a group name, or "all_users"
}

// TAPPolicy is the local directory's Temporary Access Pass policy as stored.
// It is the store's own type, not the API's, so that renaming a field on the
// wire never changes what is stored.
type TAPPolicy struct {
	Enabled                bool
	IncludeTargets         []PolicyTarget // in the order the admin gave
	ExcludeTargets         []PolicyTarget
	MinimumLifetimeMinutes int
	MaximumLifetimeMinutes int
	DefaultLifetimeMinutes int
	IsUsableOnce           bool
	DefaultLength          int
}

// FIDO2Policy is the local directory's FIDO2 policy as stored.
type FIDO2Policy struct {
	IsAttestationEnforced   bool
	KeyRestrictionsEnforced bool
	KeyEnforcementType      string   // "allow" or "block"
	AAGUIDs                 []string // in the order the admin gave
}

// Store is everything tapd keeps. Methods that change more than one row do
// so in one transaction.
//
// It is made of one small interface per kind of record so that code which
// needs one kind (the audit writer, the throttle, a directory backend) can
// ask for just that and be tested with a small fake, while the SQL backend
// still implements all of them over one database.
type Store interface {
	Users
	Passes
	Sessions
	Kiosks
	AdminTokens
	Methods
	Ceremonies
	Throttles
	Audit
	Policies
	Staging
	Outbox
	StaffStore
	Secrets

	// Atomically runs fn with a Store whose every call is part of one
	// transaction, committed when fn returns nil and rolled back
	// otherwise: an action and its audit entry are kept together or not at
	// all, even if tapd is killed between them. fn must not block on
	// anything outside the database (SQLite has one writer).
	Atomically(ctx context.Context, fn func(Store) error) error

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Users are the people the local directory knows. Deleting one reaches into
// passes, sessions and methods, which is why a user is deleted here and not
// by its callers row by row.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	// CreateUsers inserts all users in one transaction: all or none.
	CreateUsers(ctx context.Context, us []User) error
	GetUser(ctx context.Context, upn string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// DeleteUser removes the user with their pass, sessions and methods.
	DeleteUser(ctx context.Context, upn string) error
}

// Passes are the Temporary Access Passes, at most one per user. Replacing
// or deleting a pass also ends its sessions, in the same transaction.
type Passes interface {
	// ReplacePass stores p as the user's only pass. Any previous pass and
	// its sessions are deleted in the same transaction, so the old pass
	// stops working at once. It returns the replaced pass's id, if any.
	ReplacePass(ctx context.Context, p Pass) (replaced string, err error)
	GetPass(ctx context.Context, upn string) (Pass, error)
	// DeletePass deletes the user's pass with that id and its sessions.
	DeletePass(ctx context.Context, upn, id string) error
}

// ExpiredSessionKept is how long an expired session outlives its end
// before DeleteExpiredSessions removes it. Until then its token is still
// found and answers sessionExpired; after, it is an unknown token and
// answers invalidSession. (tapd sweeps once a minute, so without this an
// expired session was almost never seen as expired.)
const ExpiredSessionKept = time.Hour

// Sessions are kiosk sign-ins. Opening one may consume a one-time pass,
// which is why it is one call and not a pass update plus an insert.
type Sessions interface {
	// OpenSession stores s. When consume is true it first marks the pass
	// used, atomically: of two racing callers exactly one succeeds and the
	// other gets ErrPassUsed. A pass deleted meanwhile gives ErrNotFound.
	OpenSession(ctx context.Context, s Session, consume bool, now time.Time) error
	GetSession(ctx context.Context, tokenHash string) (Session, error)
	// GetKioskSession reads in one query what a kiosk's session request
	// is authenticated with: the kiosk by its token hash, the session by
	// its token hash with its person, and whether the person has a stored
	// method other than a pass. An unknown kiosk token gives ErrNotFound;
	// an unknown session token gives a nil Session.
	GetKioskSession(ctx context.Context, kioskTokenHash, sessionTokenHash string) (KioskSession, error)
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes sessions that expired at least
	// ExpiredSessionKept before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	// CountOpenSessions counts the sessions that have not expired at now.
	CountOpenSessions(ctx context.Context, now time.Time) (int, error)
}

// Kiosks are the registered kiosk machines. Revoking one ends its sessions.
type Kiosks interface {
	CreateKiosk(ctx context.Context, k Kiosk) error
	GetKioskByTokenHash(ctx context.Context, tokenHash string) (Kiosk, error)
	ListKiosks(ctx context.Context) ([]Kiosk, error)
	RevokeKiosk(ctx context.Context, name string, at time.Time) error
}

// AdminTokens are the admin credentials. They are looked up by hash only,
// so the store never needs a token's value.
type AdminTokens interface {
	CreateAdminToken(ctx context.Context, t AdminToken) error
	GetAdminTokenByHash(ctx context.Context, tokenHash string) (AdminToken, error)
	ListAdminTokens(ctx context.Context) ([]AdminToken, error)
	RevokeAdminToken(ctx context.Context, name string, at time.Time) error
	CountAdminTokens(ctx context.Context) (int, error)
}

// Methods are the authentication methods other than the pass, with the
// WebAuthn user handle that the FIDO2 ones are registered under.
type Methods interface {
	// CreateMethod stores a method; a credential id already registered to
	// anyone gives ErrAlreadyExists.
	CreateMethod(ctx context.Context, m Method) error
	ListMethods(ctx context.Context, upn string) ([]Method, error)
	GetMethod(ctx context.Context, upn, id string) (Method, error)
	DeleteMethod(ctx context.Context, upn, id string) error
	// RecordMethodUse stores what a successful assertion reported.
	RecordMethodUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error

	// UserHandle returns the user's WebAuthn user handle, storing candidate
	// as the handle if the user has none yet. Concurrent callers all get
	// the one that was stored first.
	UserHandle(ctx context.Context, upn string, candidate []byte) ([]byte, error)
}

// Ceremonies are WebAuthn challenges between options and response. They
// live in the store, not in memory, so that any instance can finish a
// ceremony another one started, and only once.
type Ceremonies interface {
	CreateCeremony(ctx context.Context, c Ceremony) error
	// TakeCeremony deletes the ceremony and returns it, so it can be used
	// once only, whichever instance finishes it.
	TakeCeremony(ctx context.Context, id string) (Ceremony, error)
	DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error)
}

// Throttles are the failure counters and lockouts. They live in the store
// so that every instance counts the same failures.
type Throttles interface {
	GetThrottle(ctx context.Context, key string) (Throttle, error)
	// UpdateThrottle reads the key's throttle (a fresh one if it has none),
	// lets change alter it, and stores the result, all under one lock that
	// holds across tapd instances: concurrent guesses never read the same
	// count. change must not block or do I/O. It returns what was stored.
	UpdateThrottle(ctx context.Context, key string, change func(*Throttle)) (Throttle, error)
	ClearThrottle(ctx context.Context, key string) error
	// ListThrottles returns the throttles whose key starts with prefix,
	// by key.
	ListThrottles(ctx context.Context, prefix string) ([]Throttle, error)
}

// Audit is the append-only audit trail: entries are added and listed,
// never changed.
type Audit interface {
	// AppendAudit adds the entry (or counts a repeat of its group) and
	// queues it for the export, in one transaction.
	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// AuditToExport returns up to limit queued entries, oldest queued
	// first, each with its queue position. An entry queued more than once
	// (its repeats grew) comes once per queueing, as it is now.
	AuditToExport(ctx context.Context, limit int) ([]AuditExport, error)
	// AuditExported removes exactly these queue positions: the entries
	// they name have been written where they go.
	AuditExported(ctx context.Context, seqs []int64) error
}

// AuditExport is one queued entry of the audit export.
type AuditExport struct {
	Seq   int64
	Entry AuditEntry
}

// Secrets are named random values made on first ask and shared by every
// tapd instance over the store.
type Secrets interface {
	// Secret returns the 32 random bytes kept under name, made now if
	// there are none yet; concurrent first asks all get the same value.
	Secret(ctx context.Context, name string) ([]byte, error)
}

// Policies are the local directory's policies, each one record. Get returns
// ErrNotFound when none was ever stored, so the caller applies its defaults;
// Put replaces the whole record in one transaction, so a reader never sees
// half of an old policy and half of a new one. Lists come back in the order
// they were put, empty (not nil) when empty.
type Policies interface {
	GetTAPPolicy(ctx context.Context) (TAPPolicy, error)
	PutTAPPolicy(ctx context.Context, p TAPPolicy) error
	GetFIDO2Policy(ctx context.Context) (FIDO2Policy, error)
	PutFIDO2Policy(ctx context.Context, p FIDO2Policy) error
}

// Staging row states.
const (
	StagingPending    = "pending"
	StagingRegistered = "registered"
	StagingFailed     = "failed"
	// StagingRemoved is a row whose key was registered and whose
	// registration is gone since: it keeps the key's facts and holds
	// nobody.
	StagingRemoved = "removed"
)

// StagingBatch is one staging run: people IT registers keys for before
// handing them out. The counts are computed when read.
type StagingBatch struct {
	ID        string
	Name      string
	CreatedAt time.Time
	CreatedBy string

	Pending, Registered, Failed, Removed int
}

// StagingRow is one person of a batch and how their key went. The key
// facts are set when the row is registered; a PIN is never kept.
type StagingRow struct {
	ID          string
	BatchID     string
	Position    int
	UPN         string
	DisplayName string
	KeyName     string
	Language    string // the person's letter language (a BCP 47 tag), or ""
	State       string // StagingPending, StagingRegistered, StagingFailed or StagingRemoved
	Reason      string // why it failed

	MethodID        string
	AAGUID          string
	Model           string
	SerialNumber    string
	CredentialID    string // base64url
	RegisteredAt    *time.Time
	PINChangeForced bool
	UpdatedAt       time.Time
	// RegisteredBy is the admin token (its id) that registered the key.
	RegisteredBy string

	Lease StagingLease
}

// StagingLease is which registration may write a row's key: the ceremony
// (CeremonyID, its challenge) an operator (OperatorID, an admin token's
// id) began for the row, until Until. Writing means that ceremony's key
// is being written to the directory now, so nobody, its own operator
// included, may take the row until the write ends or Until passes. The
// zero value is no lease.
type StagingLease struct {
	CeremonyID string
	OperatorID string
	Until      time.Time
	Writing    bool
}

// Held reports whether the lease binds at now.
func (l StagingLease) Held(now time.Time) bool { return l.CeremonyID != "" && now.Before(l.Until) }

// Staging keeps the batches. A row's registration is recorded with
// MarkStagingRow, inside the transaction that keeps the key when the
// directory is the store, so the row and the method appear together.
type Staging interface {
	// CreateStagingBatch stores the batch with its rows, all or none; a
	// name already used gives ErrAlreadyExists, as does a person twice.
	CreateStagingBatch(ctx context.Context, b StagingBatch, rows []StagingRow) error
	// ListStagingBatches lists every batch, oldest first, with its counts.
	ListStagingBatches(ctx context.Context) ([]StagingBatch, error)
	// GetStagingBatch finds a batch by id or by name, with its rows in the
	// order they were given.
	GetStagingBatch(ctx context.Context, ref string) (StagingBatch, []StagingRow, error)
	// GetStagingRow reads one row of a batch.
	GetStagingRow(ctx context.Context, batchID, rowID string) (StagingRow, error)
	// MarkStagingRow replaces the row's state, key name and key facts with
	// r's. A row
	// already registered gives ErrRegistered, unless r repeats its state
	// and MethodID: then only SerialNumber and PINChangeForced are taken
	// (what the kiosk learns after the registration). Of two racing
	// registrations of one row exactly one succeeds. Registering ends the
	// row's lease; another state ends it unless it is writing (a write in
	// flight keeps its row). r.Lease is not read.
	MarkStagingRow(ctx context.Context, r StagingRow) error
	// ActiveStagingRows lists the rows for the person, in any batch, that
	// are pending or registered.
	ActiveStagingRows(ctx context.Context, upn string) ([]StagingRow, error)
	// StagedKeyRemoved turns the person's registered rows whose key is
	// methodID into StagingRemoved, for a registration that is gone, and
	// says how many it turned. A row of another state is left alone.
	StagedKeyRemoved(ctx context.Context, upn, methodID string, now time.Time) (int, error)
	// DeleteStagingBatch deletes the batch with its rows when none of them
	// is registered or leased at now: else ErrRegistered or ErrLeased with
	// the first such row, and nothing is deleted. No such batch is
	// ErrNotFound.
	DeleteStagingBatch(ctx context.Context, batchID string, now time.Time) (StagingRow, error)
	// DeleteStagingRow deletes one row that is not registered nor leased at
	// now (else ErrRegistered or ErrLeased) and returns it as it was.
	DeleteStagingRow(ctx context.Context, batchID, rowID string, now time.Time) (StagingRow, error)
	// ReissueStagingRow puts a registered or removed row whose key is
	// methodID back to pending, its key facts and lease cleared, for the
	// person to be staged anew. Any other row is ErrNotFound.
	ReissueStagingRow(ctx context.Context, batchID, rowID, methodID string, now time.Time) error

	// A row's registration is exclusive: asking for creation options with
	// a row leases it (LeaseStagingRow), and the registration claims the
	// lease before it writes to the directory (ClaimStagingRow). Of two
	// stations racing for one row at most one claims it; the row they
	// return with ErrLeased is the row as it stands, so the caller can say
	// whose lease it is and until when.

	// LeaseStagingRow leases the row to l when it is not registered (nor
	// removed: a removed row is reissued, not registered again) and
	// its lease is free at now (none, or ended) or held, not writing, by
	// l.OperatorID (the same operator starting again takes it over). A
	// registered row gives ErrRegistered, a lease held by someone else or
	// writing ErrLeased, no such row ErrNotFound.
	LeaseStagingRow(ctx context.Context, batchID, rowID string, l StagingLease, now time.Time) (StagingRow, error)
	// ClaimStagingRow turns the lease ceremonyID holds at now, not
	// writing yet, into a write that lasts until until. Otherwise
	// ErrRegistered, ErrLeased or ErrNotFound, as LeaseStagingRow.
	ClaimStagingRow(ctx context.Context, batchID, rowID, ceremonyID string, until, now time.Time) (StagingRow, error)
	// ReleaseStagingRow ends the row's lease if ceremonyID holds it, for a
	// write that did not happen; otherwise it does nothing.
	ReleaseStagingRow(ctx context.Context, batchID, rowID, ceremonyID string) error
}

// Outbox is the notifications waiting for delivery. An event is enqueued
// in the transaction of the action it tells of (Atomically), so a crash
// keeps both or neither; delivery is at least once, the ID telling
// repeats apart.
type Outbox interface {
	EnqueueEvent(ctx context.Context, e OutboxEvent) error
	// ClaimEvents takes up to limit events due at now, oldest first, and
	// leases them: their next attempt moves to now+lease and Attempts goes
	// up by one, so no other caller takes them meanwhile, and a caller
	// that dies mid-delivery has them tried again when the lease ends.
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEvent, error)
	// EventDelivered removes a delivered event.
	EventDelivered(ctx context.Context, id string) error
	// EventFailed records a failed attempt: its error, and when to try
	// next, or dead when no attempt is left.
	EventFailed(ctx context.Context, id string, next time.Time, lastError string, dead bool) error
	// ListEvents lists every event kept, oldest first.
	ListEvents(ctx context.Context) ([]OutboxEvent, error)
	// CountEvents counts the events waiting and the dead ones.
	CountEvents(ctx context.Context) (pending, dead int, err error)
}
