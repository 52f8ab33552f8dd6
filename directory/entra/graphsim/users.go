// The simulator's users: adding them, finding them by object id or UPN,
// and answering the user look-ups and list pages as Graph does.

package graphsim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// AddUser adds a user and returns their object id. external marks a B2B
// guest from outside the tenant.
func (s *Sim) AddUser(upn, displayName, userType string, external bool, groups ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &user{ID: uuid.NewString(), UPN: upn, DisplayName: displayName, UserType: userType, Groups: groups, handle: make([]byte, 32)}
	rand.Read(u.handle)
	if external {
		u.ExternalUserState = "Accepted"
	}
	s.users[u.ID] = u
	return u.ID
}

// listUsers answers GET /users with the first $top users (user-list.md).
func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	top := 100
	fmt.Sscan(r.URL.Query().Get("$top"), &top)
	out := []map[string]any{}
	for _, u := range s.users {
		if len(out) < top {
			out = append(out, map[string]any{"id": u.ID})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// find looks a user up by object id or UPN. Called with s.mu held.
func (s *Sim) find(idOrUPN string) *user {
	if u, ok := s.users[idOrUPN]; ok {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.UPN, idOrUPN) {
			return u
		}
	}
	return nil
}

// resourceNotFound is Graph's answer for a user or group id it does not hold.
func resourceNotFound(w http.ResponseWriter, id string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// withUser runs h with the simulator locked and the path's user found,
// or answers 404 as Graph does.
func (s *Sim) withUser(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.find(r.PathValue("id"))
		if u == nil {
			resourceNotFound(w, r.PathValue("id"))
			return
		}
		h(w, r, u)
	}
}

// withObjectID is withUser for the two provisioning paths, whose v1.0
// pages (fido2authenticationmethod-creationoptions.md,
// authentication-post-fido2methods.md) write /users/{id} only, where every
// other page writes {id | userPrincipalName}: a UPN is refused. The code
// and wording of the refusal are ours.
func (s *Sim) withObjectID(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return s.withUser(func(w http.ResponseWriter, r *http.Request, u *user) {
		if r.PathValue("id") != u.ID {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid object identifier '%s'.", r.PathValue("id")))
			return
		}
		h(w, r, u)
	})
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, u *user) {
	out := map[string]any{"id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName, "userType": u.UserType}
	if u.ExternalUserState != "" {
		out["externalUserState"] = u.ExternalUserState
	}
	writeJSON(w, http.StatusOK, out)
}

// page writes entries [skip, skip+top) of a list of n, as Graph pages:
// $top per page (100 by default, at most the simulator's page size), the
// rest behind @odata.nextLink with a $skiptoken. Called with s.mu held.
func (s *Sim) page(w http.ResponseWriter, r *http.Request, n int, context string, entry func(i int) map[string]any) {
	top, skip := 100, 0
	fmt.Sscan(r.URL.Query().Get("$top"), &top)
	fmt.Sscan(r.URL.Query().Get("$skiptoken"), &skip)
	top = min(top, s.pageLimit())
	out := []map[string]any{}
	for i := skip; i < n && i < skip+top; i++ {
		out = append(out, entry(i))
	}
	body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + context, "value": out}
	if r.URL.Query().Get("$count") == "true" {
		body["@odata.count"] = n
	}
	if skip+top < n {
		q := r.URL.Query()
		q.Set("$skiptoken", fmt.Sprint(skip+top))
		body["@odata.nextLink"] = s.URL() + strings.TrimPrefix(r.URL.Path, "/v1.0") + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// PageSize makes the simulator page lists after n entries, whatever $top
// asks, so tests can reach the next page cheaply.
func (s *Sim) PageSize(n int) {
	s.mu.Lock()
	s.pageSize = n
	s.mu.Unlock()
}

// pageLimit is called with s.mu held.
func (s *Sim) pageLimit() int {
	if s.pageSize > 0 {
		return s.pageSize
	}
	return 999
}
