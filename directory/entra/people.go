// The Entra directory's people and groups: looking a person up in Graph
// and listing a group's members.

package entra

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
)

// ---- people and policies ----

// User looks a person up in Entra with their groups. Graph accepts a UPN
// where it takes an id on every call but the two provisioning ones (see
// person), so tapd never needs to keep object ids. Roles are
// unknown: tapd's least-privileged permissions do not show them.
func (d *Directory) User(ctx context.Context, upn string) (directory.User, error) {
	g, res, err := d.g.GetUser(ctx, upn)
	if status(err) == http.StatusNotFound {
		return directory.User{}, api.E(api.CodeUserNotFound, "No user %s in Microsoft Entra ID.", upn)
	}
	if err != nil {
		return directory.User{}, failure("look the user up", res, err)
	}
	u := userOf(g)
	u.Groups, err = d.groups(ctx, u.UPN)
	return u, err
}

// person looks a person up by UPN, for their object id: the two
// provisioning calls (fido2Methods/creationOptions and POST fido2Methods,
// v1.0) document only /users/{id}, where every other call tapd makes
// takes {id | userPrincipalName}.
func (d *Directory) person(ctx context.Context, upn string) (graph.User, graph.Result, error) {
	g, res, err := d.g.GetUser(ctx, upn)
	switch {
	case status(err) == http.StatusNotFound:
		return g, res, api.E(api.CodeUserNotFound, "No user %s in Microsoft Entra ID.", upn)
	case err != nil:
		return g, res, failure("look the user up", res, err)
	case g.ID == "":
		return g, res, api.E(api.CodeDirectoryError, "Microsoft Entra ID gave no object id for %s. Graph request id %s.", upn, res.RequestID)
	}
	return g, res, nil
}

// userOf is a Graph user in tapd's terms, without groups.
func userOf(g graph.User) directory.User {
	u := directory.User{UPN: g.UserPrincipalName, DisplayName: g.DisplayName, UserType: g.UserType}
	if u.UserType == "Guest" {
		u.GuestKind = "internal"
		if g.External() {
			u.GuestKind = "external"
		}
	}
	return u
}

// GroupMembers finds the group by object id or, failing that reading, by
// display name, and lists its users, nested groups' included. Display
// names are not unique in Entra: a name several groups share is refused
// rather than guessed.
func (d *Directory) GroupMembers(ctx context.Context, ref string) (directory.Group, []string, error) {
	notFound := api.NotFound("No group %s in Microsoft Entra ID.", ref)
	var g graph.Group
	if _, perr := uuid.Parse(ref); perr == nil {
		var res graph.Result
		var err error
		g, res, err = d.g.GetGroup(ctx, ref)
		if status(err) == http.StatusNotFound {
			return directory.Group{}, nil, notFound
		}
		if err != nil {
			return directory.Group{}, nil, failure("read the group", res, err)
		}
	} else {
		gs, res, err := d.g.GroupsNamed(ctx, ref)
		if err != nil {
			return directory.Group{}, nil, failure("find the group", res, err)
		}
		switch len(gs) {
		case 0:
			return directory.Group{}, nil, notFound
		case 1:
			g = gs[0]
		default:
			return directory.Group{}, nil, api.Invalid("group", "%d groups in Microsoft Entra ID are named %s; give the group's object id instead.", len(gs), ref)
		}
	}
	us, res, err := d.g.GroupUsers(ctx, g.ID)
	if err != nil {
		return directory.Group{}, nil, failure("list the group's members", res, err)
	}
	upns := []string{}
	for _, u := range us {
		upns = append(upns, u.UserPrincipalName)
	}
	return directory.Group{ID: g.ID, DisplayName: g.DisplayName}, upns, nil
}

// groups returns the object ids of the person's groups, direct or not:
// the policy's targets name groups by id.
func (d *Directory) groups(ctx context.Context, upn string) ([]string, error) {
	gs, res, err := d.g.Groups(ctx, upn)
	if err != nil {
		return nil, failure("read the user's groups", res, err)
	}
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids, nil
}
