package virtualkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestHMACSecretPRFVectors runs the key's hmac-secret processing on the
// test vectors of WebAuthn Level 3 §16 ("CTAP2 hmac-secret extension",
// w3c/webauthn index.bs at 146d0db03cb8), which map the prf extension onto
// hmac-secret: the key agreement keys and CredRandom are those the spec
// derives from its seed, salt_enc is the spec's. The key must find the
// spec's shared secret and salts, compute the spec's outputs, and (with
// protocol one, whose IV is zero) encrypt them to the spec's output_enc
// byte for byte.
func TestHMACSecretPRFVectors(t *testing.T) {
	seed := []byte("WebAuthn PRF test vectors")
	derive := func(b byte) []byte { h := sha256.Sum256(append(append([]byte{}, seed...), b)); return h[:] }
	x := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	platform, err := ecdh.P256().NewPrivateKey(derive(0x04))
	if err != nil {
		t.Fatal(err)
	}
	authenticator, err := ecdh.P256().NewPrivateKey(derive(0x05))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(authenticator.PublicKey().Bytes()[1:33]); got != "a30522c2de402b561965c3cf949a1cab020c6f6ea36fcf7e911ac1a0f1515300" {
		t.Fatalf("the authenticator's key agreement key is not the spec's: x %s", got)
	}
	credRandom := derive(0x06)
	// The spec's salt1 is the prf mapping of its first input, as a client
	// computes it: SHA-256("WebAuthn PRF" ‖ 0x00 ‖ first).
	prf := func(in []byte) []byte { h := sha256.Sum256(append([]byte("WebAuthn PRF\x00"), in...)); return h[:] }
	salt1, salt2 := prf(append(seed, 0x02)), prf(append(seed, 0x03))
	if !bytes.Equal(salt1, x("527413ebb48293772df30f031c5ac4650c7de14bf9498671ae163447b6a772b3")) ||
		!bytes.Equal(salt2, x("d68ac03329a10ee5e0ec834492bb9a96a0e547baf563bf78ccbe8789b22e776b")) {
		t.Fatal("prf salts differ from the spec's")
	}
	output1 := x("3c33e07d202c3b029cc21f1722767021bf27d595933b3d2b6a1b9d5dddc77fae")
	output2 := x("a62a8773b19cda90d7ed4ef72a80a804320dbd3997e2f663805ad1fd3293d50b")
	for _, tc := range []struct {
		name, shared, saltEnc, outputEnc string
		proto                            int
		want                             []byte
	}{
		{"protocol 2, one salt", "0c63083de8170101d38bcf8bd72309568ddb4550867e23404b35d85712f7c20d8bc911ee23c06034cbc14290b9669bec07739053c5a416e313ef905c79955876",
			"23dde5e3462daf36559b85c4ac5f9656aa9bfd81c1dc2bf8533c8b9f3882854786b4f500e25b4e3d81f7fc7c74236229",
			"3bfaa48f7952330d63e35ff8cd5bca48d2a12823828915749287256ab146272f9fb437bf65691243c3f504bd7ea6d5e6", 2, output1},
		{"protocol 2, two salts", "0c63083de8170101d38bcf8bd72309568ddb4550867e23404b35d85712f7c20d8bc911ee23c06034cbc14290b9669bec07739053c5a416e313ef905c79955876",
			"d9f4236403e0fe843a8e4e5be764d120904c198ad6e77b089876a3391961f183b0008b4ca66b91cd72aa35b6151ff981f6e5649f3c040e6615ad7dd8ae96ef23b229a5c97c3f0dcd8605eee166ce163a",
			"90ee52f739043bc17b3488a74306d7801debb5b61f18662c648a25b5b5678ede482cdaff99a537a44f064fcb10ce6e04dfd27619dc96a0daff8507e499296b1eecf0981f7c8518b277a7a3018f5ec6fb", 2, append(append([]byte{}, output1...), output2...)},
		{"protocol 1, one salt", "23e5ed7157c25892b77732fb9c8a107e3518800db2af4142f9f4adfacb771d39",
			"ab8c878bb05d04700f077ed91845ec9c503c925cb12b327ddbeb4243c397f913",
			"15d4e4f3f04109b492b575c1b38c28585b6719cf8d61304215108d939f37ccfb", 1, output1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, Options{PINProtocols: []int{tc.proto}})
			k.kaKey = authenticator
			p := pinProtocol(tc.proto)
			saltEnc := x(tc.saltEnc)
			// saltAuth as a platform makes it: authenticate(shared, saltEnc).
			m := hmac.New(sha256.New, p.hmacKey(x(tc.shared)))
			m.Write(saltEnc)
			saltAuth := m.Sum(nil)
			if tc.proto == 1 {
				saltAuth = saltAuth[:16]
			}
			pub := platform.PublicKey().Bytes()
			req := map[int]any{1: map[int]any{1: 2, 3: -25, -1: 1, -2: pub[1:33], -3: pub[33:65]}, 2: saltEnc, 3: saltAuth}
			if tc.proto == 2 {
				req[4] = 2
			}
			raw, _ := encMode.Marshal(req)
			in, err := k.hmacSecretIn(map[string]cbor.RawMessage{"hmac-secret": raw})
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(in.shared) != tc.shared {
				t.Fatalf("shared secret %x, the spec's %s", in.shared, tc.shared)
			}
			if want := append(append([]byte{}, salt1...), salt2...)[:len(tc.want)]; !bytes.Equal(in.salts, want) {
				t.Fatalf("salts %x, want %x", in.salts, want)
			}
			enc := in.output(&cred{CredRandom: make([]byte, 32), CredRandomUV: credRandom}, true)
			got, err := p.decrypt(in.shared, enc)
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("output %x (%v), the spec's %x", got, err, tc.want)
			}
			if tc.proto == 1 && hex.EncodeToString(enc) != tc.outputEnc {
				t.Fatalf("output_enc %x, the spec's %s", enc, tc.outputEnc)
			}
			if specOut, err := p.decrypt(in.shared, x(tc.outputEnc)); err != nil || !bytes.Equal(specOut, tc.want) {
				t.Fatalf("the spec's output_enc decrypts to %x (%v)", specOut, err)
			}
			// Without user verification the other CredRandom answers.
			if other, _ := p.decrypt(in.shared, in.output(&cred{CredRandom: make([]byte, 32), CredRandomUV: credRandom}, false)); bytes.Equal(other, tc.want) {
				t.Fatal("the same output without uv")
			}
			// A wrong saltAuth is refused.
			bad := append([]byte{}, saltAuth...)
			bad[0] ^= 1
			req[3] = bad
			raw, _ = encMode.Marshal(req)
			if _, err := k.hmacSecretIn(map[string]cbor.RawMessage{"hmac-secret": raw}); err != statusError(ctap2ErrPINAuthInvalid) {
				t.Fatalf("a wrong saltAuth: %v", err)
			}
		})
	}
}
