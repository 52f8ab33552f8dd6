package fido

import (
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

// ErrDetails is what a go-webauthn refusal says beyond its message (the
// reason a relying party refused), for the tests of both packages here to
// look the reason up in.
func ErrDetails(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Details + " " + pe.DevInfo
	}
	return ""
}

// COSEAlg is the alg of a COSE_Key as go-webauthn parses it.
func COSEAlg(t *testing.T, key []byte) int { return coseAlg(t, key) }
