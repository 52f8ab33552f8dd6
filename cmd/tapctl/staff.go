package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

// staffInvite makes a helpdesk console staff member and prints their
// one-time enrolment link, which is shown once.
func (a *app) staffInvite(ctx context.Context, args []string) error {
	fs := a.flags("staff invite")
	role := fs.String("role", "", "the staff member's role")
	pos, err := a.parse(fs, args, 1, "NAME --role ROLE")
	if err != nil {
		return err
	}
	if *role == "" {
		return usagef("staff invite needs --role (one of %s)", strings.Join(api.Roles, ", "))
	}
	inv, err := a.client.InviteStaff(ctx, pos[0], *role)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(inv)
	}
	fmt.Fprintf(a.out, "Staff member %q (%s) invited. Send them this link; it works once, until %s, and is shown only now:\n\n  %s\n",
		clean(inv.Name), inv.Role, when(inv.ExpiresDateTime), inv.InvitationURL)
	return nil
}
