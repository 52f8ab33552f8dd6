package recovery

import (
	"context"
	"errors"
	"slices"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
)

// Permission is what an admin route needs.
type Permission string

// Permissions.
const (
	PermRead        Permission = "read"
	PermPolicyRead  Permission = "policy.read"
	PermPolicyWrite Permission = "policy.write"
	PermUsersWrite  Permission = "users.write"
	PermPassesWrite Permission = "passes.write"
	PermKiosks      Permission = "kiosks.manage"
	PermTokens      Permission = "tokens.manage"
	// PermStaging is registering keys for people and running staging
	// batches (not of other admins, see canManageUser).
	PermStaging Permission = "staging.manage"
)

// rolePerms is the admin model: readers see metadata; policy admins change
// the policy; authentication admins manage users, passes and staged keys
// (not of other admins, see canManageUser); privileged ones also of
// admins; the global administrator also manages kiosks and admin tokens.
var rolePerms = map[string][]Permission{
	api.RoleGlobalAdministrator:                   {PermRead, PermPolicyRead, PermPolicyWrite, PermUsersWrite, PermPassesWrite, PermStaging, PermKiosks, PermTokens},
	api.RolePrivilegedAuthenticationAdministrator: {PermRead, PermPolicyRead, PermUsersWrite, PermPassesWrite, PermStaging},
	api.RoleAuthenticationAdministrator:           {PermRead, PermPolicyRead, PermUsersWrite, PermPassesWrite, PermStaging},
	api.RolePolicyAdministrator:                   {PermRead, PermPolicyRead, PermPolicyWrite},
	api.RoleReader:                                {PermRead, PermPolicyRead},
}

var permWords = map[Permission]string{
	PermPolicyWrite: "change the Temporary Access Pass policy",
	PermUsersWrite:  "add or remove users",
	PermPassesWrite: "create or delete passes",
	PermKiosks:      "manage kiosks",
	PermTokens:      "manage admin tokens",
	PermStaging:     "stage security keys for people",
	PermRead:        "read",
	PermPolicyRead:  "read the policy",
}

// IsRole reports whether r is an admin role tapd knows.
func IsRole(r string) bool {
	_, ok := rolePerms[r]
	return ok
}

// Authorize checks that the calling admin's role has p; a refusal is
// audited with the path asked for.
func (s *Service) Authorize(ctx context.Context, c *Caller, p Permission) error {
	if RoleMay(c, p) {
		return nil
	}
	return s.refuse(ctx, c, api.ActionDenied, "", "missingPermission",
		api.E(api.CodeForbidden, "The role %s may not %s.", c.Admin.Role, permWords[p]),
		map[string]string{"permission": string(p), "path": c.Path})
}

// RoleMay reports whether the caller's role holds p, without the audited
// refusal of Authorize: the console asks it to leave out controls the
// staff member could not use (a control that is only refused when used
// costs the whole action, such as an unlock with its kiosk revocation).
func RoleMay(c *Caller, p Permission) bool {
	return c.Admin == nil || slices.Contains(rolePerms[c.Admin.Role], p)
}

// privileged reports whether the caller may act on people who hold admin
// roles.
func privileged(c *Caller) bool {
	return c.Admin != nil && (c.Admin.Role == api.RoleGlobalAdministrator || c.Admin.Role == api.RolePrivilegedAuthenticationAdministrator)
}

// canManageUser enforces the admin model on passes, methods and people:
// an authentication administrator may not act on people who hold an admin
// role. Where the directory cannot show roles, everyone is treated as
// possibly privileged.
func (s *Service) canManageUser(ctx context.Context, c *Caller, u directory.User) error {
	reason, err := whyNotManage(c, u)
	if err == nil {
		return nil
	}
	return s.refuse(ctx, c, api.ActionDenied, u.UPN, reason, err, map[string]string{"path": c.Path})
}

// whyNotManage is canManageUser's rule without the audit: the reason and
// error of a refusal, or nil.
func whyNotManage(c *Caller, u directory.User) (string, *api.Error) {
	if c.Admin == nil || privileged(c) || (u.RolesKnown && u.AdminRole == "") {
		return "", nil
	}
	if !u.RolesKnown {
		return "rolesUnknownInEntra", api.E(api.CodeForbidden,
			"With the Entra directory tapd cannot see who holds admin roles, so only a privileged authentication administrator may manage passes and methods.")
	}
	return "targetIsAdmin", api.E(api.CodeForbidden, "%s holds the %s role; only a privileged authentication administrator may manage their passes.", u.UPN, u.AdminRole)
}

func isCode(err error, code api.Code) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == code
}
