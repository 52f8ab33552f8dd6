package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/recovery"
)

func TestAttestationFormatsAndEnforcement(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, tc := range []struct{ format, level string }{{"packed", "attested"}, {"self", "notAttested"}, {"fido-u2f", "attested"}, {"none", "notAttested"}} {
		t.Run(tc.format, func(t *testing.T) {
			path, _ := plugKey(t, virtualkey.Options{Attestation: tc.format})
			k := e.signIn(tc.format + "@example.com")
			m := register(t, k, path)
			if m.AttestationLevel != tc.level {
				t.Fatalf("level %s", m.AttestationLevel)
			}
			// Enforced: only attested keys are accepted.
			enforced := true
			e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &enforced})
			defer func() { off := false; e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &off}) }()
			path2, _ := plugKey(t, virtualkey.Options{Attestation: tc.format})
			raw, _ := keyResponse(t, k, path2, nil)
			_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			if tc.level == "attested" && err != nil {
				t.Fatalf("attested key refused: %v", err)
			}
			if tc.level != "attested" {
				code(t, err, 403, api.CodeAttestationNotTrusted)
			}
		})
	}
	t.Run("enforced without trusted roots", func(t *testing.T) {
		e.reconfigure(func(c *recovery.Config) { c.Trust = nil })
		defer e.reconfigure(func(c *recovery.Config) { c.Trust = testTrust(t) })
		enforced := true
		e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &enforced})
		path, _ := plugKey(t, virtualkey.Options{})
		k := e.signIn("noroots@example.com")
		raw, _ := keyResponse(t, k, path, nil)
		_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
		code(t, err, 403, api.CodeAttestationNotTrusted)
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "noroots@example.com", Action: api.ActionRegisterFIDO2})
		if len(es) == 0 || es[0].ResultReason != "attestationNotTrusted" || es[0].Details["aaGuid"] != aaguid {
			t.Fatalf("audit %s", mustJSON(es))
		}
	})
}

func TestKeyRestrictions(t *testing.T) {
	e := newEnv(t, "sqlite")
	other := "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	for _, tc := range []struct {
		kind  string
		list  []string
		allow bool
	}{{"allow", []string{other}, false}, {"allow", []string{other, strings.ToUpper(aaguid)}, true}, {"block", []string{aaguid}, false}, {"block", []string{other}, true}} {
		t.Run(fmt.Sprintf("%s %v", tc.kind, tc.allow), func(t *testing.T) {
			p, err := e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{KeyRestrictions: &api.KeyRestrictions{IsEnforced: true, EnforcementType: tc.kind, AAGUIDs: tc.list}})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.KeyRestrictions.AAGUIDs {
				if a != strings.ToLower(a) {
					t.Fatal("AAGUIDs not normalised")
				}
			}
			path, _ := plugKey(t, virtualkey.Options{})
			k := e.signIn(fmt.Sprintf("kr-%d@example.com", keySeq.Add(1)))
			raw, _ := keyResponse(t, k, path, nil)
			_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
			if tc.allow && err != nil {
				t.Fatal(err)
			}
			if !tc.allow {
				code(t, err, 403, api.CodeKeyRestricted)
			}
		})
	}
}

func TestFIDO2PolicyAndAdminMethods(t *testing.T) {
	e := newEnv(t, "sqlite")
	p, err := e.admin.GetFIDO2Policy(bg)
	if err != nil || p.IsAttestationEnforced || p.KeyRestrictions.IsEnforced || len(p.TrustedRootSources) != 1 ||
		!strings.Contains(p.TrustedRootSources[0], "tapkiosk test attestation root") {
		t.Fatalf("default %s %v", mustJSON(p), err)
	}
	for _, bad := range []api.KeyRestrictions{{EnforcementType: "deny"}, {EnforcementType: "allow", AAGUIDs: []string{"not-a-guid"}}} {
		_, err := e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{KeyRestrictions: &bad})
		code(t, err, 400, api.CodeInvalidValue)
	}
	_, err = e.tokenClient("ro", api.RoleReader).UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{})
	code(t, err, 403, api.CodeForbidden)
	status, ae, _ := e.raw("PATCH", "/v1/policies/fido2", e.admin.Token, "application/json", []byte(`{"isAttestationEnforced":"yes"}`))
	if status != 400 || ae.Target != "isAttestationEnforced" {
		t.Fatalf("%d %+v", status, ae)
	}

	path, _ := plugKey(t, virtualkey.Options{})
	e.addUser(api.User{UserPrincipalName: "boss@example.com", AdminRole: api.RoleGlobalAdministrator})
	k := e.signIn("boss@example.com")
	m := register(t, k, path)
	auth := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
	code(t, auth.DeleteUserMethod(bg, "boss@example.com", m.ID), 403, api.CodeForbidden)
	code(t, e.admin.DeleteUserMethod(bg, "boss@example.com", "nope"), 404, api.CodeNotFound)
	if err := e.admin.DeleteUserMethod(bg, "boss@example.com", m.ID); err != nil {
		t.Fatal(err)
	}
	if ms, _ := e.admin.UserMethods(bg, "boss@example.com"); len(ms) != 1 || ms[0].Type != api.TypeTAP {
		t.Fatalf("%s", mustJSON(ms))
	}
}

// mdsFixture signs an MDS3 blob with a throwaway root, as the FIDO
// Alliance signs the real one, naming the virtual key's model.
func mdsFixture(t *testing.T, status string) (blobPath, rootPath string) {
	t.Helper()
	dir := t.TempDir()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test MDS Root"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test MDS Signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	ca, _ := virtualkey.TestCA()
	b64 := base64.StdEncoding.EncodeToString
	claims := jwt.MapClaims{"legalHeader": "test", "no": 42, "nextUpdate": "2027-01-01", "entries": []any{map[string]any{
		"aaguid": aaguid, "timeOfLastStatusChange": "2026-01-01",
		"statusReports":     []any{map[string]any{"status": status, "effectiveDate": "2026-01-01"}},
		"metadataStatement": map[string]any{"aaguid": aaguid, "description": "Tapkiosk Virtual Key (MDS)", "attestationRootCertificates": []string{b64(ca.Cert.Raw)}},
	}}}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["x5c"] = []string{b64(leafDER), b64(rootDER)}
	signed, err := tok.SignedString(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	blobPath, rootPath = filepath.Join(dir, "blob.jwt"), filepath.Join(dir, "mds-root.pem")
	os.WriteFile(blobPath, []byte(signed), 0o600)
	os.WriteFile(rootPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), 0o600)
	return blobPath, rootPath
}

func TestMDSBlob(t *testing.T) {
	blob, root := mdsFixture(t, "FIDO_CERTIFIED")
	tr, err := recovery.LoadTrust("", blob, root)
	if err != nil {
		t.Fatal(err)
	}
	if src := tr.Sources(); len(src) != 1 || !strings.Contains(src[0], "no. 42") || !strings.Contains(src[0], "Test MDS Root") {
		t.Fatalf("sources %v", src)
	}
	// A blob is checked against the production FIDO root by default: ours fails.
	if _, err := recovery.LoadTrust("", blob, ""); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("unverified blob loaded: %v", err)
	}
	// A tampered blob fails.
	raw, _ := os.ReadFile(blob)
	parts := strings.Split(string(raw), ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"no":43,"nextUpdate":"2027-01-01","entries":[]}`))
	tampered := filepath.Join(t.TempDir(), "bad.jwt")
	os.WriteFile(tampered, []byte(strings.Join(parts, ".")), 0o600)
	if _, err := recovery.LoadTrust("", tampered, root); err == nil {
		t.Fatal("a tampered blob loaded")
	}

	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) { c.Trust = tr })
	enforced := true
	e.admin.UpdateFIDO2Policy(bg, api.FIDO2PolicyPatch{IsAttestationEnforced: &enforced})
	path, _ := plugKey(t, virtualkey.Options{})
	k := e.signIn("mds@example.com")
	m := register(t, k, path)
	if m.Model != "Tapkiosk Virtual Key (MDS)" || m.AttestationLevel != "attested" {
		t.Fatalf("%+v", m)
	}
	// A model the metadata marks revoked is refused.
	blob2, root2 := mdsFixture(t, "REVOKED")
	tr2, err := recovery.LoadTrust("", blob2, root2)
	if err != nil {
		t.Fatal(err)
	}
	e.reconfigure(func(c *recovery.Config) { c.Trust = tr2 })
	path2, _ := plugKey(t, virtualkey.Options{})
	raw2, _ := keyResponse(t, k, path2, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw2})
	code(t, err, 403, api.CodeAttestationNotTrusted)
}
