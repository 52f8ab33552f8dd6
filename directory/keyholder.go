package directory

import (
	"context"
	"crypto/rand"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/store"
)

// UserHandle is the person's stable WebAuthn user handle for tapd's own
// relying party: random, never the UPN, made on first use. It lives here,
// beside the Directory interface, so that the local back end (which
// begins registrations) and recovery (which verifies answers) share it
// without recovery importing a back end.
func UserHandle(ctx context.Context, st store.Methods, upn string) ([]byte, error) {
	cand := make([]byte, 32)
	rand.Read(cand)
	return st.UserHandle(ctx, upn, cand)
}

// KeyHolder adapts a person, by the user handle a relying party gave
// them, and their keys to go-webauthn: the local back end begins
// registrations with it, recovery verifies answers with it.
type KeyHolder struct {
	Handle []byte
	User   store.User
	Creds  []webauthn.Credential
}

func (w *KeyHolder) WebAuthnID() []byte                         { return w.Handle }
func (w *KeyHolder) WebAuthnName() string                       { return w.User.UPN }
func (w *KeyHolder) WebAuthnDisplayName() string                { return w.User.DisplayName }
func (w *KeyHolder) WebAuthnCredentials() []webauthn.Credential { return w.Creds }
