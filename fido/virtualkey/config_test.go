package virtualkey

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// TestConfigRules sends authenticatorConfig requests libfido2 never
// would: a lower minimum, relying party IDs, no or a wrongly permitted
// pinUvAuthParam (CTAP 2.1 §6.11).
func TestConfigRules(t *testing.T) {
	k := newKey(t, Options{})
	send := func(req map[int]any) byte {
		t.Helper()
		return k.handleCBOR(context.Background(), mustEnc(t, cmdConfig, req), func(byte) {})[0]
	}
	minLen := func(n int) map[int]any {
		p, _ := encMode.Marshal(map[int]any{1: n})
		return map[int]any{1: cfgSetMinPINLength, 2: cbor.RawMessage(p)}
	}
	// No PIN: no pinUvAuthParam needed.
	if st := send(minLen(6)); st != ctap1Success {
		t.Fatalf("min 6: %#x", st)
	}
	if st := send(minLen(5)); st != ctap2ErrPINPolicyViolation {
		t.Fatalf("lower minimum: %#x", st)
	}
	if st := send(minLen(64)); st != ctap2ErrPINPolicyViolation {
		t.Fatalf("minimum no PIN can meet: %#x", st)
	}
	rpids, _ := encMode.Marshal(map[int]any{2: []string{"example.com"}})
	if st := send(map[int]any{1: cfgSetMinPINLength, 2: cbor.RawMessage(rpids)}); st != ctap1ErrInvalidParameter {
		t.Fatalf("minPinLengthRPIDs: %#x", st)
	}
	force, _ := encMode.Marshal(map[int]any{3: true})
	if st := send(map[int]any{1: cfgSetMinPINLength, 2: cbor.RawMessage(force)}); st != ctap2ErrPINNotSet {
		t.Fatalf("forceChangePin without a PIN: %#x", st)
	}
	if st := send(map[int]any{1: 0x01}); st != ctap2ErrInvalidSubcommand {
		t.Fatalf("enterprise attestation: %#x", st)
	}
	if st := send(map[int]any{}); st != ctap2ErrMissingParameter {
		t.Fatalf("no subcommand: %#x", st)
	}

	// With a PIN, the request needs a token with the acfg permission over
	// 32x0xff || 0x0d || subCommand || subCommandParams.
	k.mu.Lock()
	h := sha256.Sum256([]byte("246810"))
	k.st.PINHash, k.st.PINLength = h[:16], 6
	k.mu.Unlock()
	if st := send(map[int]any{1: cfgToggleAlwaysUV}); st != ctap2ErrPUATRequired {
		t.Fatalf("no pinUvAuthParam: %#x", st)
	}
	msg := append(bytes.Repeat([]byte{0xff}, 32), cmdConfig, cfgToggleAlwaysUV)
	mac := hmac.New(sha256.New, k.token)
	mac.Write(msg)
	param := mac.Sum(nil)
	signed := map[int]any{1: cfgToggleAlwaysUV, 3: 2, 4: param}
	k.tokenPerms = permMakeCredential | permCredMgmt
	if st := send(signed); st != ctap2ErrUnauthorizedPermission {
		t.Fatalf("token without acfg: %#x", st)
	}
	k.tokenPerms = permAuthnrCfg
	if st := send(map[int]any{1: cfgToggleAlwaysUV, 3: 2, 4: bytes.Repeat([]byte{1}, 32)}); st != ctap2ErrPINAuthInvalid {
		t.Fatalf("bad pinUvAuthParam: %#x", st)
	}
	if st := send(signed); st != ctap1Success || !k.st.AlwaysUV {
		t.Fatalf("toggle: %#x %v", st, k.st.AlwaysUV)
	}
	if k.st.ForcePINChange {
		t.Fatal("a 6-digit PIN forced to change at minimum 6")
	}
}

// TestResetWindow: reset only within ResetWindow of power-up; a replug
// opens the window again.
func TestResetWindow(t *testing.T) {
	now := time.Unix(0, 0)
	k := newKey(t, Options{Now: func() time.Time { return now }})
	reset := func() byte {
		return k.handleCBOR(context.Background(), []byte{cmdReset}, func(byte) {})[0]
	}
	now = now.Add(10 * time.Second)
	if st := reset(); st != ctap1Success {
		t.Fatalf("at 10 s: %#x", st)
	}
	now = now.Add(time.Millisecond)
	if st := reset(); st != ctap2ErrNotAllowed {
		t.Fatalf("after 10 s: %#x", st)
	}
	k.PowerCycle()
	if st := reset(); st != ctap1Success {
		t.Fatalf("after a power cycle: %#x", st)
	}
}
