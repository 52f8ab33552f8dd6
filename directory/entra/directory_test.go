package entra_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/directorytest"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// TestConformance runs the directory suite on the Entra directory over the
// Graph simulator, with tapd's own store (for hashes and key records) on
// SQLite.
func TestConformance(t *testing.T) {
	directorytest.RunTests(t, func(t *testing.T) directory.Directory {
		sim := graphsim.New()
		t.Cleanup(sim.Close)
		for _, p := range directorytest.People {
			var groups []string
			if p.Group != "" {
				groups = append(groups, p.Group)
			}
			id := sim.AddUser(p.UPN, p.DisplayName, p.UserType, p.External, groups...)
			if p.Phone != "" {
				sim.AddMethod(id, "phone", p.Phone)
			}
		}
		ctx := context.Background()
		st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "tapd.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		gc := &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken(sim.Token), HTTP: sim.Server.Client(), Timeout: 5 * time.Second}
		return entra.New(entra.Config{Graph: gc, Store: st, Argon2: tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Now: time.Now,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	})
}
