package virtualkey

import (
	"encoding/binary"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestAlgorithmPreference: the key takes the first algorithm of
// pubKeyCredParams it supports (CTAP 2.1 §6.1.2), so the relying party's
// order decides between ES256 and EdDSA, and a list of only unknown
// algorithms is CTAP2_ERR_UNSUPPORTED_ALGORITHM.
func TestAlgorithmPreference(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		params []int
		want   int // COSE alg of the credential, or 0 for unsupported
	}{
		{"EdDSA first", Options{}, []int{-8, -7}, -8},
		{"ES256 first", Options{}, []int{-7, -8}, -7},
		{"unknown skipped", Options{}, []int{-257, -35, -8, -7}, -8},
		{"only unknown", Options{}, []int{-257}, 0},
		{"fido-u2f makes ES256 only", Options{Attestation: "fido-u2f"}, []int{-8, -7}, -7},
		{"fido-u2f without ES256", Options{Attestation: "fido-u2f"}, []int{-8}, 0},
		{"EdDSA-only key", Options{Algorithms: []int{-8}}, []int{-7, -8}, -8},
		{"EdDSA-only key, ES256 asked", Options{Algorithms: []int{-8}}, []int{-7}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, newKey(t, tc.opts))
			var params []map[string]any
			for _, a := range tc.params {
				params = append(params, map[string]any{"alg": a, "type": "public-key"})
			}
			resp := h.cbor(mustEnc(t, cmdMakeCredential, map[int]any{
				1: make([]byte, 32), 2: map[string]any{"id": "example.com"},
				3: map[string]any{"id": []byte("ada"), "name": "ada"}, 4: params,
			}))
			if tc.want == 0 {
				if resp[0] != ctap2ErrUnsupportedAlgorithm {
					t.Fatalf("status %x, want UNSUPPORTED_ALGORITHM", resp[0])
				}
				return
			}
			if resp[0] != ctap1Success {
				t.Fatalf("status %x", resp[0])
			}
			var out struct {
				AuthData []byte `cbor:"2,keyasint"`
			}
			if err := decMode.Unmarshal(resp[1:], &out); err != nil {
				t.Fatal(err)
			}
			n := binary.BigEndian.Uint16(out.AuthData[53:55])
			var key map[int]any
			if _, err := cbor.UnmarshalFirst(out.AuthData[55+n:], &key); err != nil {
				t.Fatal(err)
			}
			wantKty, wantCrv := int64(2), int64(1) // EC2, P-256
			if tc.want == -8 {
				wantKty, wantCrv = 1, 6 // OKP, Ed25519
			}
			if key[3] != int64(tc.want) || key[1] != uint64(wantKty) || key[-1] != uint64(wantCrv) {
				t.Fatalf("credential key %v, want alg %d kty %d crv %d", key, tc.want, wantKty, wantCrv)
			}
		})
	}
}

// TestAlgorithmsOption: a key makes ES256 and EdDSA only, and fido-u2f
// attestation ES256 only.
func TestAlgorithmsOption(t *testing.T) {
	for _, o := range []Options{{Algorithms: []int{-257}}, {Algorithms: []int{-8}, Attestation: "fido-u2f"}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) made a key", o)
		}
	}
}
