package flows

// A full key: the passkeys of this account on it, and their removal.

import (
	"errors"
	"slices"
	"strings"

	"github.com/tapkiosk/tapkiosk/fido"
)

// OwnCredentials picks, from a key's passkeys, those of this account at
// the relying party rpID: the same rp id, and a user handle equal to
// handle (the account's user.id at registration) or a user name or handle
// equal to the UPN.
func OwnCredentials(cs []fido.Credential, rpID, upn string, handle []byte) []fido.Credential {
	var out []fido.Credential
	for _, c := range cs {
		if !strings.EqualFold(c.RPID, rpID) {
			continue
		}
		if (len(handle) > 0 && string(c.UserHandle) == string(handle)) || strings.EqualFold(c.UserName, upn) ||
			strings.EqualFold(string(c.UserHandle), upn) {
			out = append(out, c)
		}
	}
	return out
}

// ErrFullNoCleanup is a full key that holds no passkey of this account
// to overwrite and cannot show or remove its passkeys (no credential
// management): nothing at this kiosk can make room on it.
var ErrFullNoCleanup = errors.New("this key is full and cannot be cleaned up here")

// CredentialsFound reports the passkeys of this account found on a full
// key (already picked by OwnCredentials). None means the key is full of
// other accounts' passkeys: the person needs another key.
func (j *Journey) CredentialsFound(own []fido.Credential, err error) {
	if j.Step != StepKeyFull {
		return
	}
	if err != nil {
		if refusesPIN(err) {
			j.pinRefused("", err)
			return
		}
		j.Problem = err
		return
	}
	if j.backup && len(own) > 0 {
		// A key full of this account's passkeys is not a backup: it is
		// the first key again, or one registered before, and removing
		// them to make room would break that key (backup.go).
		j.refuseBackup()
		return
	}
	j.Own = own
	if len(own) == 0 {
		j.Problem = fido.ErrKeyFull
		return
	}
	j.Problem = nil
}

// ListsCredentials reports whether StepKeyFull can look at the key's
// passkeys (credential management); one that cannot only explains.
func (j *Journey) ListsCredentials() bool { return j.Step == StepKeyFull && j.Info.CredMgmt }

// CredentialsToRemove are the passkeys of this account StepKeyFull offers
// to remove, all of them, after one confirmation that names each: they
// are this account's old registrations, and the new one replaces them.
func (j *Journey) CredentialsToRemove() []fido.Credential {
	if j.Step != StepKeyFull {
		return nil
	}
	return j.Own
}

// CredentialRemoved reports the removal of one of CredentialsToRemove (by
// its id). A refusal stays at StepKeyFull with the rest, to try again;
// once all are gone the key has room, and is named and registered.
func (j *Journey) CredentialRemoved(id []byte, err error) {
	if j.Step != StepKeyFull {
		return
	}
	i := slices.IndexFunc(j.Own, func(c fido.Credential) bool { return string(c.ID) == string(id) })
	if i < 0 {
		return
	}
	if err != nil && !errors.Is(err, fido.ErrNotRegisteredOnKey) {
		j.Problem = err
		return
	}
	j.Own, j.Problem = slices.Delete(slices.Clone(j.Own), i, i+1), nil
	if len(j.Own) == 0 {
		j.full, j.Own = false, nil
		j.toName()
	}
}
