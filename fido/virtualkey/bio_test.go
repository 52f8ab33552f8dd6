package virtualkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestBioRules sends authenticatorBioEnrollment requests libfido2 never
// would (CTAP 2.1 §6.7): the wrong permission or modality, a template id
// that is not the one being enrolled, the 2.1 command byte; and checks
// that an enrolled finger survives a restart and makes the key a UV key.
func TestBioRules(t *testing.T) {
	state := filepath.Join(t.TempDir(), "key.json")
	k := newKey(t, Options{Bio: true, BioSamples: 2, StatePath: state})
	send := func(cmd byte, req map[int]any) (byte, map[int]any) {
		t.Helper()
		resp := k.handleCBOR(context.Background(), mustEnc(t, cmd, req), func(byte) {})
		var out map[int]any
		if len(resp) > 1 {
			if err := cbor.Unmarshal(resp[1:], &out); err != nil {
				t.Fatal(err)
			}
		}
		return resp[0], out
	}
	signed := func(sub byte, params map[int]any) map[int]any {
		req := map[int]any{1: 1, 2: sub, 4: 2}
		msg := []byte{1, sub}
		if params != nil {
			p, _ := encMode.Marshal(params)
			req[3] = cbor.RawMessage(p)
			msg = append(msg, p...)
		}
		mac := hmac.New(sha256.New, k.token)
		mac.Write(msg)
		req[5] = mac.Sum(nil)
		return req
	}
	if st, out := send(cmdBioEnroll, map[int]any{6: true}); st != ctap1Success || out[1] != uint64(1) {
		t.Fatalf("getModality: %#x %v", st, out)
	}
	if st, out := send(cmdBioEnroll, map[int]any{1: 1, 2: bioGetSensorInfo}); st != ctap1Success || out[2] != uint64(1) || out[3] != uint64(2) {
		t.Fatalf("sensor info: %#x %v", st, out)
	}
	if st, _ := send(cmdBioEnroll, map[int]any{1: 2, 2: bioGetSensorInfo}); st != ctap2ErrUnsupportedOption {
		t.Fatalf("modality 2: %#x", st)
	}
	if st, _ := send(cmdBioEnroll, map[int]any{1: 1, 2: 0x08}); st != ctap2ErrInvalidSubcommand {
		t.Fatalf("subcommand 8: %#x", st)
	}
	if st, _ := send(cmdBioEnroll, map[int]any{1: 1, 2: bioEnrollBegin}); st != ctap2ErrPUATRequired {
		t.Fatalf("begin without pinUvAuthParam: %#x", st)
	}
	if st, _ := send(cmdBioEnroll, signed(bioEnrollBegin, nil)); st != ctap2ErrPINNotSet {
		t.Fatalf("begin on a key without a PIN: %#x", st)
	}
	k.mu.Lock()
	h := sha256.Sum256([]byte("2468"))
	k.st.PINHash, k.st.PINLength = h[:16], 4
	k.tokenPerms = permMakeCredential | permGetAssertion | permCredMgmt
	k.mu.Unlock()
	if st, _ := send(cmdBioEnroll, signed(bioEnrollBegin, nil)); st != ctap2ErrUnauthorizedPermission {
		t.Fatalf("token without be: %#x", st)
	}
	k.tokenPerms = permBioEnroll
	if st, _ := send(cmdBioEnroll, signed(bioEnumerate, nil)); st != ctap2ErrInvalidOption {
		t.Fatalf("enumerate with no fingers: %#x", st)
	}
	k.QueueSamples(SamplePoorQuality)
	st, out := send(cmdBioEnroll, signed(bioEnrollBegin, map[int]any{3: 1000}))
	id, _ := out[4].([]byte)
	if st != ctap1Success || len(id) == 0 || out[5] != uint64(SamplePoorQuality) || out[6] != uint64(2) {
		t.Fatalf("begin with a poor sample: %#x %v", st, out)
	}
	if st, _ := send(cmdBioEnroll, signed(bioEnrollNext, map[int]any{1: []byte("another"), 3: 1000})); st != ctap2ErrInvalidOption {
		t.Fatalf("next with another template id: %#x", st)
	}
	for want := 1; want >= 0; want-- {
		if st, out := send(cmdBioEnrollPreview, signed(bioEnrollNext, map[int]any{1: id})); st != ctap1Success || out[6] != uint64(want) {
			t.Fatalf("next: %#x %v, want %d remaining", st, out, want)
		}
	}
	if st, _ := send(cmdBioEnroll, signed(bioSetFriendlyName, map[int]any{1: id, 2: string(make([]byte, 65))})); st != ctap1ErrInvalidParameter {
		t.Fatalf("65-byte name: %#x", st)
	}
	if st, _ := send(cmdBioEnroll, signed(bioSetFriendlyName, map[int]any{1: id, 2: "right thumb"})); st != ctap1Success {
		t.Fatalf("name: %#x", st)
	}

	// The finger outlives a restart, and makes uv true.
	k2 := newKey(t, Options{Bio: true, StatePath: state})
	opts := k2.getInfo().(map[int]any)[0x04].(map[string]bool)
	if !opts["bioEnroll"] || !opts["uv"] || !opts["userVerificationMgmtPreview"] || k2.Fingers() != 1 || k2.st.Templates[0].Name != "right thumb" {
		t.Fatalf("after restart: options %v, templates %+v", opts, k2.st.Templates)
	}
	if st, _ := send(cmdBioEnroll, signed(bioRemoveEnrollment, map[int]any{1: id})); st != ctap1Success || k.Fingers() != 0 {
		t.Fatalf("remove: %#x", st)
	}
	if opts := k.getInfo().(map[int]any)[0x04].(map[string]bool); opts["uv"] || opts["bioEnroll"] {
		t.Fatalf("no finger left, options %v", opts)
	}
	if st := k.handleCBOR(context.Background(), mustEnc(t, cmdBioEnroll, map[int]any{6: true}), func(byte) {})[0]; st != ctap1Success {
		t.Fatalf("%#x", st)
	}
	plain := newKey(t, Options{})
	if st := plain.handleCBOR(context.Background(), mustEnc(t, cmdBioEnrollPreview, map[int]any{6: true}), func(byte) {})[0]; st != ctap1ErrInvalidCommand {
		t.Fatalf("bio on a key without a sensor: %#x", st)
	}
	if _, ok := plain.getInfo().(map[int]any)[0x04].(map[string]bool)["bioEnroll"]; ok {
		t.Fatal("a key without a sensor lists bioEnroll")
	}
}

func TestParseSamples(t *testing.T) {
	s, err := ParseSamples("poor, timeout,good")
	if err != nil || len(s) != 3 || s[0] != SamplePoorQuality || s[1] != SampleTimeout || s[2] != SampleGood {
		t.Fatalf("%v %v", s, err)
	}
	if _, err := ParseSamples("poor,wet"); err == nil {
		t.Fatal("an unknown sample was taken")
	}
}
