// The virtual key's credential algorithms: ES256 (ECDSA P-256, COSE -7)
// and EdDSA (Ed25519, COSE -8), how one is picked from the request, and
// how each signs and is written as a COSE_Key.

package virtualkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
)

const coseAlgEdDSA = -8

// checkAlgorithms sets Options.Algorithms' default and refuses what the
// key cannot make. A key attesting fido-u2f makes ES256 only: a U2F
// registration carries a raw P-256 point.
func checkAlgorithms(o *Options) error {
	if len(o.Algorithms) == 0 {
		o.Algorithms = []int{coseAlgES256, coseAlgEdDSA}
		if o.Attestation == "fido-u2f" {
			o.Algorithms = []int{coseAlgES256}
		}
	}
	for _, a := range o.Algorithms {
		if a != coseAlgES256 && (a != coseAlgEdDSA || o.Attestation == "fido-u2f") {
			return fmt.Errorf("virtualkey: cannot make COSE algorithm %d with %s attestation", a, o.Attestation)
		}
	}
	return nil
}

// algorithms are the credential algorithms the key lists in getInfo
// (0x0a), in its own order.
func (k *Key) algorithms() []int { return k.opts.Algorithms }

// pickAlgorithm follows CTAP 2.1 §6.1.2 step 3 (pubKeyCredParams): the
// list is in the relying party's order of preference, and the key takes
// the first element it supports; none supported is
// CTAP2_ERR_UNSUPPORTED_ALGORITHM.
func (k *Key) pickAlgorithm(params []credParam) (int, error) {
	supported := k.algorithms()
	for _, p := range params {
		if p.Type != "public-key" {
			continue
		}
		for _, a := range supported {
			if p.Alg == a {
				return a, nil
			}
		}
	}
	return 0, statusError(ctap2ErrUnsupportedAlgorithm)
}

// newCredKey makes a credential key pair for alg and its PKCS#8 form,
// which the key's state keeps.
func newCredKey(alg int) (crypto.Signer, []byte, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case coseAlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case coseAlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, nil, statusError(ctap2ErrUnsupportedAlgorithm)
	}
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	return priv, pkcs8, err
}

// credAlg is the COSE algorithm of a credential key.
func credAlg(priv crypto.Signer) int {
	if _, ok := priv.(ed25519.PrivateKey); ok {
		return coseAlgEdDSA
	}
	return coseAlgES256
}

// credSign signs msg with a credential key: ECDSA over SHA-256(msg), ASN.1
// DER; Ed25519 over msg itself (pure EdDSA, as COSE -8 and WebAuthn §6.5.6
// have it).
func credSign(priv crypto.Signer, msg []byte) ([]byte, error) {
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		return sign(p, msg)
	case ed25519.PrivateKey:
		return ed25519.Sign(p, msg), nil
	}
	return nil, errors.New("virtualkey: unknown credential key type")
}

// credCOSEKey is a credential's public key as a COSE_Key: EC2 P-256 for
// ES256, OKP Ed25519 (kty 1, crv 6, x) for EdDSA (RFC 9053 §7.2).
func credCOSEKey(priv crypto.Signer) map[int]any {
	switch p := priv.Public().(type) {
	case *ecdsa.PublicKey:
		return coseKey(p, coseAlgES256)
	case ed25519.PublicKey:
		return map[int]any{1: 1, 3: coseAlgEdDSA, -1: 6, -2: []byte(p)}
	}
	return nil
}

// algorithmList is getInfo's algorithms (0x0a).
func (k *Key) algorithmList() []map[string]any {
	var out []map[string]any
	for _, a := range k.algorithms() {
		out = append(out, map[string]any{"alg": a, "type": "public-key"})
	}
	return out
}
