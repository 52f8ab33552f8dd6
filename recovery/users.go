package recovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// ErrManagedElsewhere answers an admin change that only the local
// directory takes.
var ErrManagedElsewhere = api.E(api.CodeManagedInEntra,
	"tapd runs with the Microsoft Entra ID directory: users and policies are managed in Entra (the admin centre or Graph), not here.")

func userAdmin(d directory.Directory) (directory.UserAdmin, error) {
	if ua, ok := d.(directory.UserAdmin); ok {
		return ua, nil
	}
	return nil, ErrManagedElsewhere
}

// asUserAdmin runs a change to people, with its audit entry, as one unit.
func (s *Service) asUserAdmin(ctx context.Context, c *Caller, action, target string, details map[string]string, change func(directory.UserAdmin) error) error {
	return s.inDirectory(ctx, func(u unit) error {
		ua, err := userAdmin(u.dir)
		if err == nil {
			err = change(ua)
		}
		if err != nil {
			return err
		}
		return s.done(ctx, c, u, action, target, details)
	})
}

// user looks up the person a path names, with a 400 for a malformed UPN.
func (s *Service) user(ctx context.Context, rawUPN string) (directory.User, error) {
	upn, err := tap.NormalizeUPN(rawUPN)
	if err != nil {
		return directory.User{}, api.Invalid("userPrincipalName", "userPrincipalName %s.", err.Error())
	}
	return s.dir.User(ctx, upn)
}

// UserOut is a person in the API's shape.
func UserOut(u directory.User) api.User {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return api.User{UserPrincipalName: u.UPN, DisplayName: u.DisplayName, UserType: u.UserType, GuestKind: u.GuestKind,
		Groups: groups, AdminRole: u.AdminRole, CreatedDateTime: u.CreatedAt}
}

func storedUserOut(u store.User) api.User {
	return UserOut(directory.User{UPN: u.UPN, DisplayName: u.DisplayName, UserType: u.UserType, GuestKind: u.GuestKind,
		Groups: u.Groups, AdminRole: u.AdminRole, CreatedAt: u.CreatedAt})
}

// User is the person with their groups.
func (s *Service) User(ctx context.Context, rawUPN string) (api.User, error) {
	u, err := s.user(ctx, rawUPN)
	return UserOut(u), err
}

// validUser checks a person from the API or a CSV row; the error is a
// sentence naming the field.
func validUser(in api.User) (store.User, *api.Error) {
	bad := func(field, msg string) (store.User, *api.Error) {
		return store.User{}, api.Invalid(field, "%s %s.", field, msg)
	}
	upn, err := tap.NormalizeUPN(in.UserPrincipalName)
	if err != nil {
		return bad("userPrincipalName", err.Error())
	}
	name, err := tap.NormalizeDisplayName(in.DisplayName)
	if err != nil {
		return bad("displayName", err.Error())
	}
	switch in.UserType {
	case "", "Member":
		in.UserType = "Member"
		if in.GuestKind != "" {
			return bad("guestKind", "is only for guests")
		}
	case "Guest":
		if in.GuestKind != "internal" && in.GuestKind != "external" {
			return bad("guestKind", `must be "internal" or "external" for a guest`)
		}
	default:
		return bad("userType", fmt.Sprintf(`must be "Member" or "Guest", not %q`, in.UserType))
	}
	if len(in.Groups) > 100 {
		return bad("groups", "has more than 100 entries")
	}
	var groups []string
	for _, g := range in.Groups {
		g = strings.TrimSpace(g)
		if err := tap.ValidGroupName(g); err != nil {
			return bad("groups", err.Error())
		}
		groups = append(groups, g)
	}
	if in.AdminRole != "" && !IsRole(in.AdminRole) {
		return bad("adminRole", "must be one of "+strings.Join(api.Roles, ", "))
	}
	return store.User{UPN: upn, DisplayName: name, UserType: in.UserType, GuestKind: in.GuestKind, Groups: groups, AdminRole: in.AdminRole}, nil
}

// CreateUser adds a person to the local directory.
func (s *Service) CreateUser(ctx context.Context, c *Caller, in api.User) (api.User, error) {
	if _, err := userAdmin(s.dir); err != nil {
		return api.User{}, err
	}
	if !in.CreatedDateTime.IsZero() {
		return api.User{}, api.E(api.CodeInvalidValue, "createdDateTime is set by tapd; leave it out.")
	}
	u, apiErr := validUser(in)
	if apiErr != nil {
		return api.User{}, apiErr
	}
	if err := s.canManageUser(ctx, c, directory.User{UPN: u.UPN, AdminRole: u.AdminRole, RolesKnown: true}); err != nil {
		return api.User{}, err
	}
	u.CreatedAt = s.now().UTC()
	if err := s.asUserAdmin(ctx, c, api.ActionCreateUser, tap.UPNKey(u.UPN), map[string]string{"userType": u.UserType, "guestKind": u.GuestKind},
		func(ua directory.UserAdmin) error { return ua.CreateUser(ctx, u) }); err != nil {
		return api.User{}, err
	}
	return storedUserOut(u), nil
}

// ListUsers lists the local directory.
func (s *Service) ListUsers(ctx context.Context) ([]api.User, error) {
	ua, err := userAdmin(s.dir)
	if err != nil {
		return nil, err
	}
	us, err := ua.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.User{}
	for _, u := range us {
		out = append(out, storedUserOut(u))
	}
	return out, nil
}

// DeleteUser removes a person with their pass, sessions and methods.
func (s *Service) DeleteUser(ctx context.Context, c *Caller, rawUPN string) error {
	if _, err := userAdmin(s.dir); err != nil {
		return err
	}
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return err
	}
	return s.asUserAdmin(ctx, c, api.ActionDeleteUser, tap.UPNKey(u.UPN), nil,
		func(ua directory.UserAdmin) error { return ua.DeleteUser(ctx, u.UPN) })
}

// Unlock clears the account's pass sign-in lock: for a person locked out
// by someone else's guesses, once IT has checked who they are. An account
// tapd has never seen a guess for is not locked, and says so.
func (s *Service) Unlock(ctx context.Context, c *Caller, rawUPN string, revokeKiosks bool) (api.Lockout, error) {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return api.Lockout{}, err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return api.Lockout{}, err
	}
	if revokeKiosks {
		if err := s.Authorize(ctx, c, PermKiosks); err != nil {
			return api.Lockout{}, err
		}
	}
	var out api.Lockout
	err = s.inStore(ctx, func(un unit) error {
		out = api.Lockout{UserPrincipalName: u.UPN}
		ths, err := clearLock(ctx, un.st, u.UPN)
		if err != nil {
			return err
		}
		until, failures, causes := lockState(ths, s.now())
		out.WasLocked, out.FailedAttempts, out.LockedBy = !until.IsZero(), failures, causes
		details := map[string]string{"wasLocked": strconv.FormatBool(out.WasLocked)}
		if out.WasLocked {
			out.LockedUntil = &until
			details["lockedUntil"] = until.Format(time.RFC3339)
		}
		for i, lc := range causes {
			details[fmt.Sprintf("lockedBy%d", i+1)] = fmt.Sprintf("%s lock by kiosk %s from %s", lc.Scope, lc.Kiosk, lc.ClientAddress)
		}
		if err := s.done(ctx, c, un, api.ActionUnlockUser, tap.UPNKey(u.UPN), details); err != nil {
			return err
		}
		if !revokeKiosks {
			return nil
		}
		// The kiosks that caused the locks, in the same step, so the one
		// that locked the person cannot lock them again a second later.
		for _, lc := range causes {
			if slices.Contains(out.RevokedKiosks, lc.Kiosk) {
				continue
			}
			err := un.st.RevokeKiosk(ctx, lc.Kiosk, s.now())
			if errors.Is(err, store.ErrNotFound) {
				continue // revoked already
			}
			if err != nil {
				return err
			}
			out.RevokedKiosks = append(out.RevokedKiosks, lc.Kiosk)
			if err := s.done(ctx, c, un, api.ActionRevokeKiosk, lc.Kiosk, map[string]string{"kioskId": lc.KioskID,
				"reason": "lockedOut " + u.UPN}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
