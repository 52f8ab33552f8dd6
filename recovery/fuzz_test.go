package recovery

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzChallengeOf fuzzes the reading of a key's answer that decides which
// ceremony it spends. raw is any answer: challengeOf must not panic, and
// reads nothing from what is not JSON. challenge goes into a well-formed
// answer, with and without base64 padding: it must come back as it was.
func FuzzChallengeOf(f *testing.F) {
	answer := func(clientData string) []byte {
		b, _ := json.Marshal(map[string]any{"id": "x", "type": "public-key", "response": map[string]string{"clientDataJSON": clientData}})
		return b
	}
	cd := base64.RawURLEncoding.EncodeToString([]byte(`{"type":"webauthn.create","challenge":"q4Yp0vQjZcyU2NvW6VwqsQ","origin":"https://tapkiosk.test","crossOrigin":false}`))
	for _, raw := range [][]byte{
		answer(cd),
		answer(cd + "=="),
		answer(base64.StdEncoding.EncodeToString([]byte(`{"challenge":"a+b/c"}`))),
		answer("not base64!"),
		answer(base64.RawURLEncoding.EncodeToString([]byte(`{"challenge":1}`))),
		answer(base64.RawURLEncoding.EncodeToString([]byte(`not json`))),
		[]byte(`{"response":{"clientDataJSON":1}}`),
		[]byte(`{"response":null}`),
		[]byte(`{"RESPONSE":{"CLIENTDATAJSON":"` + cd + `"}}`),
		[]byte(`"just a string"`),
		[]byte(`null`),
		[]byte(``),
		[]byte(`{`),
	} {
		f.Add(raw, "q4Yp0vQjZcyU2NvW6VwqsQ")
	}
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`{}`), "a\"b\\c\u2028<>&")
	f.Fuzz(func(t *testing.T, raw []byte, challenge string) {
		if got := challengeOf(raw); got != "" && !json.Valid(raw) {
			t.Fatalf("read challenge %q from an answer that is not JSON: %q", got, raw)
		}
		if !utf8.ValidString(challenge) {
			return // JSON cannot carry it unchanged
		}
		cd, _ := json.Marshal(map[string]string{"type": "webauthn.create", "challenge": challenge, "origin": "https://tapkiosk.test"})
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding} {
			if got := challengeOf(answer(enc.EncodeToString(cd))); got != challenge {
				t.Fatalf("challenge %q came back as %q", challenge, got)
			}
		}
	})
}
