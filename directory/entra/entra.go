// Package entra connects tapd to a Microsoft Entra ID tenant: how tapd
// signs in to Microsoft Graph (azidentity: a certificate, a secret file or
// a managed identity) and the start-up check that the sign-in and the
// permissions work. The Graph calls themselves are in package graph.
package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/internal/cli"
)

// Settings say which tenant and how tapd proves who it is. Exactly one of
// CertificateFile, SecretFile and ManagedIdentity is used.
type Settings struct {
	TenantID string
	ClientID string
	// CertificateFile is a PEM file holding the app's certificate and its
	// private key (preferred: nothing secret travels).
	CertificateFile string
	// SecretFile holds a client secret on its first line. A file, not a
	// flag, so the secret never shows in ps or shell history.
	SecretFile string
	// ManagedIdentity uses the Azure host's identity; ClientID then picks
	// a user-assigned identity and may be empty.
	ManagedIdentity bool
	// AuthorityHost is https://login.microsoftonline.com/ unless a
	// national cloud (or a test) says otherwise.
	AuthorityHost string
	// GraphURL is https://graph.microsoft.com/v1.0 by default.
	GraphURL string
	// MaxRetryAfter bounds how long tapd waits, in all, on Graph's
	// Retry-After for one call (--graph-max-retry-after); 0 is
	// graph.DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// HTTP carries every call; nil is http.DefaultClient.
	HTTP *http.Client
}

// DefaultGraphURL is Microsoft Graph v1.0 in the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

// The bounds of --graph-max-retry-after: at least 30 s (what tapd waited
// before it had the setting), at most 10 minutes, past which a person at
// the kiosk is better told to come back.
const (
	MinRetryAfterLimit = 30 * time.Second
	MaxRetryAfterLimit = 10 * time.Minute
)

// Validate names every missing or contradictory setting at once.
func (s Settings) Validate() error {
	var problems []error
	n := 0
	for _, set := range []bool{s.CertificateFile != "", s.SecretFile != "", s.ManagedIdentity} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		problems = append(problems, errors.New("the Entra directory needs a credential: --client-certificate FILE (preferred), --client-secret-file FILE or --managed-identity"))
	case n > 1:
		problems = append(problems, errors.New("give only one of --client-certificate, --client-secret-file and --managed-identity"))
	}
	if !s.ManagedIdentity {
		if s.TenantID == "" {
			problems = append(problems, errors.New("--tenant-id is required: the directory (tenant) id or domain of your Entra tenant"))
		}
		if s.ClientID == "" {
			problems = append(problems, errors.New("--client-id is required: the application (client) id of tapd's app registration"))
		}
	}
	if s.MaxRetryAfter != 0 && (s.MaxRetryAfter < MinRetryAfterLimit || s.MaxRetryAfter > MaxRetryAfterLimit) {
		problems = append(problems, fmt.Errorf("--graph-max-retry-after %s must be between %s and %s", s.MaxRetryAfter, MinRetryAfterLimit, MaxRetryAfterLimit))
	}
	for name, v := range map[string]string{"--graph-url": s.GraphURL, "--authority-host": s.AuthorityHost} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			problems = append(problems, fmt.Errorf("%s %q must be an https:// URL", name, v))
		}
	}
	return errors.Join(problems...)
}

// Credential builds the azidentity credential the settings describe.
func (s Settings) Credential() (azcore.TokenCredential, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	opts := azcore.ClientOptions{}
	if s.HTTP != nil {
		opts.Transport = s.HTTP
	}
	if s.AuthorityHost != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}
	}
	// A custom authority (a national cloud, or the test simulator) is
	// taken as given rather than looked up in Microsoft's instance list.
	noDiscovery := s.AuthorityHost != ""
	switch {
	case s.CertificateFile != "":
		pemData, err := cli.ReadPrivate("--client-certificate", s.CertificateFile)
		if err != nil {
			return nil, err
		}
		certs, key, err := azidentity.ParseCertificates(pemData, nil)
		if err != nil {
			return nil, fmt.Errorf("--client-certificate %s: %v (it must hold the certificate and its unencrypted private key, in PEM)", s.CertificateFile, err)
		}
		return azidentity.NewClientCertificateCredential(s.TenantID, s.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	case s.SecretFile != "":
		raw, err := cli.ReadPrivate("--client-secret-file", s.SecretFile)
		if err != nil {
			return nil, err
		}
		secret, _, _ := strings.Cut(string(raw), "\n")
		secret = strings.TrimSpace(secret)
		if secret == "" {
			return nil, fmt.Errorf("--client-secret-file %s is empty", s.SecretFile)
		}
		return azidentity.NewClientSecretCredential(s.TenantID, s.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	}
	mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
	if s.ClientID != "" {
		mo.ID = azidentity.ClientID(s.ClientID)
	}
	return azidentity.NewManagedIdentityCredential(mo)
}

// Tokens adapts an azidentity credential to graph.TokenSource. azidentity
// caches tokens and renews them before they expire.
type Tokens struct {
	Cred  azcore.TokenCredential
	Scope string
}

// Token returns a bearer token for Graph.
func (t Tokens) Token(ctx context.Context) (string, error) {
	tok, err := t.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{t.Scope}})
	if err != nil {
		return "", errors.New(Explain(err))
	}
	return tok.Token, nil
}

// Client builds the Graph client for the settings.
func (s Settings) Client() (*graph.Client, error) {
	cred, err := s.Credential()
	if err != nil {
		return nil, err
	}
	base := s.GraphURL
	if base == "" {
		base = DefaultGraphURL
	}
	u, _ := url.Parse(base)
	return &graph.Client{BaseURL: base, HTTP: s.HTTP, Tokens: Tokens{Cred: cred, Scope: u.Scheme + "://" + u.Host + "/.default"},
		MaxRetryAfter: s.MaxRetryAfter}, nil
}

var aadsts = regexp.MustCompile(`(?m)AADSTS\d+: .*?(?:\.\s|\.$|$)`)

// Explain shortens azidentity's long error to what an admin needs: the
// AADSTS code and sentence when Entra gave one. azidentity's text names
// the tenant and client but never the secret.
func Explain(err error) string {
	msg := err.Error()
	if m := aadsts.FindString(msg); m != "" {
		return "Entra ID refused tapd's sign-in: " + strings.TrimSpace(m)
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) && af.RawResponse != nil {
		return fmt.Sprintf("Entra ID refused tapd's sign-in (HTTP %d)", af.RawResponse.StatusCode)
	}
	if first, _, _ := strings.Cut(msg, "\n"); first != "" {
		return "tapd could not sign in to Entra ID: " + strings.TrimSpace(first)
	}
	return "tapd could not sign in to Entra ID"
}

// Cloud is the Microsoft cloud a Graph URL belongs to, and what of tapd's
// flow its Graph offers. Registration is false where
// fido2Methods/creationOptions does not exist: its v1.0 page says
// "global-only" (not US Government L4 or L5, not China).
type Cloud struct {
	Name         string
	Registration bool
}

// CloudOf names the cloud of a Graph base URL. A host that is not one of
// Microsoft's national Graph endpoints (the global one, a proxy, the test
// simulator) is taken for the global cloud.
func CloudOf(graphURL string) Cloud {
	u, err := url.Parse(graphURL)
	if err != nil {
		return Cloud{Name: "global", Registration: true}
	}
	switch strings.ToLower(u.Hostname()) {
	case "graph.microsoft.us":
		return Cloud{Name: "US Government L4"}
	case "dod-graph.microsoft.us":
		return Cloud{Name: "US Government L5 (DOD)"}
	case "microsoftgraph.chinacloudapi.cn":
		return Cloud{Name: "China (operated by 21Vianet)"}
	}
	return Cloud{Name: "global", Registration: true}
}

// NoRegistration is the sentence for a cloud without the registration
// API, logged at start-up and given to the kiosk.
func (c Cloud) NoRegistration() string {
	return fmt.Sprintf("Security keys cannot be registered through tapkiosk in the Microsoft %s cloud: Microsoft Graph offers the FIDO2 registration API (fido2Methods/creationOptions) only in the global cloud. Passes and removing lost methods still work; register keys in the Entra admin centre or at https://mysignins.microsoft.com.", c.Name)
}
