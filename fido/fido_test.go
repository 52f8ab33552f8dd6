package fido_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

var keySeq atomic.Int64

// plug makes a virtual key, routes libfido2 to it, and checks that
// libfido2 sees a FIDO2 device (not a U2F fallback) unless asked for U2F.
func plug(t testing.TB, opts virtualkey.Options) (string, *virtualkey.Key) {
	t.Helper()
	if opts.TouchDelay == 0 {
		opts.TouchDelay = 20 * time.Millisecond
	}
	path, k := hidroute.PlugNew(t, opts)
	if !opts.U2FOnly {
		dev, _ := libfido2.NewDevice(path)
		if typ, err := dev.Type(); err != nil || typ != libfido2.FIDO2 {
			t.Fatalf("libfido2 sees %q (%v), not FIDO2", typ, err)
		}
	}
	return path, k
}

type rpUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *rpUser) WebAuthnID() []byte                         { return u.id }
func (u *rpUser) WebAuthnName() string                       { return "ada@example.com" }
func (u *rpUser) WebAuthnDisplayName() string                { return "Ada Lovelace" }
func (u *rpUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newRP(t testing.TB) *webauthn.WebAuthn {
	t.Helper()
	rp, err := webauthn.New(&webauthn.Config{
		RPID: "example.com", RPDisplayName: "Example", RPOrigins: []string{"https://example.com"},
		AttestationPreference: protocol.PreferDirectAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// begin makes creation options as a relying party would, sent through
// JSON as the kiosk receives them from tapd or Graph.
func begin(t testing.TB, rp *webauthn.WebAuthn, u *rpUser, opts ...webauthn.RegistrationOption) (protocol.PublicKeyCredentialCreationOptions, *webauthn.SessionData) {
	t.Helper()
	creation, session, err := rp.BeginRegistration(u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(creation.Response)
	var o protocol.PublicKeyCredentialCreationOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	return o, session
}

// finish verifies the registration as the relying party.
func finish(t testing.TB, rp *webauthn.WebAuthn, u *rpUser, s *webauthn.SessionData, reg *fido.Registration) *webauthn.Credential {
	t.Helper()
	raw, _ := json.Marshal(reg)
	parsed, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	cred, err := rp.CreateCredential(u, *s, parsed)
	if err != nil {
		t.Fatalf("relying party refused the registration: %v", err)
	}
	return cred
}

// registerAndVerify is the registration suite's core, shared with the
// hardware run (make hwtest): register on the key at path and have
// go-webauthn verify it as the relying party.
func registerAndVerify(t *testing.T, path, pin string) (*fido.Registration, *webauthn.Credential) {
	t.Helper()
	rp, u := newRP(t), &rpUser{id: []byte(fmt.Sprintf("user-%d", keySeq.Add(1)))}
	opts, session := begin(t, rp, u)
	reg, err := fido.Register(context.Background(), path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	cred := finish(t, rp, u, session, reg)
	if !cred.Flags.UserVerified || !cred.Flags.UserPresent {
		t.Fatalf("flags %+v", cred.Flags)
	}
	return reg, cred
}

func TestRegisterVerifiesWithGoWebAuthn(t *testing.T) {
	for _, format := range []string{"packed", "self", "fido-u2f", "none"} {
		t.Run(format, func(t *testing.T) {
			path, _ := plug(t, virtualkey.Options{Attestation: format})
			if err := fido.SetPIN(path, "2468"); err != nil {
				t.Fatal(err)
			}
			reg, cred := registerAndVerify(t, path, "2468")
			wantFmt := map[string]string{"packed": "packed", "self": "packed", "fido-u2f": "fido-u2f", "none": "none"}[format]
			if cred.AttestationFormat != wantFmt || reg.ID != base64.RawURLEncoding.EncodeToString(cred.ID) {
				t.Fatalf("format %q id %s", cred.AttestationFormat, reg.ID)
			}
			if format == "packed" || format == "fido-u2f" {
				checkChain(t, reg)
				// fido-u2f authData carries a zero AAGUID, as libfido2
				// writes it for a U2F reply (WebAuthn §8.6).
				want := virtualkey.DefaultAAGUID
				if format == "fido-u2f" {
					want = [16]byte{}
				}
				if fmt.Sprintf("%x", cred.Authenticator.AAGUID) != fmt.Sprintf("%x", want[:]) {
					t.Fatalf("aaguid %x, want %x", cred.Authenticator.AAGUID, want)
				}
			}
		})
	}
}

// checkChain verifies the x5c leaf against the test CA, as a relying party
// with the CA as a trusted root would.
func checkChain(t *testing.T, reg *fido.Registration) {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(reg.Response.AttestationObject)
	var obj struct {
		AttStmt struct {
			X5C [][]byte `cbor:"x5c"`
		} `cbor:"attStmt"`
	}
	if err := cbor.Unmarshal(raw, &obj); err != nil || len(obj.AttStmt.X5C) != 1 {
		t.Fatalf("attStmt: %v", err)
	}
	leaf, err := x509.ParseCertificate(obj.AttStmt.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := virtualkey.TestCA()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("x5c does not chain to the test CA: %v", err)
	}
	other, _ := virtualkey.NewCA()
	roots2 := x509.NewCertPool()
	roots2.AddCert(other.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots2, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
		t.Fatal("x5c chains to an unrelated CA: the check proves nothing")
	}
}

func TestRegisterBothPINProtocolsAndLegacyToken(t *testing.T) {
	for name, o := range map[string]virtualkey.Options{
		"protocol1":   {PINProtocols: []int{1}},
		"protocol2":   {PINProtocols: []int{2}},
		"getPinToken": {LegacyPINToken: true},
	} {
		t.Run(name, func(t *testing.T) {
			path, _ := plug(t, o)
			if err := fido.SetPIN(path, "135790"); err != nil {
				t.Fatal(err)
			}
			registerAndVerify(t, path, "135790")
		})
	}
}

func TestRelyingPartyRejectsTampering(t *testing.T) {
	path, _ := plug(t, virtualkey.Options{})
	fido.SetPIN(path, "2468")
	rp, u := newRP(t), &rpUser{id: []byte("user-tamper")}
	opts, session := begin(t, rp, u)
	// Wrong origin: the RP must refuse.
	reg, err := fido.Register(context.Background(), path, fido.RegisterRequest{Options: opts, Origin: "https://evil.example", PIN: "2468"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(reg)
	// The response is well formed: only the origin is wrong, and only the
	// relying party's check can catch it.
	parsed, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		t.Fatalf("the response does not parse, so the origin check is never reached: %v", err)
	}
	if _, err = rp.CreateCredential(u, *session, parsed); err == nil {
		t.Fatal("a registration from the wrong origin was accepted")
	} else if !strings.Contains(strings.ToLower(fmt.Sprint(err)+" "+fido.ErrDetails(err)), "origin") {
		t.Fatalf("refused, but not for the origin: %v", err)
	}
}

func TestDiscoveryAndWatch(t *testing.T) {
	if ks, err := fido.Keys(); err != nil || len(ks) != 0 {
		t.Fatalf("keys before plugging: %v %v", ks, err)
	}
	if _, err := fido.One(); !errors.Is(err, fido.ErrNoKey) {
		t.Fatalf("One with none: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := fido.Watch(ctx, 20*time.Millisecond)
	if ks := <-w; len(ks) != 0 {
		t.Fatalf("first watch: %v", ks)
	}
	k1, _ := virtualkey.New(virtualkey.Options{Product: "Key One"})
	p1 := hidroute.Plug("watch1", k1)
	defer hidroute.Remove("watch1")
	if ks := <-w; len(ks) != 1 || ks[0].Path != p1 || ks[0].Product != "Key One" {
		t.Fatalf("arrival: %v", ks)
	}
	one, err := fido.One()
	if err != nil || one.Path != p1 {
		t.Fatalf("One: %v %v", one, err)
	}
	k2, _ := virtualkey.New(virtualkey.Options{})
	hidroute.Plug("watch2", k2)
	defer hidroute.Remove("watch2")
	if ks := <-w; len(ks) != 2 {
		t.Fatalf("second key: %v", ks)
	}
	if _, err := fido.One(); !errors.Is(err, fido.ErrSeveralKeys) {
		t.Fatalf("One with two: %v", err)
	}
	hidroute.Unplug("watch1")
	if ks := <-w; len(ks) != 1 || ks[0].Path == p1 {
		t.Fatalf("leave: %v", ks)
	}
}

func TestInfo(t *testing.T) {
	path, _ := plug(t, virtualkey.Options{MinPINLength: 6, MaxResident: 3, Product: "Test Key 5"})
	info, err := fido.GetInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.FIDO21 || info.PINSet || !info.ResidentKeys || !info.CredMgmt || info.MinPINLength != 6 ||
		info.RemainingResidentKeys != 3 || info.Product != "Test Key 5" || info.AAGUID != virtualkey.DefaultAAGUID ||
		len(info.PINProtocols) != 2 || info.PINProtocols[0] != 2 {
		t.Fatalf("%+v", info)
	}
	path2, _ := plug(t, virtualkey.Options{NoResidentKeys: true, NoCredMgmt: true})
	info, _ = fido.GetInfo(path2)
	if info.ResidentKeys || info.CredMgmt {
		t.Fatalf("%+v", info)
	}
}

func TestU2FOnlyKey(t *testing.T) {
	path, _ := plug(t, virtualkey.Options{U2FOnly: true})
	dev, _ := libfido2.NewDevice(path)
	if typ, err := dev.Type(); err != nil || typ != libfido2.U2F {
		t.Fatalf("libfido2 type %q %v", typ, err)
	}
	_, err := fido.GetInfo(path)
	var uk *fido.UnsupportedKeyError
	if !errors.As(err, &uk) || uk.Reason != fido.ReasonU2FOnly {
		t.Fatalf("got %v", err)
	}
}

func TestCheckPIN(t *testing.T) {
	cases := map[string]string{
		"123":                      fido.RuleTooShort,
		"12345":                    fido.RuleTooShort, // key wants 6
		"12\x003456":               fido.RuleNUL,
		strings.Repeat("é", 32):    fido.RuleTooLong, // 32 characters, 64 bytes
		"\xff\xfe\xfd\xfc\xfb\xfa": fido.RuleNotUTF8,
	}
	for pin, rule := range cases {
		var pe *fido.PINPolicyError
		if err := fido.CheckPIN(pin, 6); !errors.As(err, &pe) || pe.Rule != rule {
			t.Errorf("%q: got %v, want %s", pin, err, rule)
		}
	}
	for _, ok := range []string{"123456", "pässwörd", strings.Repeat("9", 63), "ab cd 12"} {
		if err := fido.CheckPIN(ok, 6); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	if err := fido.CheckPIN("1234", 0); err != nil {
		t.Error("minimum defaults to 4")
	}
}

func TestPINLifecycle(t *testing.T) {
	path, k := plug(t, virtualkey.Options{})
	st, err := fido.GetPINState(path)
	if err != nil || st.Set {
		t.Fatalf("fresh: %+v %v", st, err)
	}
	var pe *fido.PINPolicyError
	if err := fido.SetPIN(path, "12"); !errors.As(err, &pe) || pe.Rule != fido.RuleTooShort {
		t.Fatalf("short PIN: %v", err)
	}
	if err := fido.SetPIN(path, "1234"); err != nil {
		t.Fatal(err)
	}
	if st, _ := fido.GetPINState(path); !st.Set || st.Retries != 8 {
		t.Fatalf("after set: %+v", st)
	}
	var pw *fido.PINWrongError
	if err := fido.ChangePIN(path, "0000", "5678"); !errors.As(err, &pw) || pw.RetriesLeft != 7 {
		t.Fatalf("wrong old PIN: %v", err)
	}
	if err := fido.ChangePIN(path, "1234", "5678"); err != nil {
		t.Fatal(err)
	}
	if st, _ := fido.GetPINState(path); st.Retries != 8 {
		t.Fatalf("right PIN resets the counter: %+v", st)
	}
	// Three wrong tries block PIN use until the key is replugged.
	for i := 0; i < 2; i++ {
		fido.ChangePIN(path, "0000", "9999")
	}
	if err := fido.ChangePIN(path, "0000", "9999"); !errors.Is(err, fido.ErrPINAuthBlocked) {
		t.Fatalf("third wrong try: %v", err)
	}
	if err := fido.ChangePIN(path, "5678", "9999"); !errors.Is(err, fido.ErrPINAuthBlocked) {
		t.Fatalf("even the right PIN is refused until a power cycle: %v", err)
	}
	k.PowerCycle()
	// Five more wrong tries (8 in all) block the PIN for good.
	for i := 0; i < 5; i++ {
		if i == 3 {
			k.PowerCycle()
		}
		err := fido.ChangePIN(path, "0000", "9999")
		if i == 4 {
			if !errors.Is(err, fido.ErrPINBlocked) {
				t.Fatalf("8th wrong try: %v", err)
			}
		}
	}
	if st, _ := fido.GetPINState(path); !st.Blocked {
		t.Fatalf("state: %+v", st)
	}
	rp, u := newRP(t), &rpUser{id: []byte("blocked")}
	opts, _ := begin(t, rp, u)
	if _, err := fido.Register(context.Background(), path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "5678"}); !errors.Is(err, fido.ErrPINBlocked) {
		t.Fatalf("register with a blocked PIN: %v", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	ctx := context.Background()
	rp := newRP(t)
	reg := func(path, pin string, u *rpUser, ctx context.Context, o ...webauthn.RegistrationOption) error {
		opts, _ := begin(t, rp, u, o...)
		_, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: pin})
		return err
	}
	u := &rpUser{id: []byte("errors")}

	t.Run("PIN required", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		if err := reg(path, "", u, ctx); !errors.Is(err, fido.ErrPINRequired) {
			t.Fatal(err)
		}
	})
	t.Run("PIN not set", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{})
		if err := reg(path, "", u, ctx); !errors.Is(err, fido.ErrPINNotSet) {
			t.Fatal(err)
		}
	})
	t.Run("wrong PIN", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		var pw *fido.PINWrongError
		if err := reg(path, "1111", u, ctx); !errors.As(err, &pw) || pw.RetriesLeft != 7 {
			t.Fatal(err)
		}
	})
	t.Run("no touch in time", func(t *testing.T) {
		path, k := plug(t, virtualkey.Options{UPTimeout: 300 * time.Millisecond})
		fido.SetPIN(path, "2468")
		k.SetPresence(virtualkey.TouchNever)
		if err := reg(path, "2468", u, ctx); !errors.Is(err, fido.ErrTouchTimeout) {
			t.Fatal(err)
		}
	})
	t.Run("kiosk deadline", func(t *testing.T) {
		path, k := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		k.SetPresence(virtualkey.TouchHold)
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := reg(path, "2468", u, dctx); !errors.Is(err, fido.ErrTouchTimeout) {
			t.Fatal(err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		path, k := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		k.SetPresence(virtualkey.TouchHold)
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			for !k.Waiting() {
				time.Sleep(5 * time.Millisecond)
			}
			cancel() // the person pressed Esc while the key blinks
		}()
		if err := reg(path, "2468", u, cctx); !errors.Is(err, fido.ErrCancelled) {
			t.Fatal(err)
		}
		// The key is usable again at once.
		k.SetPresence(virtualkey.TouchAuto)
		if err := reg(path, "2468", u, ctx); err != nil {
			t.Fatalf("after cancel: %v", err)
		}
	})
	// duringTouch registers on a fresh key and runs act on its name once
	// the key blinks for the touch.
	duringTouch := func(t *testing.T, act func(name string)) (string, *virtualkey.Key, error) {
		path, k := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		k.SetPresence(virtualkey.TouchHold)
		go func() {
			for !k.Waiting() {
				time.Sleep(5 * time.Millisecond)
			}
			act(strings.TrimPrefix(path, hidroute.Prefix))
		}()
		return path, k, reg(path, "2468", u, ctx)
	}
	t.Run("key pulled mid-touch", func(t *testing.T) {
		if _, _, err := duringTouch(t, hidroute.Unplug); !errors.Is(err, fido.ErrKeyRemoved) {
			t.Fatal(err)
		}
	})
	// On Linux a pulled key's reads fail before its hidraw node leaves the
	// device list; Register looks again for about 200 ms before it calls
	// the key present.
	t.Run("key pulled mid-touch, device list lags", func(t *testing.T) {
		_, _, err := duringTouch(t, func(name string) { hidroute.UnplugLagging(name, 100*time.Millisecond) })
		if !errors.Is(err, fido.ErrKeyRemoved) {
			t.Fatal(err)
		}
	})
	t.Run("I/O fails mid-touch, key stays", func(t *testing.T) {
		path, k, err := duringTouch(t, hidroute.Glitch)
		var ke *fido.KeyError
		if !errors.As(err, &ke) || errors.Is(err, fido.ErrKeyRemoved) || !errors.Is(err, libfido2.ErrRX) {
			t.Fatalf("a key that is still there: %v", err)
		}
		k.SetPresence(virtualkey.TouchAuto)
		if err := reg(path, "2468", u, ctx); err != nil {
			t.Fatalf("after the glitch: %v", err)
		}
	})
	t.Run("key full", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{MaxResident: 1})
		fido.SetPIN(path, "2468")
		if err := reg(path, "2468", &rpUser{id: []byte("first")}, ctx); err != nil {
			t.Fatal(err)
		}
		if err := reg(path, "2468", &rpUser{id: []byte("second")}, ctx); !errors.Is(err, fido.ErrKeyFull) {
			t.Fatal(err)
		}
	})
	t.Run("no resident keys", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{NoResidentKeys: true})
		fido.SetPIN(path, "2468")
		var uk *fido.UnsupportedKeyError
		if err := reg(path, "2468", u, ctx); !errors.As(err, &uk) || uk.Reason != fido.ReasonNoResidentKeys {
			t.Fatal(err)
		}
	})
	t.Run("U2F only", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{U2FOnly: true})
		var uk *fido.UnsupportedKeyError
		if err := reg(path, "", u, ctx); !errors.As(err, &uk) || uk.Reason != fido.ReasonU2FOnly {
			t.Fatal(err)
		}
	})
	t.Run("operation denied", func(t *testing.T) {
		path, k := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		k.SetPresence(virtualkey.TouchDeny)
		if err := reg(path, "2468", u, ctx); !errors.Is(err, fido.ErrOperationDenied) {
			t.Fatal(err)
		}
	})
	t.Run("already registered", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		ru := &rpUser{id: []byte("dup")}
		opts, session := begin(t, rp, ru)
		r1, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"})
		if err != nil {
			t.Fatal(err)
		}
		ru.creds = append(ru.creds, *finish(t, rp, ru, session, r1))
		excl := []protocol.CredentialDescriptor{{Type: protocol.PublicKeyCredentialType, CredentialID: ru.creds[0].ID}}
		if err := reg(path, "2468", ru, ctx, webauthn.WithExclusions(excl)); !errors.Is(err, fido.ErrAlreadyRegistered) {
			t.Fatal(err)
		}
	})
	t.Run("PIN blocked by power-cycle limit", func(t *testing.T) {
		path, _ := plug(t, virtualkey.Options{})
		fido.SetPIN(path, "2468")
		for i := 0; i < 2; i++ {
			reg(path, "0000", u, ctx)
		}
		if err := reg(path, "0000", u, ctx); !errors.Is(err, fido.ErrPINAuthBlocked) {
			t.Fatal(err)
		}
	})
}

// TestExplain makes sure every error the kiosk can meet has its own
// reason, never a raw code, with the values its sentence needs; the
// sentences themselves are checked in every language by tui's
// TestKeyErrorsInEveryLanguage.
func TestExplain(t *testing.T) {
	errs := []error{fido.ErrNoKey, fido.ErrSeveralKeys, fido.ErrPINRequired, fido.ErrPINNotSet, fido.ErrPINBlocked,
		fido.ErrPINAuthBlocked, fido.ErrTouchTimeout, fido.ErrKeyRemoved, fido.ErrCancelled, fido.ErrKeyFull,
		fido.ErrOperationDenied, fido.ErrAlreadyRegistered, &fido.PINWrongError{RetriesLeft: 2}, &fido.PINWrongError{RetriesLeft: 6},
		&fido.PINPolicyError{Rule: fido.RuleTooShort, MinLen: 6}, &fido.PINPolicyError{Rule: fido.RuleTooLong},
		&fido.PINPolicyError{Rule: fido.RuleNUL}, &fido.PINPolicyError{Rule: fido.RuleKeyPolicy},
		&fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly}, &fido.UnsupportedKeyError{Reason: fido.ReasonNoResidentKeys},
		libfido2.Error{Code: -7}, errors.New("error -7")}
	seen := map[string]bool{}
	for _, e := range errs {
		reason, args := fido.Explain(e)
		m := fmt.Sprint(reason, args)
		if reason == "" || strings.Contains(m, "error -") || strings.Contains(m, "0x") || strings.Contains(m, "libfido2") || strings.Contains(m, "-7") {
			t.Errorf("%v: %q", e, m)
		}
		seen[m] = true
	}
	if len(seen) < len(errs)-2 {
		t.Errorf("reasons are not distinct enough: %d for %d errors", len(seen), len(errs))
	}
	if r, args := fido.Explain(libfido2.Error{Code: -7}); r != fido.ReasonOther || args != nil {
		t.Errorf("a raw code got %q %v", r, args)
	}
	if _, args := fido.Explain(&fido.PINPolicyError{Rule: fido.RuleTooShort, MinLen: 6}); len(args) != 1 || args[0] != 6 {
		t.Errorf("the minimum is not named: %v", args)
	}
}

// TestInfoAlgorithms: Info lists the key's credential algorithms from
// getInfo, in the key's order.
func TestInfoAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		opts virtualkey.Options
		want string
	}{
		{virtualkey.Options{}, "[-7 -8]"},
		{virtualkey.Options{Algorithms: []int{-8}}, "[-8]"},
		{virtualkey.Options{Attestation: "fido-u2f"}, "[-7]"},
	} {
		path, _ := plug(t, tc.opts)
		info, err := fido.GetInfo(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(info.Algorithms); got != tc.want {
			t.Errorf("%+v: algorithms %s, want %s", tc.opts, got, tc.want)
		}
	}
}
