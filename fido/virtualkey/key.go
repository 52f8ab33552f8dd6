// Package virtualkey is a software CTAP 2.1 authenticator that speaks
// CTAPHID, good enough that libfido2 cannot tell it from a USB key. Tests and
// the demo route libfido2 to it (see package hidroute), so the real
// go-libfido2 → libfido2 → CTAPHID path runs without hardware.
//
// It implements getInfo, makeCredential (ES256, resident keys that a
// second registration of the same account overwrites, UV through a
// pinUvAuthToken or a simulated built-in UV, excludeList, the credProtect
// and hmac-secret extensions, packed/self/fido-u2f/none attestation),
// getAssertion/getNextAssertion, clientPIN (both PIN protocols, 8 retries,
// 3 wrong tries per power cycle, forcePINChange), credential management,
// authenticatorConfig (toggleAlwaysUv, setMinPINLength), bio enrollment
// with a scriptable fingerprint sensor (bio.go, Options.Bio), reset (only
// within ResetWindow of power-up, after a touch) and selection. User
// presence is simulated (see Presence).
package virtualkey

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultAAGUID identifies the virtual key model. It is ours, not a real
// vendor's, so a relying party can tell test keys apart.
var DefaultAAGUID = [16]byte{0x74, 0x61, 0x70, 0x6b, 0x69, 0x6f, 0x73, 0x6b, 0x2d, 0x76, 0x6b, 0x65, 0x79, 0x00, 0x00, 0x01}

// Presence says how the simulated person answers "touch your key".
type Presence int

const (
	// TouchAuto touches after Options.TouchDelay.
	TouchAuto Presence = iota
	// TouchHold waits for Key.Touch (or times out after UPTimeout).
	TouchHold
	// TouchDeny refuses, as some keys report a long press or a "no" button:
	// CTAP2_ERR_OPERATION_DENIED.
	TouchDeny
	// TouchNever never touches: CTAP2_ERR_USER_ACTION_TIMEOUT after UPTimeout.
	TouchNever
)

// Options configure a key. Zero values are a FIDO 2.1 key without a PIN.
type Options struct {
	AAGUID       [16]byte
	Product      string // as the HID manifest reports it
	Manufacturer string
	MinPINLength int // default 4
	MaxResident  int // discoverable credential slots, default 25
	// U2FOnly makes the key answer CTAPHID without the CBOR capability.
	U2FOnly bool
	// NoResidentKeys advertises rk=false and refuses resident credentials.
	NoResidentKeys bool
	// NoCredMgmt hides credential management.
	NoCredMgmt bool
	// PINProtocols offered, most preferred first; default [2, 1].
	PINProtocols []int
	// LegacyPINToken hides the pinUvAuthToken option, so libfido2 uses
	// getPinToken (0x05) instead of 0x09.
	LegacyPINToken bool
	// Attestation is "packed" (default, with x5c), "self", "fido-u2f" or
	// "none".
	Attestation string
	// Algorithms are the COSE algorithms the key makes credentials with,
	// as getInfo lists them: ES256 (-7) and EdDSA (-8); default both
	// (ES256 only for fido-u2f attestation, whose format carries a P-256
	// point).
	Algorithms []int
	// CA signs the attestation certificate; nil uses the process's TestCA.
	CA *CA
	// StatePath keeps the PIN and credentials in a file across runs.
	StatePath string
	// TouchDelay is how long TouchAuto waits; default 150 ms.
	TouchDelay time.Duration
	// UPTimeout is how long the key waits for a touch; default 30 s.
	UPTimeout time.Duration
	// ForcePINChange starts a fresh key (one without a state file) with
	// getInfo's forcePINChange set, as an administrator's setMinPINLength
	// with forceChangePin leaves it: the PIN works for nothing but
	// changePIN until it is changed.
	ForcePINChange bool
	// BuiltInUV gives the key a simulated fingerprint reader that always
	// matches: getInfo option uv, the uv option, and
	// getPinUvAuthTokenUsingUvWithPermissions.
	BuiltInUV bool
	// NoExtensions hides credProtect and hmac-secret: the key ignores them,
	// as CTAP says a key ignores extensions it does not know.
	NoExtensions bool
	// NoAuthnrCfg hides authenticatorConfig (getInfo options authnrCfg,
	// setMinPINLength and alwaysUv), as on a CTAP 2.0 key; the command is
	// then an invalid command. LegacyPINToken implies it.
	NoAuthnrCfg bool
	// ResetWindow is how long after power-up authenticatorReset is
	// allowed (CTAP 2.1 §6.6 says 10 s, the default); later it answers
	// CTAP2_ERR_NOT_ALLOWED until the key is plugged in again.
	ResetWindow time.Duration
	// Bio gives the key a fingerprint sensor with bio enrollment (CTAP
	// 2.1 §6.7): getInfo lists bioEnroll and userVerificationMgmtPreview,
	// and once a finger is enrolled, uv is true and the finger verifies
	// the user. The sensor's answers are scripted (QueueSamples).
	Bio bool
	// BioSamples is how many good samples enrol a finger; default 4.
	BioSamples int
	// Now is the key's clock, for the reset window; default time.Now.
	Now func() time.Time
}

// Key is one virtual authenticator.
type Key struct {
	opts Options

	mu        sync.Mutex
	st        state
	conns     map[*Conn]bool
	cids      map[uint32]bool
	nextCID   uint32
	busyCID   uint32
	cancel    context.CancelFunc
	unplugged bool
	presence  Presence
	touch     chan struct{}
	waiting   bool
	// per power cycle
	kaKey        *ecdh.PrivateKey
	token        []byte
	tokenPerms   byte
	tokenRP      string
	pinFailsBoot int
	bootAt       time.Time
	assertQueue  []pendingAssertion
	credmgmt     credmgmtCursor
	enrolment    *bioEnrolment
	// samples is the sensor's script (QueueSamples).
	samples []Sample

	attKey  *ecdsa.PrivateKey
	attCert []byte
}

// state is what persists across power cycles (and, with StatePath, runs).
type state struct {
	PINHash    []byte  `json:"pinHash,omitempty"`
	PINLength  int     `json:"pinLength,omitempty"`
	PINRetries int     `json:"pinRetries"`
	Counter    uint32  `json:"counter"`
	Creds      []*cred `json:"creds"`
	// ForcePINChange is getInfo's forcePINChange; a new PIN clears it.
	ForcePINChange bool `json:"forcePINChange,omitempty"`
	// MinPINLength is the minimum set by setMinPINLength (0: the
	// Options' factory minimum). Only a reset lowers it.
	MinPINLength int `json:"minPINLength,omitempty"`
	// AlwaysUV is getInfo's alwaysUv option (toggleAlwaysUv).
	AlwaysUV bool `json:"alwaysUv,omitempty"`
	// Templates are the enrolled fingers (Options.Bio).
	Templates []bioTemplate `json:"templates,omitempty"`
}

// minPINLength is the minimum PIN length in force. Called with k.mu held.
func (k *Key) minPINLength() int {
	return max(k.st.MinPINLength, k.opts.MinPINLength)
}

type cred struct {
	ID          []byte    `json:"id"`
	RPID        string    `json:"rpId"`
	RPName      string    `json:"rpName,omitempty"`
	UserID      []byte    `json:"userId"`
	UserName    string    `json:"userName,omitempty"`
	DisplayName string    `json:"displayName,omitempty"`
	Priv        []byte    `json:"priv"` // PKCS#8
	Resident    bool      `json:"resident"`
	Created     time.Time `json:"created"`
	// CredProtect is the credProtect level (1 when none was asked for):
	// 2 hides the credential from discovery without UV, 3 from any
	// assertion without UV.
	CredProtect int `json:"credProtect,omitempty"`
	// CredRandom is the hmac-secret's per-credential secret, when asked,
	// for requests without user verification (CTAP 2.1 §12.5
	// CredRandomWithoutUV); CredRandomUV is the one for user-verified
	// requests (CredRandomWithUV).
	CredRandom   []byte `json:"credRandom,omitempty"`
	CredRandomUV []byte `json:"credRandomUV,omitempty"`
}

func (c *cred) protection() int {
	if c.CredProtect == 0 {
		return credProtectUVOptional
	}
	return c.CredProtect
}

// key is the credential's private key: ECDSA P-256 (ES256) or Ed25519
// (EdDSA).
func (c *cred) key() (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(c.Priv)
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, errors.New("not an ES256 or EdDSA key")
}

const maxPINRetries = 8

// New makes a key, loading its state from Options.StatePath if present.
func New(opts Options) (*Key, error) {
	if opts.AAGUID == ([16]byte{}) {
		opts.AAGUID = DefaultAAGUID
	}
	if opts.Product == "" {
		opts.Product = "tapkiosk virtual key"
	}
	if opts.Manufacturer == "" {
		opts.Manufacturer = "tapkiosk"
	}
	if opts.MinPINLength == 0 {
		opts.MinPINLength = 4
	}
	if opts.MaxResident == 0 {
		opts.MaxResident = 25
	}
	if len(opts.PINProtocols) == 0 {
		opts.PINProtocols = []int{2, 1}
	}
	if opts.Attestation == "" {
		opts.Attestation = "packed"
	}
	switch opts.Attestation {
	case "packed", "self", "fido-u2f", "none":
	default:
		return nil, fmt.Errorf("virtualkey: unknown attestation %q", opts.Attestation)
	}
	if err := checkAlgorithms(&opts); err != nil {
		return nil, err
	}
	if opts.TouchDelay == 0 {
		opts.TouchDelay = 150 * time.Millisecond
	}
	if opts.UPTimeout == 0 {
		opts.UPTimeout = 30 * time.Second
	}
	if opts.ResetWindow == 0 {
		opts.ResetWindow = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LegacyPINToken {
		opts.NoAuthnrCfg = true
	}
	if opts.CA == nil {
		ca, err := TestCA()
		if err != nil {
			return nil, err
		}
		opts.CA = ca
	}
	k := &Key{opts: opts, conns: map[*Conn]bool{}, cids: map[uint32]bool{}, nextCID: 0x01000000, touch: make(chan struct{}, 1)}
	k.st.PINRetries = maxPINRetries
	k.st.ForcePINChange = opts.ForcePINChange
	if opts.StatePath != "" {
		b, err := os.ReadFile(opts.StatePath)
		if err == nil {
			k.st = state{}
			if err := json.Unmarshal(b, &k.st); err != nil {
				return nil, fmt.Errorf("virtualkey: state file %s: %w", opts.StatePath, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	var err error
	if k.attKey, k.attCert, err = opts.CA.issue(opts.AAGUID); err != nil {
		return nil, err
	}
	k.powerUp()
	return k, nil
}

// Options returns the key's settings after defaults.
func (k *Key) Options() Options { return k.opts }

// powerUp resets what a real key forgets when unplugged. Called with k.mu
// held or before the key is shared.
func (k *Key) powerUp() {
	k.kaKey, _ = ecdh.P256().GenerateKey(rand.Reader)
	k.token = make([]byte, 32)
	rand.Read(k.token)
	k.tokenPerms, k.tokenRP = 0, ""
	k.pinFailsBoot = 0
	k.bootAt = k.opts.Now()
	k.assertQueue = nil
	k.credmgmt = credmgmtCursor{}
	k.enrolment = nil
}

// save writes the state file, atomically. Called with k.mu held.
func (k *Key) save() error {
	if k.opts.StatePath == "" {
		return nil
	}
	b, err := json.MarshalIndent(&k.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := k.opts.StatePath + ".tmp"
	if err := os.MkdirAll(filepath.Dir(k.opts.StatePath), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, k.opts.StatePath)
}

// SetPresence changes how the simulated person answers touch prompts.
func (k *Key) SetPresence(p Presence) {
	k.mu.Lock()
	k.presence = p
	k.mu.Unlock()
}

// Touch answers a pending (or the next) touch prompt under TouchHold.
func (k *Key) Touch() {
	select {
	case k.touch <- struct{}{}:
	default:
	}
}

// Waiting reports whether the key is blinking for a touch right now.
func (k *Key) Waiting() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.waiting
}

// Unplug pulls the key out: open handles fail and pending reads return an
// error at once, as a real hidraw device does.
func (k *Key) Unplug() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.unplugged = true
	for c := range k.conns {
		close(c.gone)
		delete(k.conns, c)
	}
	if k.cancel != nil {
		k.cancel()
	}
	// Power is gone, so whatever the key was doing is over: a request
	// after the replug must not find it busy while the cut-off handler
	// unwinds (libfido2 takes a key busy at open for U2F-only).
	k.busyCID, k.cancel = 0, nil
}

// Plug puts the key back, which is a power cycle.
func (k *Key) Plug() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.unplugged = false
	k.cids = map[uint32]bool{}
	k.powerUp()
}

// PowerCycle is Unplug then Plug: what a person does when the key says
// "too many wrong PINs, unplug me" (CTAP2_ERR_PIN_AUTH_BLOCKED).
func (k *Key) PowerCycle() { k.Unplug(); k.Plug() }

// ForcePINChange sets getInfo's forcePINChange, as authenticatorConfig's
// setMinPINLength with forceChangePin does on a real key.
func (k *Key) ForcePINChange() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st.ForcePINChange = true
	k.save()
}

// Unplugged reports whether the key is out.
func (k *Key) Unplugged() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.unplugged
}

func (k *Key) allocCID() uint32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.nextCID++
	k.cids[k.nextCID] = true
	return k.nextCID
}

func (k *Key) knownCID(cid uint32) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cids[cid]
}

// begin marks the key busy with a CBOR request on cid.
func (k *Key) begin(cid uint32) (context.Context, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.busyCID != 0 {
		return nil, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	k.busyCID, k.cancel = cid, cancel
	return ctx, true
}

func (k *Key) end(cid uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.busyCID == cid {
		k.cancel()
		k.busyCID, k.cancel = 0, nil
	}
}

func (k *Key) cancelOn(cid uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.busyCID == cid && k.cancel != nil {
		k.cancel()
	}
}

// waitPresence blinks until the simulated person touches, refuses or lets
// it time out, sending KEEPALIVE(UPNEEDED) every 100 ms as real keys do.
func (k *Key) waitPresence(ctx context.Context, keepalive func(byte)) byte {
	k.mu.Lock()
	mode := k.presence
	k.waiting = true
	k.mu.Unlock()
	defer func() { k.mu.Lock(); k.waiting = false; k.mu.Unlock() }()
	// Drop a touch left over from before this prompt.
	select {
	case <-k.touch:
	default:
	}
	var touched <-chan time.Time
	switch mode {
	case TouchAuto, TouchDeny:
		touched = time.After(k.opts.TouchDelay)
	}
	timeout := time.After(k.opts.UPTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	keepalive(keepaliveUPNeeded)
	for {
		select {
		case <-ctx.Done():
			return ctap2ErrKeepaliveCancel
		case <-touched:
			if mode == TouchDeny {
				return ctap2ErrOperationDenied
			}
			return ctap1Success
		case <-k.touch:
			return ctap1Success
		case <-timeout:
			return ctap2ErrUserActionTimeout
		case <-tick.C:
			keepalive(keepaliveUPNeeded)
		}
	}
}

// busy reports whether a CBOR request is in flight (tests only).
func (k *Key) busy() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.busyCID != 0
}
