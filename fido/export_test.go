package fido

import (
	"errors"

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
