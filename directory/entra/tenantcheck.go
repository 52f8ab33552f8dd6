package entra

// tapd entra-check: make each call tapd makes against a test tenant and
// print what the tenant answered where Microsoft's v1.0 reference leaves
// the answer open. Read-only unless Write is set.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
)

// TenantCheck says whom to ask about and whether writes are allowed.
type TenantCheck struct {
	// User is a test member's UPN; required.
	User string
	// Guest is an external guest's UPN; "" skips the guest question.
	Guest string
	// Write allows the calls that change the tenant, each undone at once:
	// a pass for User (replacing User's pass!) and for Guest, and
	// software-made keys registered to User and deleted again.
	Write bool
}

// Run asks the tenant each open question and prints one line per answer
// to w. It fails only when it cannot reach Graph at all.
func (tc TenantCheck) Run(ctx context.Context, c *graph.Client, w io.Writer) error {
	say := func(q, format string, args ...any) { fmt.Fprintf(w, "%-36s %s\n", q+":", fmt.Sprintf(format, args...)) }
	answer := func(st int, body json.RawMessage, res graph.Result) string {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if st >= 300 && json.Unmarshal(body, &e) == nil {
			return fmt.Sprintf("HTTP %d %s %q (request-id %s)", st, e.Error.Code, e.Error.Message, res.RequestID)
		}
		return fmt.Sprintf("HTTP %d (request-id %s)", st, res.RequestID)
	}
	user := "/users/" + graph.PathEscape(tc.User)
	// The provisioning paths document /users/{id} only: they get the
	// object id, as tapd's own calls do.
	who, res, err := c.GetUser(ctx, tc.User)
	if err != nil {
		return fmt.Errorf("tapd could not look %s up in Microsoft Graph: %w", tc.User, err)
	}
	byID := "/users/" + graph.PathEscape(who.ID)
	say("user's object id", "%s (request-id %s)", who.ID, res.RequestID)

	// The policy path: the reference writes both .../Fido2 and .../fido2.
	for _, name := range []string{"Fido2", "fido2", "TemporaryAccessPass", "temporaryAccessPass"} {
		st, body, res, err := c.Probe(ctx, http.MethodGet, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"+name, nil, nil)
		if err != nil {
			return err
		}
		say("policy path ."+"../"+name, "%s", answer(st, body, res))
	}
	// passkeyProfiles is a relationship in v1.0: does the plain read carry
	// them, or only $expand? tapd reads both ways (graph.FIDO2Policy).
	st, body, res, _ := c.Probe(ctx, http.MethodGet, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2?$expand=passkeyProfiles", nil, nil)
	say("passkey profiles by $expand", "%s", answer(st, body, res))
	var plain graph.FIDO2Policy
	if st, body, _, _ := c.Probe(ctx, http.MethodGet, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2", nil, nil); st == http.StatusOK {
		json.Unmarshal(body, &plain)
		say("passkey profiles inline", "%d", len(plain.PasskeyProfiles))
	}
	pol, _, perr := c.FIDO2Policy(ctx)
	if perr == nil {
		say("self-service setup", "%v", pol.IsSelfServiceRegistrationAllowed)
		say("passkey profiles", "%d (default %q)", len(pol.PasskeyProfiles), pol.DefaultPasskeyProfile)
	}

	// The groups cast with and without what the docs require.
	cast := user + "/transitiveMemberOf/microsoft.graph.group?$select=id&$top=1"
	st, body, res, _ = c.Probe(ctx, http.MethodGet, cast, nil, nil)
	say("groups cast, bare", "%s", answer(st, body, res))
	st, body, res, _ = c.Probe(ctx, http.MethodGet, cast+"&$count=true", http.Header{"Consistencylevel": {"eventual"}}, nil)
	say("groups cast, eventual + $count", "%s", answer(st, body, res))

	// Creation options: the rp id, and the refusal when self-service is off.
	opts := func() (map[string]any, string) {
		st, body, res, _ := c.Probe(ctx, http.MethodGet, byID+"/authentication/fido2Methods/creationOptions", nil, nil)
		if st != http.StatusOK {
			return nil, answer(st, body, res)
		}
		var o map[string]any
		// OData annotations are not options: without them the
		// extensions line lists WebAuthn extensions only.
		json.Unmarshal(graph.StripAnnotations(body), &o)
		return o, ""
	}
	// Whether Graph takes a UPN there after all (v1.0 writes {id} only).
	st, body, res, _ = c.Probe(ctx, http.MethodGet, user+"/authentication/fido2Methods/creationOptions", nil, nil)
	say("creation options by UPN", "%s", answer(st, body, res))
	o, refusal := opts()
	if o == nil {
		q := "creation options refused"
		if !pol.IsSelfServiceRegistrationAllowed {
			q = "refusal, self-service off"
		}
		say(q, "%s", refusal)
	} else {
		pk, _ := o["publicKey"].(map[string]any)
		rp, _ := pk["rp"].(map[string]any)
		sel, _ := pk["authenticatorSelection"].(map[string]any)
		ext, _ := pk["extensions"].(map[string]any)
		say("rp id / name", "%v / %v", rp["id"], rp["name"])
		say("attachment / attestation", "%v / %v", sel["authenticatorAttachment"], pk["attestation"])
		say("extensions", "%v", keys(ext))
		say("challenge timeout", "%v (timeout %v ms)", o["challengeTimeoutDateTime"], pk["timeout"])
		if pol.IsSelfServiceRegistrationAllowed {
			say("refusal, self-service off", "not seen: self-service setup is on; turn it off and run again")
		}
	}
	if !tc.Write {
		fmt.Fprintln(w, "\nRead-only: run with --write to create and delete a pass and test keys (see the README).")
		return nil
	}

	// A pass without a start: is startDateTime in the answer?
	st, body, res, _ = c.Probe(ctx, http.MethodPost, user+"/authentication/temporaryAccessPassMethods", nil, map[string]any{"lifetimeInMinutes": 10, "isUsableOnce": true})
	var p struct {
		ID           string  `json:"id"`
		Created      *string `json:"createdDateTime"`
		Start        *string `json:"startDateTime"`
		MethodUsable string  `json:"methodUsabilityReason"`
		PassWasShown *string `json:"temporaryAccessPass"`
	}
	if st == http.StatusCreated && json.Unmarshal(body, &p) == nil {
		say("pass start in a create answer", "startDateTime %s, createdDateTime %s, %s", deref(p.Start), deref(p.Created), p.MethodUsable)
		c.DeleteMethod(ctx, tc.User, "temporaryAccessPass", p.ID)
	} else {
		say("pass start in a create answer", "%s", answer(st, body, res))
	}
	if tc.Guest != "" {
		st, body, res, _ = c.Probe(ctx, http.MethodPost, "/users/"+graph.PathEscape(tc.Guest)+"/authentication/temporaryAccessPassMethods", nil, map[string]any{"lifetimeInMinutes": 10})
		say("refusal, external guest's pass", "%s", answer(st, body, res))
		if st == http.StatusCreated && json.Unmarshal(body, &p) == nil {
			c.DeleteMethod(ctx, tc.Guest, "temporaryAccessPass", p.ID)
		}
	}

	// Keys made in software: a blocked model, then one key twice.
	kr := pol.KeyRestrictions
	if len(pol.PasskeyProfiles) > 0 {
		for _, pp := range pol.PasskeyProfiles {
			if strings.EqualFold(pp.ID, pol.DefaultPasskeyProfile) {
				kr = pp.KeyRestrictions
			}
		}
	}
	other := uuid.New()
	register := func(k *softKey) (int, json.RawMessage, graph.Result) {
		o, refusal := opts()
		if o == nil {
			return 0, json.RawMessage(refusal), graph.Result{}
		}
		pk, _ := o["publicKey"].(map[string]any)
		rp, _ := pk["rp"].(map[string]any)
		rpID, _ := rp["id"].(string)
		chal, _ := pk["challenge"].(string)
		st, body, res, _ := c.Probe(ctx, http.MethodPost, byID+"/authentication/fido2Methods",
			nil, map[string]any{"displayName": "tapd entra-check (delete me)", "publicKeyCredential": k.credential(rpID, chal)})
		return st, body, res
	}
	switch {
	case !kr.IsEnforced:
		say("refusal, blocked AAGUID", "not seen: the policy restricts no key model")
	default:
		blocked := other
		if kr.EnforcementType == "block" && len(kr.AAGUIDs) > 0 {
			blocked, _ = uuid.Parse(kr.AAGUIDs[0])
		}
		k := newSoftKey(blocked)
		st, body, res := register(k)
		say("refusal, blocked AAGUID", "%s", answer(st, body, res))
		deleteIfMade(ctx, c, tc.User, st, body)
	}
	allowed := other
	if kr.IsEnforced && kr.EnforcementType == "allow" && len(kr.AAGUIDs) > 0 {
		allowed, _ = uuid.Parse(kr.AAGUIDs[0])
	}
	k := newSoftKey(allowed)
	st1, body1, res1 := register(k)
	say("a software key (none attestation)", "%s", answer(st1, body1, res1))
	if st1 == http.StatusCreated {
		st2, body2, res2 := register(k)
		say("refusal, duplicate key", "%s", answer(st2, body2, res2))
		deleteIfMade(ctx, c, tc.User, st2, body2)
	}
	deleteIfMade(ctx, c, tc.User, st1, body1)
	tc.severalProfiles(ctx, c, pol, register, say, answer)
	return nil
}

// severalProfiles settles how several passkey profiles combine, which the
// reference leaves open (passkeyauthenticationmethodtarget.md: "List of
// passkey profiles scoped to the targets"). tapd reads "any one allowing
// suffices". Among the profiles that apply to the user, it looks for a key
// model (AAGUID) that one allows and another forbids, registers a software
// key of that model (device-bound, none attestation) and shows Graph's
// answer: 201 confirms tapd's reading, a refusal says every profile must
// allow. The key is deleted again.
func (tc TenantCheck) severalProfiles(ctx context.Context, c *graph.Client, pol graph.FIDO2Policy,
	register func(*softKey) (int, json.RawMessage, graph.Result), say func(q, format string, args ...any), answer func(int, json.RawMessage, graph.Result) string) {
	const q = "several passkey profiles"
	if len(pol.PasskeyProfiles) == 0 {
		say(q, "not settled: the tenant has no passkey profiles")
		return
	}
	gs, _, err := c.Groups(ctx, tc.User)
	if err != nil {
		say(q, "not settled: the user's groups could not be read: %v", err)
		return
	}
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	mine := profilesFor(pol, ids, profilesOf(pol))
	// takes reads a profile as tapd does for a device-bound key with none
	// attestation.
	takes := func(p directory.PasskeyProfile, aaguid string) bool {
		return (len(p.PasskeyTypes) == 0 || slices.Contains(p.PasskeyTypes, "deviceBound")) &&
			p.AttestationEnforcement != "registrationOnly" && p.KeyRestrictions.Allows(aaguid)
	}
	candidates := []string{uuid.NewString()}
	for _, p := range mine {
		candidates = append(candidates, p.KeyRestrictions.AAGUIDs...)
	}
	for _, a := range candidates {
		var yes, no []string
		for _, p := range mine {
			if takes(p, a) {
				yes = append(yes, p.Name)
			} else {
				no = append(no, p.Name)
			}
		}
		model, err := uuid.Parse(a)
		if len(yes) == 0 || len(no) == 0 || err != nil {
			continue
		}
		st, body, res := register(newSoftKey(model))
		verdict := "Graph took it: any one profile allowing suffices, as tapd reads it"
		if st != http.StatusCreated {
			verdict = "Graph refused it: every profile must allow, unlike tapd's reading; report this"
		}
		say(q, "AAGUID %s allowed by %q, forbidden by %q: %s. %s", a, yes, no, answer(st, body, res), verdict)
		deleteIfMade(ctx, c, tc.User, st, body)
		return
	}
	say(q, "not settled: the %d profile(s) that apply to %s agree on every key model; run with a --user in groups whose profiles disagree", len(mine), tc.User)
}

func deleteIfMade(ctx context.Context, c *graph.Client, upn string, st int, body json.RawMessage) {
	var m struct{ ID string }
	if st == http.StatusCreated && json.Unmarshal(body, &m) == nil && m.ID != "" {
		c.DeleteMethod(ctx, upn, "fido2", m.ID)
	}
}

func deref(s *string) string {
	if s == nil {
		return "(absent)"
	}
	return *s
}

func keys(m map[string]any) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// softKey is a passkey made in software with "none" attestation, enough
// to ask Entra how it answers a blocked model or a duplicate.
type softKey struct {
	aaguid uuid.UUID
	id     []byte
	key    *ecdsa.PrivateKey
}

func newSoftKey(aaguid uuid.UUID) *softKey {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 32)
	rand.Read(id)
	return &softKey{aaguid: aaguid, id: id, key: k}
}

// credential answers a challenge for rpID in the documented POST shape.
func (k *softKey) credential(rpID, challenge string) map[string]any {
	b64 := base64.RawURLEncoding
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": challenge, "origin": "https://" + rpID, "crossOrigin": false})
	enc, _ := cbor.CoreDetEncOptions().EncMode()
	pub, _ := k.key.PublicKey.ECDH()
	xy := pub.Bytes()[1:]
	cose, _ := enc.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: xy[:32], -3: xy[32:]})
	h := sha256.Sum256([]byte(rpID))
	ad := append(h[:], 0x01|0x04|0x40, 0, 0, 0, 0)
	ad = append(ad, k.aaguid[:]...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.id)))
	ad = append(append(ad, k.id...), cose...)
	att, _ := enc.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	return map[string]any{"id": b64.EncodeToString(k.id),
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att)}}
}
