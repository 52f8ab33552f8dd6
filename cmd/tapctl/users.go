// tapctl's user commands: adding, showing, listing, deleting, unlocking
// and importing users.

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

// ---- users ----

func (a *app) showUsers(us []api.User) error {
	if a.json {
		return a.printJSON(us)
	}
	var rows [][]string
	for _, u := range us {
		kind := u.UserType
		if u.GuestKind != "" {
			kind += " (" + u.GuestKind + ")"
		}
		rows = append(rows, []string{u.UserPrincipalName, u.DisplayName, kind, strings.Join(u.Groups, ";"), u.AdminRole, when(u.CreatedDateTime)})
	}
	a.table("UPN\tDISPLAY NAME\tTYPE\tGROUPS\tADMIN ROLE\tCREATED", rows)
	return nil
}

func (a *app) userAdd(ctx context.Context, args []string) error {
	fs := a.flags("user add")
	name := fs.String("name", "", "display name")
	guest := fs.String("guest", "", "internal or external, for a guest")
	groups := fs.String("groups", "", "comma-separated group names")
	role := fs.String("admin-role", "", "admin role the user holds, if any")
	pos, err := a.parse(fs, args, 1, "UPN --name NAME")
	if err != nil {
		return err
	}
	u := api.User{UserPrincipalName: pos[0], DisplayName: *name, UserType: "Member", AdminRole: *role}
	if *guest != "" {
		u.UserType, u.GuestKind = "Guest", *guest
	}
	if *groups != "" {
		u.Groups = strings.Split(*groups, ",")
	}
	out, err := a.client.CreateUser(ctx, u)
	if err != nil {
		return err
	}
	return a.showUsers([]api.User{out})
}

func (a *app) userGet(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("user get"), args, 1, "UPN")
	if err != nil {
		return err
	}
	u, err := a.client.GetUser(ctx, pos[0])
	if err != nil {
		return err
	}
	return a.showUsers([]api.User{u})
}

func (a *app) userList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("user list"), args, 0, ""); err != nil {
		return err
	}
	us, err := a.client.ListUsers(ctx)
	if err != nil {
		return err
	}
	return a.showUsers(us)
}

func (a *app) userDelete(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("user delete"), args, 1, "UPN")
	if err != nil {
		return err
	}
	if err := a.client.DeleteUser(ctx, pos[0]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Deleted %s, with their pass and sessions.", pos[0]))
}

func (a *app) userUnlock(ctx context.Context, args []string) error {
	fs := a.flags("user unlock")
	revoke := fs.Bool("revoke-kiosk", false, "also revoke the kiosks that caused the locks (needs the kiosk permission)")
	pos, err := a.parse(fs, args, 1, "UPN")
	if err != nil {
		return err
	}
	l, err := a.client.Unlock(ctx, pos[0], *revoke)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(l)
	}
	defer func() {
		for _, lc := range l.LockedBy {
			where := "at that kiosk"
			if lc.Scope == "account" {
				where = "at every kiosk"
			}
			fmt.Fprintf(a.out, "The lock %s was started by kiosk %s (%s) from %s.\n", where, lc.Kiosk, lc.KioskID, orNone(lc.ClientAddress))
		}
		for _, k := range l.RevokedKiosks {
			fmt.Fprintf(a.out, "Revoked kiosk %s.\n", k)
		}
		if len(l.LockedBy) > 0 && !*revoke {
			fmt.Fprintf(a.out, "If that kiosk is not one of yours, or a stranger is at it, run again with --revoke-kiosk.\n")
		}
	}()
	switch {
	case !l.WasLocked && l.FailedAttempts == 0:
		fmt.Fprintf(a.out, "%s was not locked.\n", l.UserPrincipalName)
		return nil
	case !l.WasLocked:
		fmt.Fprintf(a.out, "%s was not locked; the %d wrong pass(es) counted toward a lock are forgotten.\n", l.UserPrincipalName, l.FailedAttempts)
		return nil
	}
	fmt.Fprintf(a.out, "Unlocked %s: the lock would have lasted until %s. They can sign in with their pass again.\n",
		l.UserPrincipalName, l.LockedUntil.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

func (a *app) userImport(ctx context.Context, args []string) error {
	fs := a.flags("user import")
	partial := fs.Bool("partial", false, "import the good rows even if some fail")
	pos, err := a.parse(fs, args, 1, "FILE.csv [--partial]")
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	res, err := a.client.ImportUsers(ctx, f, *partial)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.out, "Imported %d user(s).\n", res.Created)
	if len(res.Failed) > 0 {
		fmt.Fprintf(a.out, "%d row(s) were skipped:\n", max(res.FailedCount, len(res.Failed)))
		for _, r := range res.Failed {
			fmt.Fprintf(a.out, "  row %d %s: %s\n", r.Row, clean(r.UserPrincipalName), clean(r.Message))
		}
		if more := res.FailedCount - len(res.Failed); more > 0 {
			fmt.Fprintf(a.out, "  ... and %d more\n", more)
		}
	}
	return nil
}

// orNone is s, or "an unknown address".
func orNone(s string) string {
	if s == "" {
		return "an unknown address"
	}
	return s
}
