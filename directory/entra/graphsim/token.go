package graphsim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// The identity side of the simulated tenant: the Microsoft identity
// platform's OpenID configuration and token endpoints, which azidentity
// calls for client credentials, and an App Service-style managed identity
// endpoint. They hand out Sim.Token only to the registered app, checking
// the secret or the signed client assertion as Entra does. The AADSTS
// codes are Entra's documented ones for each mistake.

// apps is who may get a token.
type apps struct {
	mu             sync.Mutex
	tenantID       string
	clientID       string
	secret         string
	cert           *x509.Certificate
	identityHeader string
	// Tokens counts the tokens handed out.
	tokens int
}

// RegisterApp sets the tenant and the app registration that may sign in,
// with a client secret and/or a certificate.
func (s *Sim) RegisterApp(tenantID, clientID, secret string, cert *x509.Certificate) {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	s.apps.tenantID, s.apps.clientID, s.apps.secret, s.apps.cert = tenantID, clientID, secret, cert
}

// EnableManagedIdentity lets a caller that sends header get a token from
// /msi/token, as App Service's IDENTITY_ENDPOINT does.
func (s *Sim) EnableManagedIdentity(header string) {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	s.apps.identityHeader = header
}

// TokensIssued says how many tokens the simulator handed out.
func (s *Sim) TokensIssued() int {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	return s.apps.tokens
}

// AuthorityHost is the base URL to give azidentity as the authority.
func (s *Sim) AuthorityHost() string { return s.Server.URL + "/" }

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc,
		"error_codes": []int{aadstsCode(desc)}, "trace_id": "00000000-0000-0000-0000-000000000000"})
}

func aadstsCode(desc string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(desc, ":", 2)[0], "AADSTS"))
	return n
}

func (s *Sim) identityRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := s.Server.URL + "/" + r.PathValue("tenant")
		writeJSON(w, http.StatusOK, map[string]any{"token_endpoint": base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /msi/token", s.managedIdentityToken)
	return mux
}

func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	a := &s.apps
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	tenant, client := r.PathValue("tenant"), r.PostForm.Get("client_id")
	switch {
	case a.tenantID == "" || tenant != a.tenantID:
		oauthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenant))
		return
	case r.PostForm.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
		return
	case client != a.clientID:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", client))
		return
	}
	if secret := r.PostForm.Get("client_secret"); secret != "" {
		if a.secret == "" || secret != a.secret {
			oauthError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", client))
			return
		}
	} else if !s.validAssertion(r.PostForm.Get("client_assertion"), tenant, client) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.")
		return
	}
	a.tokens++
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": s.Token})
}

// validAssertion checks a client assertion JWT as Entra does: signed by
// the registered certificate, issued by and about the client, for this
// tenant's token endpoint. Called with s.apps.mu held.
func (s *Sim) validAssertion(assertion, tenant, client string) bool {
	cert := s.apps.cert
	if cert == nil || assertion == "" {
		return false
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return false
	}
	aud := s.Server.URL + "/" + tenant + "/oauth2/v2.0/token"
	tok, err := jwt.Parse(assertion, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithAudience(aud), jwt.WithIssuer(client), jwt.WithSubject(client), jwt.WithExpirationRequired())
	return err == nil && tok.Valid
}

func (s *Sim) managedIdentityToken(w http.ResponseWriter, r *http.Request) {
	a := &s.apps
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.identityHeader == "" || r.Header.Get("X-IDENTITY-HEADER") != a.identityHeader {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "Unauthorized request: the identity header is missing or wrong."})
		return
	}
	a.tokens++
	exp := s.now().Unix() + 3600
	b, _ := json.Marshal(map[string]any{"access_token": s.Token, "expires_on": strconv.FormatInt(exp, 10),
		"resource": r.URL.Query().Get("resource"), "token_type": "Bearer"})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
