package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

var bg = context.Background()

// setup returns a simulator and a client whose waits are recorded, not slept.
func setup(t *testing.T) (*graphsim.Sim, *graph.Client, *[]time.Duration) {
	t.Helper()
	sim := graphsim.New()
	t.Cleanup(sim.Close)
	var waits []time.Duration
	c := &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken(sim.Token), HTTP: sim.Server.Client(),
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	return sim, c, &waits
}

func TestUsersAndPasses(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada Lovelace", "Member", false, "Engineering", "All staff")
	ext := sim.AddUser("bob_partner.com#EXT#@contoso.com", "Bob", "Guest", true)
	internalGuest := sim.AddUser("gus@contoso.com", "Gus", "Guest", false)

	u, res, err := c.GetUser(bg, "ADA@contoso.com")
	if err != nil || u.ID != id || u.External() || res.RequestID == "" || res.Attempts != 1 {
		t.Fatalf("user %+v %+v %v", u, res, err)
	}
	if gu, _, _ := c.GetUser(bg, ext); !gu.External() {
		t.Fatal("external guest not recognised")
	}
	if gu, _, _ := c.GetUser(bg, internalGuest); gu.External() {
		t.Fatal("an internal guest was taken for external")
	}
	gs, _, err := c.Groups(bg, id)
	if err != nil || len(gs) != 2 || gs[0].DisplayName != "Engineering" {
		t.Fatalf("groups %+v %v", gs, err)
	}
	_, _, err = c.GetUser(bg, "nobody@contoso.com")
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 404 || ge.RequestID == "" {
		t.Fatalf("unknown user: %v", err)
	}

	life, once := 90, true
	p, res, err := c.CreateTAP(bg, id, graph.CreateTAP{LifetimeInMinutes: &life, IsUsableOnce: &once})
	if err != nil || p.TemporaryAccessPass == nil || p.LifetimeInMinutes != 90 || !p.IsUsable || res.RequestID == "" {
		t.Fatalf("create %+v %v", p, err)
	}
	l, _, _ := c.ListTAP(bg, id)
	if len(l) != 1 || l[0].TemporaryAccessPass != nil || l[0].ID != p.ID {
		t.Fatalf("list shows the value or lost the pass: %+v", l)
	}
	sim.UseTAP(id)
	if l, _, _ = c.ListTAP(bg, id); l[0].IsUsable || l[0].MethodUsabilityReason != "OneTimeUsed" {
		t.Fatalf("usability %+v", l[0])
	}
	_, _, err = c.CreateTAP(bg, ext, graph.CreateTAP{})
	if !errors.As(err, &ge) || ge.Message != "Temporary Access Pass cannot be added to an external guest user." {
		t.Fatalf("external guest pass: %v", err)
	}
	if _, err := c.DeleteMethod(bg, id, "temporaryAccessPass", p.ID); err != nil {
		t.Fatal(err)
	}
	if l, _, _ = c.ListTAP(bg, id); len(l) != 0 {
		t.Fatal("pass not deleted")
	}
}

func TestMethods(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	phone := sim.AddMethod(id, "phone", "+1 555 0100")
	sim.AddMethod(id, "microsoftAuthenticator", "Ada's phone")
	ms, _, err := c.Methods(bg, id)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%+v %v", ms, err)
	}
	kinds := map[string]bool{}
	for _, m := range ms {
		kinds[m.Kind()] = true
	}
	if !kinds["password"] || !kinds["phone"] || !kinds["microsoftAuthenticator"] {
		t.Fatalf("kinds %v", kinds)
	}
	if _, err := c.DeleteMethod(bg, id, "phone", phone); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteMethod(bg, id, "phone", phone)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 404 {
		t.Fatalf("second delete: %v", err)
	}
}

func TestRetries(t *testing.T) {
	sim, c, waits := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)

	// 429 is retried for any method, honouring Retry-After.
	sim.Throttle(2, 7)
	_, res, err := c.CreateTAP(bg, id, graph.CreateTAP{})
	if err != nil || res.Attempts != 3 || len(*waits) != 2 || (*waits)[0] != 7*time.Second {
		t.Fatalf("throttled create: %+v %v waits %v", res, err, *waits)
	}
	// Retry-After beyond 30 s is honoured, up to MaxRetryAfter for the
	// whole call; past that the call fails at once, saying why.
	*waits = nil
	sim.Throttle(1, 90)
	if _, _, err := c.GetUser(bg, id); err != nil || len(*waits) != 1 || (*waits)[0] != 90*time.Second {
		t.Fatalf("90 s Retry-After: %v %v", *waits, err)
	}
	*waits = nil
	sim.Throttle(2, 70) // 140 s together, more than the 2 minutes
	_, res, err = c.GetUser(bg, id)
	var te *graph.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != 70*time.Second || te.Limit != graph.DefaultMaxRetryAfter || len(*waits) != 1 || res.Attempts != 2 ||
		!strings.Contains(err.Error(), "--graph-max-retry-after") {
		t.Fatalf("over the limit: %+v %v waits %v", res, err, *waits)
	}
	sim.ClearFaults()
	*waits = nil
	sim.Throttle(1, 3600)
	c.MaxRetryAfter = time.Hour
	if _, _, err := c.GetUser(bg, id); err != nil || (*waits)[0] != time.Hour {
		t.Fatalf("a configured limit: %v %v", *waits, err)
	}
	c.MaxRetryAfter = 0
	// Without Retry-After: 1 s doubling with jitter.
	*waits = nil
	sim.Fail(3, http.StatusServiceUnavailable)
	_, res, err = c.GetUser(bg, id)
	if err != nil || res.Attempts != 4 || len(*waits) != 3 {
		t.Fatalf("503 on a read: %+v %v", res, err)
	}
	for i, w := range *waits {
		base := time.Second << i
		if w < base*8/10 || w > base*12/10 {
			t.Errorf("wait %d = %v, want %v ±20%%", i, w, base)
		}
	}
	// 503 on a POST is not retried: Graph may have done it.
	sim.Fail(1, http.StatusServiceUnavailable)
	_, res, err = c.CreateTAP(bg, id, graph.CreateTAP{})
	if !errors.Is(err, graph.ErrUnavailable) || res.Attempts != 1 {
		t.Fatalf("503 on a POST: %+v %v", res, err)
	}
	// Bounded: after MaxAttempts the throttling error comes back.
	sim.Throttle(10, 1)
	_, res, err = c.GetUser(bg, id)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 429 || res.Attempts != 4 {
		t.Fatalf("exhausted: %+v %v", res, err)
	}
	sim.Throttle(0, 0)
}

func TestTimeoutOutageAndToken(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	// Graph holds each request a minute: only the per-attempt timeout can
	// end the call with four attempts and no answer (no wall-clock bound
	// that a loaded machine could trip).
	c.Timeout = 50 * time.Millisecond
	sim.Delay(time.Minute)
	_, res, err := c.GetUser(bg, id)
	if !errors.Is(err, graph.ErrUnavailable) || res.Attempts != 4 {
		t.Fatalf("timeouts: %+v %v", res, err)
	}
	sim.Delay(0)

	bad := &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken("wrong"), HTTP: sim.Server.Client()}
	_, _, err = bad.GetUser(bg, id)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != "InvalidAuthenticationToken" {
		t.Fatalf("bad token: %v", err)
	}

	sim.Close()
	_, _, err = c.GetUser(bg, id)
	if !errors.Is(err, graph.ErrUnavailable) || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("outage: %v", err)
	}
}

// register runs the kiosk's half against the simulator: options from
// Graph passed through unchanged, the origin from rp.id, the key through
// real libfido2.
func register(t *testing.T, c *graph.Client, userID string, attestation string) (graph.FIDO2Method, error) {
	t.Helper()
	opts, res, err := c.CreationOptions(bg, userID)
	if err != nil {
		return graph.FIDO2Method{}, err
	}
	if res.RequestID == "" || time.Until(opts.ChallengeTimeoutDateTime) > 5*time.Minute {
		t.Fatalf("options %+v", opts)
	}
	pk := opts.PublicKey
	if h, ok := pk.User.ID.(protocol.URLEncodedBase64); !ok || len(h) != 32 {
		t.Fatalf("user handle %#v", pk.User.ID)
	}
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, Attestation: attestation})
	fido.SetPIN(path, "2468")
	reg, err := fido.Register(bg, path, fido.RegisterRequest{Options: pk, Origin: "https://" + pk.RelyingParty.ID, PIN: "2468"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(reg)
	m, _, err := c.RegisterFIDO2(bg, userID, graph.RegisterFIDO2{DisplayName: "Virtual key", PublicKeyCredential: raw})
	return m, err
}

func TestFIDO2ThroughLibfido2(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	m, err := register(t, c, id, "packed")
	if err != nil || m.AAGUID != uuid.UUID(virtualkey.DefaultAAGUID).String() || m.DisplayName != "Virtual key" {
		t.Fatalf("%+v %v", m, err)
	}
	ms, _, _ := c.Methods(bg, id)
	found := false
	for _, x := range ms {
		found = found || (x.Kind() == "fido2" && x.ID == m.ID)
	}
	if !found {
		t.Fatal("the key is not listed")
	}
	if _, err := register(t, c, id, "none"); err != nil {
		t.Fatalf("none attestation: %v", err)
	}
	var ge *graph.Error
	if _, err := register(t, c, id, "fido-u2f"); !errors.As(err, &ge) || ge.Status != 400 || !strings.Contains(ge.Message, "packed or none") {
		t.Fatalf("fido-u2f: %v", err)
	}
	sim.BlockedAAGUIDs = []string{m.AAGUID}
	if _, err := register(t, c, id, "packed"); !errors.As(err, &ge) || !strings.Contains(ge.Message, "blocked") {
		t.Fatalf("key restriction: %v", err)
	}
	sim.BlockedAAGUIDs = nil
	sim.SelfServiceSetup = false
	if _, err := register(t, c, id, "packed"); !errors.As(err, &ge) || ge.Status != 403 {
		t.Fatalf("self-service off: %v", err)
	}
	if _, err := c.DeleteMethod(bg, id, "fido2", m.ID); err != nil {
		t.Fatal(err)
	}
}

func TestPolicies(t *testing.T) {
	sim, c, _ := setup(t)
	p, res, err := c.TAPPolicy(bg)
	if len(sim.Requests) != 1 || sim.Requests[0] != "GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass" {
		t.Errorf("TAP policy read as %q", sim.Requests)
	}
	if err != nil || p.State != "enabled" || p.DefaultLength != 8 || p.MaximumLifetimeInMinutes != 480 || len(p.IncludeTargets) != 1 ||
		p.IncludeTargets[0].ID != "all_users" || res.RequestID == "" {
		t.Fatalf("%+v %v", p, err)
	}
	if err := entra.TAPPolicyOf(p).Validate(); err != nil {
		t.Fatalf("the tenant's policy does not pass our own rules: %v", err)
	}
	sim.TAPPolicy["isUsableOnce"] = true
	sim.TAPPolicy["excludeTargets"] = []map[string]any{{"targetType": "group", "id": "5d3c1b4e-0000-4000-8000-000000000001"}}
	if p, _, _ = c.TAPPolicy(bg); !p.IsUsableOnce || len(p.ExcludeTargets) != 1 {
		t.Fatalf("changes not read: %+v", p)
	}
	sim.BlockedAAGUIDs = []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}
	sim.SelfServiceSetup = false
	sim.Requests = nil
	f, _, err := c.FIDO2Policy(bg)
	// The documented casing (fido2authenticationmethodconfiguration-get.md,
	// temporaryaccesspassauthenticationmethodconfiguration-get.md).
	if len(sim.Requests) == 0 {
		t.Error("the FIDO2 policy was read without a request")
	}
	for _, r := range sim.Requests {
		if r != "GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2" {
			t.Errorf("FIDO2 policy read as %q", sim.Requests)
		}
	}
	if err != nil || f.IsSelfServiceRegistrationAllowed || !f.KeyRestrictions.IsEnforced || f.KeyRestrictions.EnforcementType != "block" ||
		len(f.KeyRestrictions.AAGUIDs) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
}

// TestPasskeyProfilesEitherWay: the profiles are read whether Graph
// returns them inline (refusing $expand) or only under $expand; a refusal
// that is not the $expand's (403) is not retried without it.
func TestPasskeyProfilesEitherWay(t *testing.T) {
	for _, byExpand := range []bool{false, true} {
		sim, c, _ := setup(t)
		sim.DefaultPasskeyProfile = "00000000-0000-0000-0000-000000000001"
		sim.PasskeyProfiles = []map[string]any{{"id": sim.DefaultPasskeyProfile, "name": "Default passkey profile", "passkeyTypes": "deviceBound"}}
		sim.FIDO2Targets = []map[string]any{{"targetType": "group", "id": "all_users"}}
		sim.ProfilesByExpand = byExpand
		f, _, err := c.FIDO2Policy(bg)
		if err != nil || len(f.PasskeyProfiles) != 1 || f.PasskeyProfiles[0].Name != "Default passkey profile" {
			t.Fatalf("byExpand=%v: %+v %v", byExpand, f, err)
		}
		want := 1
		if !byExpand {
			want = 2 // the $expand refused, then the plain read
		}
		if len(sim.Requests) != want || !strings.Contains(strings.ToLower(sim.Requests[0]), "/fido2") {
			t.Fatalf("byExpand=%v: requests %q", byExpand, sim.Requests)
		}
		sim.Requests = nil
		sim.Revoke("Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod")
		if _, _, err := c.FIDO2Policy(bg); err == nil || len(sim.Requests) != 1 {
			t.Fatalf("byExpand=%v: a 403 was retried without $expand: %q %v", byExpand, sim.Requests, err)
		}
	}
}

// TestCreationOptionsUserHandle: a user handle that is not base64url text
// is refused here rather than handed on to the kiosk.
func TestCreationOptionsUserHandle(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"publicKey":{"rp":{"id":"login.microsoft.com"},"challenge":"AAEC","user":{"id":"AAEC"}}}`:        true,
		`{"publicKey":{"rp":{"id":"login.microsoft.com"},"challenge":"AAEC","user":{"id":"not base64!"}}}`: false,
		`{"publicKey":{"rp":{"id":"login.microsoft.com"},"challenge":"AAEC","user":{"id":42}}}`:            false,
		`{"publicKey":{"rp":{"id":""},"challenge":"AAEC","user":{"id":"AAEC"}}}`:                           false,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		c := &graph.Client{BaseURL: srv.URL, Tokens: graph.StaticToken("t")}
		o, _, err := c.CreationOptions(bg, "u")
		srv.Close()
		if got := err == nil; got != ok {
			t.Errorf("%s: err %v", body, err)
		}
		if h, _ := o.PublicKey.User.ID.(protocol.URLEncodedBase64); ok && string(h) != "\x00\x01\x02" {
			t.Errorf("%s: handle %#v", body, o.PublicKey.User.ID)
		}
	}
}

// TestEmptyAnswerIsNotSuccess: a 200 with no body where a JSON answer is
// expected is an error, not a user with every field empty.
func TestEmptyAnswerIsNotSuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	c := &graph.Client{BaseURL: srv.URL, Tokens: graph.StaticToken("t"), HTTP: srv.Client()}
	u, _, err := c.GetUser(bg, "ada@contoso.com")
	if err == nil || !strings.Contains(err.Error(), "empty answer") {
		t.Fatalf("an empty 200: %+v %v", u, err)
	}
}

// TestProbeShowsAnEmptyAnswer: Probe (tapd entra-check) gives back
// whatever Graph answered, an empty 200 included, as it did before the
// calls that decode an answer began refusing an empty one.
func TestProbeShowsAnEmptyAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	c := &graph.Client{BaseURL: srv.URL, Tokens: graph.StaticToken("t"), HTTP: srv.Client()}
	st, body, res, err := c.Probe(bg, http.MethodGet, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2", nil, nil)
	if err != nil || st != http.StatusOK || len(body) != 0 || res.Attempts != 1 {
		t.Fatalf("an empty 200 through Probe: status %d, body %q, %+v, %v", st, body, res, err)
	}
}
