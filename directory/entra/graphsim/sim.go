// Package graphsim is a Microsoft Graph simulator for tests: an httptest
// server that answers the documented shapes of the calls tapd makes in
// Entra mode. It checks the bearer token, the method and the path; keeps
// users, groups, passes and methods; verifies FIDO2 registrations with
// go-webauthn as Entra's relying party would (packed and none attestation
// only); and can throttle, fail or stall on demand. Error codes and
// messages for refusals are our best reading of Graph's documentation and
// need a real tenant to confirm (see the README).
package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// RPID is Entra ID's WebAuthn relying party id, as the documented
// example answer of fido2authenticationmethod-creationoptions.md gives it
// (rp {id "login.microsoftonline.com", name "Microsoft"}). tapd never
// relies on it: it takes the rp id from each answer. `tapd entra-check`
// prints what a real tenant says.
const RPID = "login.microsoftonline.com"

// Sim is one simulated tenant. It serves TLS, as Graph and the Entra
// token endpoints do (azidentity refuses a plain-HTTP authority).
type Sim struct {
	Server *httptest.Server
	// Token is the bearer token the simulator accepts; the token endpoint
	// (token.go) hands it out.
	Token string
	// Now is the tenant's clock; tests share theirs with tapd.
	Now func() time.Time
	// SelfServiceSetup mirrors the FIDO2 policy's "Allow self-service
	// setup", which the provisioning API needs on.
	SelfServiceSetup bool
	// BlockedAAGUIDs are refused at registration (a key restriction).
	BlockedAAGUIDs []string
	// TAPPolicy is the tenant's Temporary Access Pass policy, in Graph's
	// shape; tests change it freely.
	TAPPolicy map[string]any
	// PasskeyProfiles, DefaultPasskeyProfile and FIDO2Targets make the
	// FIDO2 policy a passkey-profile one, in the shapes of
	// passkeyprofile.md and passkeyauthenticationmethodtarget.md; with no
	// profiles the policy is the legacy one, targeting all_users.
	PasskeyProfiles       []map[string]any
	DefaultPasskeyProfile string
	FIDO2Targets          []map[string]any
	FIDO2Exclude          []map[string]any
	// ProfilesByExpand makes passkeyProfiles a relationship, as
	// fido2authenticationmethodconfiguration.md (v1.0) lists it: the GET
	// returns the profiles only when asked with $expand=passkeyProfiles.
	// Off, they come inline and $expand is refused (400), as Graph
	// refuses to expand what is not a navigation property.
	ProfilesByExpand bool
	// ProfilesCombine is how the simulated Entra combines several passkey
	// profiles that apply to one person at registration: "any" (one
	// allowing suffices, tapd's reading and the default) or "all" (each
	// must allow). The reference does not say; `tapd entra-check --write`
	// asks a real tenant.
	ProfilesCombine string
	// Extensions are the WebAuthn extension inputs the creation options
	// carry beside Graph's @odata.type (the documented example has none);
	// tests set credProtect and hmac-secret here.
	Extensions map[string]any
	// OmitCreateStart leaves startDateTime out of the answer to a create
	// that did not ask for a start: authentication-post-temporaryaccesspassmethods.md
	// makes it optional in the request and does not promise it back.
	OmitCreateStart bool

	mu      sync.Mutex
	revoked map[string]bool
	// extraGroups are groups added with AddGroup, by id: a group nobody
	// is in, or a second group with a name already used.
	extraGroups map[string]string
	rp          *webauthn.WebAuthn
	users       map[string]*user
	ceremonies  map[string]ceremony
	faults      []fault
	pageSize    int
	delay       time.Duration
	apps        apps
	// Requests records "METHOD path" of every call, for tests, and
	// ClientRequestIDs the client-request-id each carried ("" for none).
	Requests         []string
	ClientRequestIDs []string
}

type user struct {
	ID, UPN, DisplayName, UserType, ExternalUserState string
	Groups                                            []string
	handle                                            []byte
	tap                                               *tap
	methods                                           []method
	creds                                             []webauthn.Credential
	defaultMethod                                     string
}

type tap struct {
	ID, Value  string
	Created    time.Time
	Start      time.Time
	Lifetime   int
	Once, Used bool
}

type method struct {
	Type, ID, DisplayName string
	PhoneType             string
	Created               time.Time
	AAGUID, Model, Level  string
	credID                []byte
}

type ceremony struct {
	userID  string
	sd      webauthn.SessionData
	expires time.Time
}

// New starts a simulator; Close it when done.
func New() *Sim {
	rp, err := webauthn.New(&webauthn.Config{RPID: RPID, RPDisplayName: "Microsoft", RPOrigins: []string{"https://" + RPID},
		AttestationPreference: protocol.PreferDirectAttestation})
	if err != nil {
		panic(err)
	}
	s := &Sim{Token: "sim-token-" + uuid.NewString(), Now: time.Now, SelfServiceSetup: true, rp: rp, users: map[string]*user{}, ceremonies: map[string]ceremony{},
		// The example answer of temporaryaccesspassauthenticationmethodconfiguration-get.md,
		// enabled.
		TAPPolicy: map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "id": "TemporaryAccessPass",
			"state": "enabled", "defaultLifetimeInMinutes": 60, "defaultLength": 8, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480,
			"isUsableOnce": false, "includeTargets": []map[string]any{{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}},
			"excludeTargets": []map[string]any{}}}
	s.Server = httptest.NewTLSServer(s.routes())
	return s
}

func (s *Sim) now() time.Time { return s.Now().UTC() }

// URL is the base URL, like https://graph.microsoft.com/v1.0.
func (s *Sim) URL() string { return s.Server.URL + "/v1.0" }

// Close stops the simulator.
func (s *Sim) Close() { s.Server.Close() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// graphError writes Graph's error body.
func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"request-id": w.Header().Get("request-id"), "date": time.Now().UTC().Format(time.RFC3339)}}})
}

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/users", s.listUsers)
	mux.HandleFunc("GET /v1.0/users/{id}/authentication/fido2Methods", s.withUser(s.listFIDO2))
	mux.HandleFunc("GET /v1.0/users/{id}", s.withUser(s.getUser))
	mux.HandleFunc("GET /v1.0/users/{id}/transitiveMemberOf/microsoft.graph.group", s.withUser(s.groups))
	mux.HandleFunc("GET /v1.0/groups", s.listGroups)
	mux.HandleFunc("GET /v1.0/groups/{gid}", s.getGroup)
	mux.HandleFunc("GET /v1.0/groups/{gid}/transitiveMembers/microsoft.graph.user", s.groupUsers)
	mux.HandleFunc("POST /v1.0/users/{id}/authentication/temporaryAccessPassMethods", s.withUser(s.createTAP))
	mux.HandleFunc("GET /v1.0/users/{id}/authentication/temporaryAccessPassMethods", s.withUser(s.listTAP))
	mux.HandleFunc("GET /v1.0/users/{id}/authentication/methods", s.withUser(s.listMethods))
	mux.HandleFunc("DELETE /v1.0/users/{id}/authentication/{kind}/{mid}", s.withUser(s.deleteMethod))
	mux.HandleFunc("GET /v1.0/users/{id}/authentication/fido2Methods/creationOptions", s.withObjectID(s.creationOptions))
	mux.HandleFunc("POST /v1.0/users/{id}/authentication/fido2Methods", s.withObjectID(s.registerFIDO2))
	mux.HandleFunc("GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{config}", s.methodConfig)
	identity := s.identityRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
			identity.ServeHTTP(w, r)
			return
		}
		w.Header().Set("request-id", uuid.NewString())
		// Graph echoes the caller's client-request-id (best practices:
		// "client-request-id" in the request and response headers).
		if cid := r.Header.Get("client-request-id"); cid != "" {
			w.Header().Set("client-request-id", cid)
		}
		s.mu.Lock()
		s.Requests = append(s.Requests, r.Method+" "+r.URL.Path)
		s.ClientRequestIDs = append(s.ClientRequestIDs, r.Header.Get("client-request-id"))
		delay := s.delay
		f := s.takeFault(r.Method + " " + r.URL.Path)
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				// Cut the connection without an answer. A plain return
				// answered 200 with no body, and a client whose attempt
				// timed out as that answer came in could take it for
				// success (graph's TestTimeoutOutageAndToken under load:
				// one attempt, no error).
				panic(http.ErrAbortHandler)
			}
		}
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
			return
		}
		if need := needs(r.Method, r.URL.Path); !s.allowed(need) {
			graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		if f != nil {
			if f.retryAfter > 0 {
				w.Header().Set("Retry-After", fmt.Sprint(f.retryAfter))
			}
			graphError(w, f.status, f.code, f.msg)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
