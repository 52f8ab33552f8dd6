package virtualkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"sync"
	"time"
)

// CA is a test certificate authority for attestation certificates. Tests
// hand its certificate to a relying party as the trusted root.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var (
	testCAOnce sync.Once
	testCA     *CA
	testCAErr  error
)

// notBefore is fixed in the past so certificates are valid under the
// settable clocks tests use; real attestation certificates are often
// long-lived too.
var notBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// TestCA is one CA per process, used by keys made without Options.CA.
func TestCA() (*CA, error) {
	testCAOnce.Do(func() { testCA, testCAErr = NewCA() })
	return testCA, testCAErr
}

// NewCA makes a fresh self-signed CA.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"SE"}, Organization: []string{"tapkiosk test"}, CommonName: "tapkiosk test attestation root"},
		NotBefore:             notBefore,
		NotAfter:              time.Now().Add(20 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key}, nil
}

// LoadOrCreateCA keeps a CA in a PEM file, so a demo key's attestation
// chains to the same root across runs.
func LoadOrCreateCA(path string) (*CA, error) {
	if b, err := os.ReadFile(path); err == nil {
		var ca CA
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE":
				ca.Cert, err = x509.ParseCertificate(blk.Bytes)
			case "EC PRIVATE KEY":
				ca.key, err = x509.ParseECPrivateKey(blk.Bytes)
			}
			if err != nil {
				return nil, err
			}
		}
		if ca.Cert == nil || ca.key == nil {
			return nil, errors.New("virtualkey: CA file lacks a certificate or key")
		}
		return &ca, nil
	}
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	kb, _ := x509.MarshalECPrivateKey(ca.key)
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	return ca, os.WriteFile(path, out, 0o600)
}

// oidFIDOAAGUID is id-fido-gen-ce-aaguid: the certificate names the model.
var oidFIDOAAGUID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}

// issue makes an attestation key and a certificate meeting the packed
// format's rules (WebAuthn §8.2.1): version 3, subject C/O/OU/CN with OU
// "Authenticator Attestation", not a CA, and the AAGUID extension.
func (ca *CA) issue(aaguid [16]byte) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ext, _ := asn1.Marshal(aaguid[:])
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Country: []string{"SE"}, Organization: []string{"tapkiosk test"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "tapkiosk virtual key attestation"},
		NotBefore:             notBefore,
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  false,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: oidFIDOAAGUID, Value: ext}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	return key, der, err
}
