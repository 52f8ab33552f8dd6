package entra

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	for in, want := range map[string]string{
		"ClientSecretCredential: authentication failed\nPOST https://x/token\n--------\nAADSTS90002: Tenant 'fabrikam.example' not found. Check to make sure.\nTrace ID: 1": "AADSTS90002: Tenant 'fabrikam.example' not found.",
		"AADSTS7000215: Invalid client secret provided": "AADSTS7000215: Invalid client secret provided",
		"dial tcp: connection refused":                  "tapd could not sign in to Entra ID: dial tcp: connection refused",
	} {
		if got := Explain(errors.New(in)); !strings.HasSuffix(got, want) {
			t.Errorf("Explain(%q) = %q, want …%q", in, got, want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "s")
	os.WriteFile(secret, []byte("\n"), 0o600)
	good := Settings{TenantID: "t", ClientID: "c", SecretFile: secret}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := good.Credential(); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty secret file: %v", err)
	}
	mi := Settings{ManagedIdentity: true}
	if err := mi.Validate(); err != nil {
		t.Fatalf("a managed identity needs no tenant or client: %v", err)
	}
	bad := Settings{CertificateFile: "x", AuthorityHost: "http://login.example"}
	err := bad.Validate()
	for _, want := range []string{"--tenant-id", "--client-id", "--authority-host"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %s", err, want)
		}
	}
	pem := filepath.Join(dir, "bad.pem")
	os.WriteFile(pem, []byte("not pem"), 0o600)
	if _, err := (Settings{TenantID: "t", ClientID: "c", CertificateFile: pem}).Credential(); err == nil || !strings.Contains(err.Error(), "unencrypted private key") {
		t.Fatalf("bad PEM: %v", err)
	}
}
