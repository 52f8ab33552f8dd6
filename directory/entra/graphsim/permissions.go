// The simulator's application permissions: what each Graph call needs
// and which permissions a test has revoked.

package graphsim

import (
	"net/http"
	"slices"
	"strings"
)

// Permissions: the application permissions each call needs, any one of
// them, from least to most privileged, as each page's permissions table
// gives them. Every permission is granted until a test revokes it.

// needs is the permissions a request needs, any one of them.
func needs(method, path string) []string {
	const (
		users   = "User.Read.All"
		methods = "UserAuthenticationMethod.ReadWrite.All"
		tapRW   = "UserAuthMethod-TAP.ReadWrite.All"
		keyRW   = "UserAuthMethod-Passkey.ReadWrite.All"
	)
	p := strings.TrimPrefix(path, "/v1.0")
	switch {
	case strings.HasPrefix(p, "/policies/"):
		return []string{"Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod"}
	case strings.Contains(p, "/transitiveMemberOf"): // user-list-transitivememberof.md
		return []string{users, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}
	case strings.HasPrefix(p, "/groups"): // group-list.md, group-get.md, group-list-transitivemembers.md
		return []string{"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}
	case strings.Contains(p, "/temporaryAccessPassMethods"):
		if method == http.MethodGet {
			return []string{"UserAuthMethod-TAP.Read.All", tapRW, "UserAuthenticationMethod.Read.All", methods}
		}
		return []string{tapRW, methods}
	case strings.Contains(p, "/fido2Methods"):
		if method == http.MethodGet && !strings.HasSuffix(p, "/creationOptions") {
			return []string{"UserAuthMethod-Passkey.Read.All", keyRW, "UserAuthenticationMethod.Read.All", methods}
		}
		return []string{keyRW, methods}
	case strings.Contains(p, "/authentication/"):
		if method == http.MethodGet {
			return []string{"UserAuthenticationMethod.Read.All", methods}
		}
		return []string{methods}
	}
	return []string{users, "Directory.Read.All"}
}

// Revoke takes application permissions away from the registered app.
func (s *Sim) Revoke(perms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked == nil {
		s.revoked = map[string]bool{}
	}
	for _, p := range perms {
		s.revoked[p] = true
	}
}

// allowed reports whether the app holds one of need.
func (s *Sim) allowed(need []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(need, func(p string) bool { return !s.revoked[p] })
}
