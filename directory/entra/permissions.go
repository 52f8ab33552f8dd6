package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
)

// Proof is what the permission check found: the permissions Graph
// refused (403) and those it could not prove either way.
type Proof struct {
	// Missing name each permission Graph refused, with what it is for
	// and the Graph request id.
	Missing []string
	// NotProved name permissions no call settled: a write probe that got
	// an answer other than the documented 204 or 403, or calls that need
	// a user when tapd cannot read users.
	NotProved []string
}

// Err is the start-up refusal when a permission is missing.
func (p Proof) Err() error {
	if len(p.Missing) == 0 {
		return nil
	}
	return fmt.Errorf("tapd signed in to Entra ID but lacks these application permissions; grant each with admin consent:\n  %s", strings.Join(p.Missing, "\n  "))
}

// Check signs in and proves the permissions the kiosk flow needs; a
// missing one is an error naming each. What could not be proved is in
// Permissions' answer.
func Check(ctx context.Context, c *graph.Client, cloud Cloud) error {
	p, err := Permissions(ctx, c, cloud)
	if err != nil {
		return err
	}
	return p.Err()
}

// The permissions tapd needs (docs/entra.md's table).
const (
	permPolicy  = "Policy.Read.AuthenticationMethod"
	permUsers   = "User.Read.All"
	permGroups  = "GroupMember.Read.All"
	permMethods = "UserAuthenticationMethod.ReadWrite.All"
	permTAP     = "UserAuthMethod-TAP.ReadWrite.All"
	permPasskey = "UserAuthMethod-Passkey.ReadWrite.All"
)

// Permissions signs in and probes each permission the kiosk flow needs
// with a call that, by its v1.0 page, only that permission (or a broader
// one) allows, so that a lesser grant cannot pass for it:
//
//   - the two method policies: Policy.Read.AuthenticationMethod;
//   - GET /users?$top=1: User.Read.All, and a user to ask about;
//   - GET /groups?$top=1: GroupMember.Read.All (group-list.md; User.Read.All
//     is not listed), which staging from a group needs. A user's
//     transitiveMemberOf proves nothing here: User.Read.All allows it too;
//   - that user's methods, pass and keys: the read half of each method
//     permission;
//   - GET fido2Methods/creationOptions: a read that needs the passkey write
//     permission (UserAuthMethod-Passkey.ReadWrite.All), so nothing is
//     written to prove it;
//   - for the other two write permissions no read needs them, so tapd
//     deletes a method that does not exist (the nil GUID). Only 204 is
//     documented for a delete; 403 says the permission is missing, and any
//     other answer (a 404, say) proves nothing: "not proved". Such a delete
//     may show in the tenant's audit log; nothing changes.
//
// A refusal other than for permission (Graph down, a bad answer) ends the
// check with an error.
func Permissions(ctx context.Context, c *graph.Client, cloud Cloud) (Proof, error) {
	var p Proof
	if _, err := c.Tokens.Token(ctx); err != nil {
		return p, err
	}
	denied := func(err error) bool {
		var ge *graph.Error
		return errors.As(err, &ge) && (ge.Status == http.StatusForbidden || ge.Status == http.StatusUnauthorized)
	}
	missing := func(perm, what string, res graph.Result) {
		p.Missing = append(p.Missing, fmt.Sprintf("%s (to %s; Graph request id %s)", perm, what, res.RequestID))
	}
	// try runs a call that only perm allows: a 403 (or 401) names perm
	// missing; other refusals go to undocumented, which says whether it
	// may pass as "not proved" rather than end the check.
	try := func(perm, what string, call func() (graph.Result, error), undocumented func(*graph.Error, graph.Result) bool) error {
		res, err := call()
		var ge *graph.Error
		switch {
		case err == nil:
			return nil
		case denied(err):
			missing(perm, what, res)
			return nil
		case errors.As(err, &ge) && undocumented != nil && undocumented(ge, res):
			return nil
		}
		return fmt.Errorf("tapd could not %s in Microsoft Graph: %v", what, err)
	}
	read := func(perm, what string, call func() (graph.Result, error)) error { return try(perm, what, call, nil) }
	// write probes perm by deleting what does not exist: an answer other
	// than 204 or 403 (short of an outage) proves nothing.
	write := func(perm, what string, call func() (graph.Result, error)) error {
		return try(perm, what, call, func(ge *graph.Error, res graph.Result) bool {
			if ge.Status >= 500 || ge.Status == http.StatusTooManyRequests {
				return false
			}
			p.NotProved = append(p.NotProved, fmt.Sprintf("%s (to %s): Graph answered %d %s to a delete of a method that does not exist, "+
				"which its reference does not document; Graph request id %s", perm, what, ge.Status, ge.Code, res.RequestID))
			return true
		})
	}
	for _, r := range []struct {
		perm, what string
		call       func() (graph.Result, error)
	}{
		{permPolicy, "read the Temporary Access Pass policy", func() (graph.Result, error) { _, r, err := c.TAPPolicy(ctx); return r, err }},
		{permPolicy, "read the FIDO2 policy", func() (graph.Result, error) { _, r, err := c.FIDO2Policy(ctx); return r, err }},
		{permGroups, "find groups and list their members, for staging from a group", func() (graph.Result, error) { _, r, err := c.AnyGroup(ctx); return r, err }},
	} {
		if err := read(r.perm, r.what, r.call); err != nil {
			return p, err
		}
	}
	var probe string
	if err := read(permUsers, "read users", func() (r graph.Result, err error) { probe, r, err = c.AnyUser(ctx); return r, err }); err != nil {
		return p, err
	}
	perUser := []string{permMethods, permTAP, permPasskey}
	if probe == "" {
		why := "no user in the tenant to ask about"
		if len(p.Missing) > 0 && strings.HasPrefix(p.Missing[len(p.Missing)-1], permUsers) {
			why = "tapd cannot read users without " + permUsers
		}
		for _, perm := range perUser {
			p.NotProved = append(p.NotProved, perm+" ("+why+")")
		}
		return p, nil
	}
	nilID := "00000000-0000-0000-0000-000000000000"
	reads := []struct {
		perm, what string
		call       func() (graph.Result, error)
	}{
		{permUsers, "read a user's groups", func() (graph.Result, error) { _, r, err := c.Groups(ctx, probe); return r, err }},
		{permMethods, "read a user's authentication methods", func() (graph.Result, error) { _, r, err := c.Methods(ctx, probe); return r, err }},
		{permTAP, "read a user's Temporary Access Pass", func() (graph.Result, error) { _, r, err := c.ListTAP(ctx, probe); return r, err }},
		{permPasskey, "read a user's security keys", func() (graph.Result, error) { _, r, err := c.ListFIDO2(ctx, probe); return r, err }},
	}
	for _, r := range reads {
		if err := read(r.perm, r.what, r.call); err != nil {
			return p, err
		}
	}
	if err := write(permMethods, "delete a user's authentication methods", func() (graph.Result, error) {
		return c.DeleteMethod(ctx, probe, "microsoftAuthenticator", nilID)
	}); err != nil {
		return p, err
	}
	if err := write(permTAP, "delete a user's Temporary Access Pass", func() (graph.Result, error) {
		return c.DeleteMethod(ctx, probe, "temporaryAccessPass", nilID)
	}); err != nil {
		return p, err
	}
	if !cloud.Registration {
		return p, nil // no registration API: the passkey write is not needed
	}
	// The creation options need the passkey write permission: a read that
	// proves it. Refused (self-service setup off, or the user outside the
	// FIDO2 policy also refuse it), the delete probe decides.
	if _, _, err := c.CreationOptions(ctx, probe); err == nil {
		return p, nil
	}
	return p, write(permPasskey, "register and delete a user's security keys", func() (graph.Result, error) {
		return c.DeleteMethod(ctx, probe, "fido2", nilID)
	})
}
