package server

// Fuzz targets for the WebAuthn answers: the registration (attestation)
// and the key check (assertion), each fuzzed as a whole body and field by
// field inside an otherwise real answer that libfido2 got once from a
// virtual key. Besides what every answer must be (fuzz_test.go), a body
// that names the waiting challenge spends it: the same body again, and
// then a good answer to that challenge, both get challengeInvalid.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// Holes a fuzz input may hold, filled in for each iteration: the challenge
// just issued, and (in a whole body) a real clientDataJSON naming it.
const (
	challengeHole  = "$CHALLENGE"
	clientDataHole = "$CLIENTDATA"
)

var b64 = base64.RawURLEncoding.EncodeToString

func fill(b []byte, ch string) []byte { return bytes.ReplaceAll(b, []byte(challengeHole), []byte(ch)) }

// keyAnswer is a real answer from a key, as the kiosk sends it, with its
// clientDataJSON made a template that can name any challenge. The key's
// signature covers the old clientDataJSON, so a filled-in answer gets past
// the challenge and is then refused, but for "none" attestation, which
// signs nothing: that one registers.
type keyAnswer struct {
	raw json.RawMessage
	cd  []byte // clientDataJSON with challengeHole for the challenge
}

func newKeyAnswer(t testing.TB, raw json.RawMessage) keyAnswer {
	t.Helper()
	a := keyAnswer{raw: raw}
	cd := a.field("clientDataJSON")
	var c struct{ Challenge string }
	if err := json.Unmarshal(cd, &c); err != nil || c.Challenge == "" {
		t.Fatalf("clientDataJSON %q: %v", cd, err)
	}
	a.cd = bytes.Replace(cd, []byte(c.Challenge), []byte(challengeHole), 1)
	return a
}

// field is one of the response's base64url fields, decoded.
func (a keyAnswer) field(name string) []byte {
	var m struct{ Response map[string]string }
	json.Unmarshal(a.raw, &m)
	b, _ := base64.RawURLEncoding.DecodeString(m.Response[name])
	return b
}

// with is the answer with the response's fields set to these strings.
func (a keyAnswer) with(set map[string]string) json.RawMessage {
	var m map[string]any
	json.Unmarshal(a.raw, &m)
	r := m["response"].(map[string]any)
	for k, v := range set {
		r[k] = v
	}
	out, _ := json.Marshal(m)
	return out
}

// answering is the answer to ch, with the response's fields set to these
// bytes.
func (a keyAnswer) answering(ch string, set map[string][]byte) json.RawMessage {
	s := map[string]string{"clientDataJSON": b64(fill(a.cd, ch))}
	for k, v := range set {
		s[k] = b64(v)
	}
	return a.with(s)
}

// credentialBody is a request body carrying the credential.
func credentialBody(cred json.RawMessage) []byte {
	return []byte(mustJSON(map[string]json.RawMessage{"publicKeyCredential": cred}))
}

// ceremonyFuzz is a signed-in session with a key on record, and real
// answers: two registrations (packed and none attestation) left waiting,
// and a key check of the key on record, also left waiting. Those three
// challenges can be answered once each, for real.
type ceremonyFuzz struct {
	*fuzzEnv
	session           []string
	packed, none, chk keyAnswer
	keyID             string
}

func newCeremonyFuzz(f *testing.F) *ceremonyFuzz {
	fe := newFuzzEnv(f)
	path, _ := plugKey(f, virtualkey.Options{})
	pathNone, _ := plugKey(f, virtualkey.Options{Attestation: "none"})
	k := fe.signIn("fuzz@example.com")
	packed, _ := keyResponse(f, k, path, nil)
	none, _ := keyResponse(f, k, pathNone, nil)
	m := register(f, k, path)
	ao, err := k.AssertionOptions(bg, m.ID)
	if err != nil {
		f.Fatal(err)
	}
	as, err := fido.Assert(bg, path, fido.AssertRequest{Options: ao.PublicKey, Origin: "https://" + testRPID, PIN: "2468"})
	if err != nil {
		f.Fatal(err)
	}
	chk, _ := json.Marshal(as)
	fe.secrets = append(fe.secrets, k.SessionToken)
	return &ceremonyFuzz{fuzzEnv: fe, keyID: m.ID,
		session: []string{"Authorization", "Bearer " + k.Token, api.SessionHeader, k.SessionToken},
		packed:  newKeyAnswer(f, packed), none: newKeyAnswer(f, none), chk: newKeyAnswer(f, chk)}
}

// challenge begins a ceremony at the options route and returns its challenge.
func (cf *ceremonyFuzz) challenge(t *testing.T, path string) string {
	t.Helper()
	a := cf.serve("POST", path, "application/json", nil, cf.session)
	var o struct{ PublicKey struct{ Challenge string } }
	if a.status != 201 || json.Unmarshal(a.body, &o) != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("POST %s: %d %s", path, a.status, a.body)
	}
	return o.PublicKey.Challenge
}

// namesChallenge is the test's own reading of a body: a request tapd
// decodes (one object of the request's type, no unknown fields, within
// the limit) whose credential's clientDataJSON names ch. tapd must spend
// ch on such a body, whatever it makes of the rest.
func namesChallenge(body []byte, req any, ch string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if len(body) > DefaultMaxBodyBytes || !isObject(body) || dec.Decode(req) != nil {
		return false
	}
	var r struct {
		PublicKeyCredential struct {
			Response struct{ ClientDataJSON string }
		}
	}
	json.Unmarshal(body, &r)
	cd, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(r.PublicKeyCredential.Response.ClientDataJSON, "="))
	var c struct{ Challenge string }
	return err == nil && json.Unmarshal(cd, &c) == nil && c.Challenge == ch
}

// fuzz runs the ceremony: a fresh challenge from optionsPath, the body
// build makes for it to answerPath, then the checks on spending it.
// probe answers well enough to get past the challenge check.
func (cf *ceremonyFuzz) fuzz(f *testing.F, optionsPath, answerPath string, req func() any, probe keyAnswer,
	build func(ch string, part uint8, data []byte) []byte) {
	f.Fuzz(func(t *testing.T, part uint8, data []byte) {
		ch := cf.challenge(t, optionsPath)
		body := build(ch, part, data)
		cf.send(t, "POST", answerPath, body, cf.session)
		named := namesChallenge(body, req(), ch)
		if named {
			if ae := cf.send(t, "POST", answerPath, body, cf.session); ae == nil || ae.Code != api.CodeChallengeInvalid {
				t.Fatalf("the same answer was taken twice: %q -> %+v", body, ae)
			}
		}
		ae := cf.send(t, "POST", answerPath, credentialBody(probe.answering(ch, nil)), cf.session)
		switch spent := ae != nil && ae.Code == api.CodeChallengeInvalid; {
		case named && !spent:
			t.Fatalf("after %q the challenge still took an answer: %+v", body, ae)
		case !named && spent:
			t.Fatalf("%q spent a challenge it does not name", body)
		}
	})
}

// FuzzRegisterFIDO2 fuzzes POST /v1/session/fido2Methods. part picks what
// data is: part%2 the answer (packed or none attestation), part%6/2 the
// whole body (with holes), the attestationObject, or the clientDataJSON
// (with holes).
func FuzzRegisterFIDO2(f *testing.F) {
	cf := newCeremonyFuzz(f)
	bodyWith := func(r api.RegisterFIDO2Request, a keyAnswer) []byte {
		r.PublicKeyCredential = a.with(map[string]string{"clientDataJSON": clientDataHole})
		return []byte(mustJSON(r))
	}
	for i, a := range []keyAnswer{cf.packed, cf.none} {
		p := uint8(i)
		f.Add(p, bodyWith(api.RegisterFIDO2Request{}, a))
		f.Add(p, bodyWith(api.RegisterFIDO2Request{DisplayName: "Blue key", KeyModel: "Virtual Key 5"}, a))
		f.Add(p, bodyWith(api.RegisterFIDO2Request{DisplayName: "Evil\x1b]0;x\x07", KeyModel: strings.Repeat("m", 100)}, a))
		f.Add(p, credentialBody(a.raw)) // the key's own answer, to a challenge still waiting
		ao := a.field("attestationObject")
		f.Add(p+2, ao)
		f.Add(p+2, ao[:len(ao)/2])
		f.Add(p+4, a.cd)
		f.Add(p+4, bytes.Replace(a.cd, []byte("webauthn.create"), []byte("webauthn.get"), 1))
		f.Add(p+4, bytes.Replace(a.cd, []byte("https://"), []byte("http://"), 1))
		f.Add(p+4, bytes.Replace(a.cd, []byte(challengeHole), []byte(challengeHole+"=="), 1))
		f.Add(p+4, bytes.Replace(a.cd, []byte(`"crossOrigin":false`), []byte(`"crossOrigin":true,"topOrigin":"https://evil.example"`), 1))
	}
	// The packed answer's attestation restated as none, which verifies.
	var ao map[string]any
	if err := cbor.Unmarshal(cf.packed.field("attestationObject"), &ao); err != nil {
		f.Fatal(err)
	}
	ao["fmt"], ao["attStmt"] = "none", map[string]any{}
	none, _ := cbor.Marshal(ao)
	f.Add(uint8(2), none)
	ao["fmt"], ao["attStmt"] = "packed", map[string]any{"alg": -7, "sig": []byte{0x30, 0}, "x5c": []any{[]byte("not a certificate")}}
	junk, _ := cbor.Marshal(ao)
	f.Add(uint8(2), junk)
	for _, s := range []string{`{}`, `null`, `{"publicKeyCredential":null}`, `{"publicKeyCredential":"just a string"}`,
		`{"publicKeyCredential":{}}`, `{"publicKeyCredential":{"response":{"clientDataJSON":"$CLIENTDATA"}}}`,
		`{"publicKeyCredential":{"response":{"clientDataJSON":"$CLIENTDATA","attestationObject":"oA"}},"displayName":"x"}`,
		`{"displayName":"x","keyModel":"y"}`} {
		f.Add(uint8(0), []byte(s))
	}
	for _, s := range []string{``, `{}`, `not json`, `{"challenge":"$CHALLENGE"}`, `{"type":"webauthn.create","challenge":1}`} {
		f.Add(uint8(4), []byte(s))
	}
	f.Add(uint8(2), []byte{})
	f.Add(uint8(2), []byte("\xff\x00garbage"))
	f.Add(uint8(2), []byte{0xa0})

	cf.fuzz(f, "/v1/session/fido2Methods/creationOptions", "/v1/session/fido2Methods",
		func() any { return &api.RegisterFIDO2Request{} }, cf.none, cf.registration)
}

// registration is the body of a registration answer for ch: part%2 picks
// the answer (packed or none attestation), part%6/2 what data is: the
// whole body (with holes), the attestationObject, or the clientDataJSON
// (with holes).
func (cf *ceremonyFuzz) registration(ch string, part uint8, data []byte) []byte {
	a := cf.packed
	if part%2 == 1 {
		a = cf.none
	}
	switch part % 6 / 2 {
	case 0:
		return bytes.ReplaceAll(fill(data, ch), []byte(clientDataHole), []byte(b64(fill(a.cd, ch))))
	case 1:
		return credentialBody(a.answering(ch, map[string][]byte{"attestationObject": data}))
	}
	return credentialBody(a.answering(ch, map[string][]byte{"clientDataJSON": fill(data, ch)}))
}

// FuzzCheckKey fuzzes POST /v1/session/fido2Methods/{id}/assertion. part%5
// picks what data is: the whole body (with holes), the authenticatorData,
// the clientDataJSON (with holes), the signature or the userHandle.
func FuzzCheckKey(f *testing.F) {
	cf := newCeremonyFuzz(f)
	fields := []string{"", "authenticatorData", "clientDataJSON", "signature", "userHandle"}
	a := cf.chk
	f.Add(uint8(0), credentialBody(a.with(map[string]string{"clientDataJSON": clientDataHole})))
	f.Add(uint8(0), credentialBody(a.raw)) // the key's own answer, to a challenge still waiting
	for _, s := range []string{`{}`, `null`, `{"publicKeyCredential":null}`, `{"publicKeyCredential":"just a string"}`,
		`{"publicKeyCredential":{"response":{"clientDataJSON":"$CLIENTDATA"}}}`, `{"publicKeyCredential":{},"displayName":"x"}`} {
		f.Add(uint8(0), []byte(s))
	}
	ad := a.field("authenticatorData")
	f.Add(uint8(1), ad)
	f.Add(uint8(1), ad[:len(ad)-1])
	f.Add(uint8(1), append(bytes.Clone(ad[:32]), 0x00, 0, 0, 0, 9))
	f.Add(uint8(1), []byte{})
	f.Add(uint8(2), a.cd)
	f.Add(uint8(2), bytes.Replace(a.cd, []byte("webauthn.get"), []byte("webauthn.create"), 1))
	f.Add(uint8(2), bytes.Replace(a.cd, []byte("https://"), []byte("https://evil."), 1))
	f.Add(uint8(2), []byte(`{"challenge":"$CHALLENGE"}`))
	f.Add(uint8(3), a.field("signature"))
	f.Add(uint8(3), []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00})
	f.Add(uint8(4), []byte("someone else"))
	f.Add(uint8(4), []byte{})

	cf.fuzz(f, "/v1/session/fido2Methods/"+cf.keyID+"/assertionOptions", "/v1/session/fido2Methods/"+cf.keyID+"/assertion",
		func() any { return &api.AssertionRequest{} }, a,
		func(ch string, part uint8, data []byte) []byte {
			if field := fields[part%5]; field != "" {
				if field == "clientDataJSON" {
					data = fill(data, ch)
				}
				return credentialBody(a.answering(ch, map[string][]byte{field: data}))
			}
			return bytes.ReplaceAll(fill(data, ch), []byte(clientDataHole), []byte(b64(fill(a.cd, ch))))
		})
}
