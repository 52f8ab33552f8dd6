// tapctl's kiosk and admin token commands: registering, listing and
// revoking kiosks and admin tokens.

package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

// ---- kiosks and tokens ----

func (a *app) kioskAdd(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("kiosk add"), args, 1, "NAME")
	if err != nil {
		return err
	}
	k, err := a.client.CreateKiosk(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(k)
	}
	fmt.Fprintf(a.out, "Kiosk %q registered. Its token is shown once; put it in the kiosk's token file:\n\n  %s\n", clean(k.Name), k.Token)
	return nil
}

func (a *app) kioskList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("kiosk list"), args, 0, ""); err != nil {
		return err
	}
	ks, err := a.client.ListKiosks(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(ks)
	}
	var rows [][]string
	for _, k := range ks {
		rows = append(rows, []string{k.Name, k.ID, when(k.CreatedDateTime), whenPtr(k.RevokedDateTime)})
	}
	a.table("NAME\tID\tCREATED\tREVOKED", rows)
	return nil
}

func (a *app) kioskRevoke(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("kiosk revoke"), args, 1, "NAME")
	if err != nil {
		return err
	}
	if err := a.client.RevokeKiosk(ctx, pos[0]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Revoked kiosk %q; its sessions have ended.", pos[0]))
}

func (a *app) tokenAdd(ctx context.Context, args []string) error {
	fs := a.flags("token add")
	role := fs.String("role", "", "the token's role")
	expires := fs.String("expires", "", "lifetime, e.g. 30d (default: never)")
	pos, err := a.parse(fs, args, 1, "NAME --role ROLE [--expires D]")
	if err != nil {
		return err
	}
	if *role == "" {
		return usagef("token add needs --role (one of %s)", strings.Join(api.Roles, ", "))
	}
	req := api.CreateAdminTokenRequest{Name: pos[0], Role: *role}
	if *expires != "" {
		t, err := parseWhen(*expires, a.now(), false)
		if err != nil {
			return usageError{err}
		}
		req.ExpiresDateTime = &t
	}
	t, err := a.client.CreateAdminToken(ctx, req)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(t)
	}
	fmt.Fprintf(a.out, "Admin token %q (%s) created. It is shown once:\n\n  %s\n", clean(t.Name), t.Role, t.Token)
	return nil
}

func (a *app) tokenList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("token list"), args, 0, ""); err != nil {
		return err
	}
	ts, err := a.client.ListAdminTokens(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(ts)
	}
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.Name, t.Role, when(t.CreatedDateTime), whenPtr(t.ExpiresDateTime), whenPtr(t.RevokedDateTime)})
	}
	a.table("NAME\tROLE\tCREATED\tEXPIRES\tREVOKED", rows)
	return nil
}

func (a *app) tokenRevoke(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("token revoke"), args, 1, "NAME")
	if err != nil {
		return err
	}
	if err := a.client.RevokeAdminToken(ctx, pos[0]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Revoked admin token %q.", pos[0]))
}
