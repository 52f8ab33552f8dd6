package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// PseudonymSecret names the store's secret that keys the pseudonyms of
// names that match no user.
const PseudonymSecret = "audit-pseudonym"

// UnknownPrefix starts the audit target of a sign-in whose name matched
// no user: people type their pass into the name field, so the name as
// typed is never kept, only a keyed hash of it (HMAC-SHA256 with a
// random key made once per store), which lets an admin see that one
// unknown name was tried many times without learning what it was.
const UnknownPrefix = "unknown:"

// pseudonyms keys and caches the HMAC.
type pseudonyms struct {
	mu  sync.Mutex
	key []byte
}

// Pseudonym is the audit target of an unknown name under key: what
// UnknownPrefix describes.
func Pseudonym(key []byte, upn string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tap.UPNKey(upn)))
	return UnknownPrefix + hex.EncodeToString(m.Sum(nil))[:32]
}

// pseudonym is the audit target of upn as one that matches no user.
func (s *Service) pseudonym(ctx context.Context, upn string) (string, error) {
	p := s.names
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key == nil {
		k, err := s.st.Secret(ctx, PseudonymSecret)
		if err != nil {
			return "", err
		}
		p.key = k
	}
	return Pseudonym(p.key, upn), nil
}

// signInTarget is a sign-in's audit target: the UPN of a user tapd
// knows, else the name's pseudonym.
func (s *Service) signInTarget(ctx context.Context, upn string) (string, error) {
	_, err := s.st.GetUser(ctx, upn)
	switch {
	case err == nil:
		return tap.UPNKey(upn), nil
	case errors.Is(err, store.ErrNotFound):
		return s.pseudonym(ctx, upn)
	}
	return "", err
}
