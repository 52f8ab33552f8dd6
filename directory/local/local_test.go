package local_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/directorytest"
	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/internal/pgtest"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
	"github.com/tapkiosk/tapkiosk/tap"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pg)) }

// TestConformance runs the directory suite on the local directory over
// SQLite and over PostgreSQL.
func TestConformance(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			directorytest.RunTests(t, func(t *testing.T) directory.Directory {
				return newLocal(t, backend)
			})
		})
	}
}

func newLocal(t *testing.T, backend string) *local.Directory {
	ctx := context.Background()
	st := storetest.Open(t, pg, backend)
	rp, err := recovery.NewRelyingParty("tapkiosk.test", "directorytest")
	if err != nil {
		t.Fatal(err)
	}
	d := local.New(local.Config{Store: st, RP: rp, Argon2: tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Now: time.Now})
	for _, p := range directorytest.People {
		u := store.User{UPN: p.UPN, DisplayName: p.DisplayName, UserType: p.UserType, CreatedAt: time.Now().UTC()}
		if p.UserType == "Guest" {
			u.GuestKind = "internal"
			if p.External {
				u.GuestKind = "external"
			}
		}
		if p.Group != "" {
			u.Groups = []string{p.Group}
		}
		if err := d.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if p.Phone != "" {
			m := store.Method{ID: "phone-" + p.UPN, UPN: p.UPN, Kind: "phone", DisplayName: p.Phone, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
			if err := st.CreateMethod(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}
