package fido_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// TestFullKeyAndSameAccount: a full key refuses a new account with
// ErrKeyFull but takes the same account again (rp id and user handle),
// overwriting its passkey; CredentialsFor lists what is there and
// DeleteCredential frees a slot. Without credential management the key
// itself decides, with the same outcomes.
func TestFullKeyAndSameAccount(t *testing.T) {
	ctx := context.Background()
	rp := newRP(t)
	reg := func(t *testing.T, path string, u *rpUser) (*fido.Registration, error) {
		opts, session := begin(t, rp, u)
		r, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"})
		if err == nil {
			finish(t, rp, u, session, r)
		}
		return r, err
	}
	for name, o := range map[string]virtualkey.Options{"credMgmt": {MaxResident: 2}, "noCredMgmt": {MaxResident: 2, NoCredMgmt: true}} {
		t.Run(name, func(t *testing.T) {
			path, _ := plug(t, o)
			fido.SetPIN(path, "2468")
			ada, bob, eve := &rpUser{id: []byte("ada")}, &rpUser{id: []byte("bob")}, &rpUser{id: []byte("eve")}
			if _, err := reg(t, path, ada); err != nil {
				t.Fatal(err)
			}
			if _, err := reg(t, path, bob); err != nil {
				t.Fatal(err)
			}
			if info, _ := fido.GetInfo(path); info.RemainingResidentKeys != 0 {
				t.Fatalf("remaining %d", info.RemainingResidentKeys)
			}
			if _, err := reg(t, path, eve); !errors.Is(err, fido.ErrKeyFull) {
				t.Fatalf("new account on a full key: %v", err)
			}
			again, err := reg(t, path, ada)
			if err != nil {
				t.Fatalf("same account on a full key: %v", err)
			}
			if o.NoCredMgmt {
				var uk *fido.UnsupportedKeyError
				if _, err := fido.CredentialsFor(ctx, path, "2468", "example.com"); !errors.As(err, &uk) || uk.Reason != fido.ReasonNoCredMgmt {
					t.Fatalf("listing without credential management: %v", err)
				}
				return
			}
			creds, err := fido.CredentialsFor(ctx, path, "2468", "example.com")
			if err != nil || len(creds) != 2 {
				t.Fatalf("credentials %+v %v", creds, err)
			}
			var adaCred, bobCred fido.Credential
			for _, c := range creds {
				switch string(c.UserHandle) {
				case "ada":
					adaCred = c
				case "bob":
					bobCred = c
				}
				if c.RPID != "example.com" || c.UserName != "ada@example.com" || c.DisplayName != "Ada Lovelace" {
					t.Fatalf("credential %+v", c)
				}
			}
			if again.RawID != base64.RawURLEncoding.EncodeToString(adaCred.ID) || bobCred.ID == nil {
				t.Fatalf("the overwrite left %+v, want ada's id %s", creds, again.RawID)
			}
			all, err := fido.CredentialsFor(ctx, path, "2468", "")
			if err != nil || len(all) != 2 {
				t.Fatalf("every relying party: %+v %v", all, err)
			}
			if other, err := fido.CredentialsFor(ctx, path, "2468", "other.example"); err != nil || len(other) != 0 {
				t.Fatalf("another relying party: %+v %v", other, err)
			}
			var pw *fido.PINWrongError
			if _, err := fido.CredentialsFor(ctx, path, "0000", "example.com"); !errors.As(err, &pw) || pw.RetriesLeft != 7 {
				t.Fatalf("wrong PIN: %v", err)
			}
			if err := fido.DeleteCredential(ctx, path, "2468", bobCred.ID); err != nil {
				t.Fatal(err)
			}
			if err := fido.DeleteCredential(ctx, path, "2468", bobCred.ID); !errors.Is(err, fido.ErrNotRegisteredOnKey) {
				t.Fatalf("deleting twice: %v", err)
			}
			if info, _ := fido.GetInfo(path); info.RemainingResidentKeys != 1 {
				t.Fatalf("remaining after delete %d", info.RemainingResidentKeys)
			}
			if _, err := reg(t, path, eve); err != nil {
				t.Fatalf("the freed slot: %v", err)
			}
			creds, _ = fido.CredentialsFor(ctx, path, "2468", "example.com")
			if len(creds) != 2 || !hasUser(creds, "eve") || !hasUser(creds, "ada") {
				t.Fatalf("after: %+v", creds)
			}
		})
	}
}

func hasUser(creds []fido.Credential, user string) bool {
	for _, c := range creds {
		if bytes.Equal(c.UserHandle, []byte(user)) {
			return true
		}
	}
	return false
}
