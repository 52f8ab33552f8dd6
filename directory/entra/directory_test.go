package entra_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/directorytest"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/store/storetest"
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
		return newDirectory(t, sim)
	})
}

// newDirectory is the Entra directory over sim, with tapd's own store on
// SQLite.
func newDirectory(t *testing.T, sim *graphsim.Sim) *entra.Directory {
	return entra.New(entra.Config{Graph: graphClient(sim), Store: storetest.Open(t, nil, "sqlite"), Argon2: tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// TestGroupMembersEntra: a group's users over several pages, found by
// name or id; a name two groups share is refused, a group nobody is in
// is empty, not unknown.
func TestGroupMembersEntra(t *testing.T) {
	ctx := context.Background()
	sim := graphsim.New()
	t.Cleanup(sim.Close)
	sim.PageSize(2)
	var want []string
	for _, n := range []string{"eve", "bob", "dan", "ada", "cy"} {
		upn := n + "@contoso.test"
		sim.AddUser(upn, n, "Member", false, "Staff", "Other")
		want = append(want, upn)
	}
	sim.AddUser("zed@contoso.test", "Zed", "Member", false, "Other")
	slices.Sort(want)
	d := newDirectory(t, sim)
	g, upns, err := d.GroupMembers(ctx, "staff")
	if err != nil || g.ID != graphsim.GroupID("Staff") || g.DisplayName != "Staff" || !slices.Equal(upns, want) {
		t.Fatalf("group %+v %q %v, want %q", g, upns, err, want)
	}
	pages := 0
	for _, r := range sim.Requests {
		if strings.HasSuffix(r, "/groups/"+g.ID+"/transitiveMembers/microsoft.graph.user") {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("five members two a page read in %d requests: %q", pages, sim.Requests)
	}
	if _, upns, err := d.GroupMembers(ctx, g.ID); err != nil || !slices.Equal(upns, want) {
		t.Fatalf("by id: %q %v", upns, err)
	}
	empty := sim.AddGroup("Empty")
	if g, upns, err := d.GroupMembers(ctx, "Empty"); err != nil || g.ID != empty || len(upns) != 0 {
		t.Fatalf("empty group %+v %q %v", g, upns, err)
	}
	second := sim.AddGroup("Staff")
	_, _, err = d.GroupMembers(ctx, "Staff")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeInvalidValue || ae.Target != "group" || !strings.Contains(ae.Message, "object id") {
		t.Fatalf("a shared name: %v", err)
	}
	if g, upns, err := d.GroupMembers(ctx, second); err != nil || g.ID != second || len(upns) != 0 {
		t.Fatalf("the second Staff by id %+v %q %v", g, upns, err)
	}
	for _, ref := range []string{"Nobody's group", "00000000-0000-0000-0000-000000000001"} {
		if _, _, err := d.GroupMembers(ctx, ref); !errors.As(err, &ae) || ae.Code != api.CodeNotFound {
			t.Fatalf("unknown group %q: %v", ref, err)
		}
	}
	// Without the permission, a clear directory error, not "no such group".
	sim.Revoke("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
	if _, _, err := d.GroupMembers(ctx, "Staff"); !errors.As(err, &ae) || ae.Code != api.CodeDirectoryError || !strings.Contains(ae.Message, "permissions") {
		t.Fatalf("no permission: %v", err)
	}
}
