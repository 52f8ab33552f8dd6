package recovery

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/google/uuid"
)

// Trust is what tapd believes about attestation: root certificates from a
// PEM bundle and/or a FIDO Metadata Service (MDS3) blob. Both are local
// files, because kiosks and tapd may be offline. The zero Trust trusts
// nothing, so enforced attestation then refuses every key.
type Trust struct {
	bundle      *x509.CertPool
	bundleNames []string
	mds         map[uuid.UUID]*metadata.Entry
	sources     []string
}

// undesiredStatuses are MDS status reports that make a model untrusted.
var undesiredStatuses = []metadata.AuthenticatorStatus{metadata.Revoked, metadata.AttestationKeyCompromise,
	metadata.UserVerificationBypass, metadata.UserKeyRemoteCompromise, metadata.UserKeyPhysicalCompromise}

// LoadTrust reads the PEM bundle and the MDS blob, either of which may be
// empty. The blob's JWT signature chain is verified on load against
// mdsRootPath (PEM) or, when that is empty, the FIDO Alliance's production
// MDS root; a blob that does not verify stops tapd from starting.
func LoadTrust(bundlePath, mdsPath, mdsRootPath string) (*Trust, error) {
	t := &Trust{}
	if bundlePath != "" {
		pemBytes, err := os.ReadFile(bundlePath)
		if err != nil {
			return nil, fmt.Errorf("attestation roots: %w", err)
		}
		t.bundle = x509.NewCertPool()
		for {
			var blk *pem.Block
			blk, pemBytes = pem.Decode(pemBytes)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("attestation roots %s: %w", bundlePath, err)
			}
			t.bundle.AddCert(c)
			t.bundleNames = append(t.bundleNames, c.Subject.String())
		}
		if len(t.bundleNames) == 0 {
			return nil, fmt.Errorf("attestation roots %s holds no PEM certificates", bundlePath)
		}
		for _, n := range t.bundleNames {
			t.sources = append(t.sources, "root from "+bundlePath+": "+n)
		}
	}
	if mdsPath != "" {
		blob, err := os.ReadFile(mdsPath)
		if err != nil {
			return nil, fmt.Errorf("MDS blob: %w", err)
		}
		var opts []metadata.DecoderOption
		rootName := "the FIDO Alliance production MDS root (GlobalSign Root R46)"
		if mdsRootPath != "" {
			b, err := os.ReadFile(mdsRootPath)
			if err != nil {
				return nil, fmt.Errorf("MDS root: %w", err)
			}
			blk, _ := pem.Decode(b)
			if blk == nil {
				return nil, fmt.Errorf("MDS root %s is not PEM", mdsRootPath)
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("MDS root %s: %w", mdsRootPath, err)
			}
			rootName = c.Subject.String() + " (" + mdsRootPath + ")"
			opts = append(opts, metadata.WithRootCertificate(base64.StdEncoding.EncodeToString(blk.Bytes)))
		}
		opts = append(opts, metadata.WithIgnoreEntryParsingErrors())
		dec, err := metadata.NewDecoder(opts...)
		if err != nil {
			return nil, err
		}
		payload, err := dec.DecodeBytes(blob)
		if err != nil {
			return nil, fmt.Errorf("MDS blob %s does not verify against %s: %w", mdsPath, rootName, err)
		}
		md, err := dec.Parse(payload)
		if err != nil {
			return nil, fmt.Errorf("MDS blob %s: %w", mdsPath, err)
		}
		t.mds = md.ToMap()
		t.sources = append(t.sources, fmt.Sprintf("MDS blob %s (no. %d, %d models, next update %s), signature verified against %s",
			mdsPath, md.Parsed.Number, len(t.mds), md.Parsed.NextUpdate.Format("2006-01-02"), rootName))
	}
	return t, nil
}

// Sources says what was loaded, for the policy's trustedRootSources and
// the start-up log.
func (t *Trust) Sources() []string {
	if t == nil {
		return nil
	}
	return t.sources
}

// Model names the key model from the MDS blob, if it knows the AAGUID.
func (t *Trust) Model(aaguid uuid.UUID) string {
	if t == nil || t.mds == nil {
		return ""
	}
	if e, ok := t.mds[aaguid]; ok {
		return e.MetadataStatement.Description
	}
	return ""
}

var errUntrusted = errors.New("attestation is not trusted")

// Verify checks an attestation certificate chain (leaf first). A model in
// the MDS blob must chain to that model's roots and have no undesired
// status; otherwise the chain must reach a root in the PEM bundle. It
// returns the subject of the root it chained to.
func (t *Trust) Verify(aaguid uuid.UUID, x5c [][]byte, now time.Time) (string, error) {
	if len(x5c) == 0 {
		return "", fmt.Errorf("%w: the key sent no attestation certificate (self or none attestation)", errUntrusted)
	}
	leaf, err := x509.ParseCertificate(x5c[0])
	if err != nil {
		return "", fmt.Errorf("%w: malformed attestation certificate", errUntrusted)
	}
	inter := x509.NewCertPool()
	for _, der := range x5c[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	try := func(roots *x509.CertPool) (string, bool) {
		chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil || len(chains) == 0 {
			return "", false
		}
		c := chains[0]
		return c[len(c)-1].Subject.String(), true
	}
	if t != nil && t.mds != nil {
		if e, ok := t.mds[aaguid]; ok {
			if err := metadata.ValidateStatusReportsAt(e.StatusReports, nil, undesiredStatuses, now); err != nil {
				return "", fmt.Errorf("%w: the FIDO metadata flags this model: %v", errUntrusted, err)
			}
			roots := x509.NewCertPool()
			for _, r := range e.MetadataStatement.AttestationRootCertificates {
				roots.AddCert(r)
			}
			if root, ok := try(roots); ok {
				return root, nil
			}
			return "", fmt.Errorf("%w: the certificate does not chain to this model's roots in the FIDO metadata", errUntrusted)
		}
	}
	if t != nil && t.bundle != nil {
		if root, ok := try(t.bundle); ok {
			return root, nil
		}
	}
	return "", fmt.Errorf("%w: the certificate does not chain to a trusted root", errUntrusted)
}
