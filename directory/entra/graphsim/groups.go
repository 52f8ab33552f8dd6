// The simulator's groups: a user's transitive groups, the group list and
// look-up, and a group's members.

package graphsim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// groups pages like Graph: $top per page (100 by default), the rest
// behind @odata.nextLink.
//
// The path is an OData cast, which user-list-transitivememberof.md
// ("Request headers": ConsistencyLevel) and the advanced-queries page
// (aad-advanced-queries.md, "OData cast" row) say needs the header
// "ConsistencyLevel: eventual" and $count=true. The simulator refuses the
// cast without both, as a Graph that enforces its documentation would;
// the code and wording of that refusal are ours.
func (s *Sim) groups(w http.ResponseWriter, r *http.Request, u *user) {
	if !advancedQuery(r) {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
			"The OData cast microsoft.graph.group is an advanced query: send the header 'ConsistencyLevel: eventual' and $count=true.")
		return
	}
	s.page(w, r, len(u.Groups), "groups(id,displayName)", func(i int) map[string]any {
		g := u.Groups[i]
		return groupOut(GroupID(g), g)
	})
}

// AddGroup adds a group named name and returns its object id. The
// simulator's members are the users whose groups name it, so this is for
// a group nobody is in; a name already used gets a second group of that
// name with a new id and no members (Entra's display names are not
// unique).
func (s *Sim) AddGroup(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := GroupID(name)
	if _, ok := s.allGroups()[id]; ok {
		id = uuid.NewString()
	}
	if s.extraGroups == nil {
		s.extraGroups = map[string]string{}
	}
	s.extraGroups[id] = name
	return id
}

// allGroups is every group by id: those users name and those added.
// Called with s.mu held.
func (s *Sim) allGroups() map[string]string {
	out := map[string]string{}
	for _, u := range s.users {
		for _, g := range u.Groups {
			out[GroupID(g)] = g
		}
	}
	for id, name := range s.extraGroups {
		out[id] = name
	}
	return out
}

func groupOut(id, name string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.group", "id": id, "displayName": name}
}

// listGroups answers GET /groups, every group or those the one $filter
// tapd sends names, displayName eq 'NAME' (group-list.md; ” inside the
// quotes is a quote).
func (s *Sim) listGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := r.URL.Query().Get("$filter")
	name, ok := strings.CutPrefix(f, "displayName eq '")
	if f != "" && (!ok || !strings.HasSuffix(name, "'")) {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query.")
		return
	}
	name = strings.ReplaceAll(strings.TrimSuffix(name, "'"), "''", "'")
	var ids []string
	all := s.allGroups()
	for id, n := range all {
		if f == "" || strings.EqualFold(n, name) { // Graph compares display names without case
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	s.page(w, r, len(ids), "groups(id,displayName)", func(i int) map[string]any { return groupOut(ids[i], all[ids[i]]) })
}

func (s *Sim) getGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("gid")
	name, ok := s.allGroups()[id]
	if !ok {
		resourceNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, groupOut(id, name))
}

// groupUsers answers the users of a group, paged, ordered by UPN. The
// simulator has no nested groups, so the transitive members are the
// direct ones. The cast needs the advanced query parameters, as on
// transitiveMemberOf.
func (s *Sim) groupUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !advancedQuery(r) {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
			"The OData cast microsoft.graph.user is an advanced query: send the header 'ConsistencyLevel: eventual' and $count=true.")
		return
	}
	id := r.PathValue("gid")
	name, ok := s.allGroups()[id]
	if !ok {
		resourceNotFound(w, id)
		return
	}
	var in []*user
	if id == GroupID(name) { // a second group of a used name has nobody in it
		for _, u := range s.users {
			if slices.Contains(u.Groups, name) {
				in = append(in, u)
			}
		}
	}
	slices.SortFunc(in, func(a, b *user) int { return strings.Compare(strings.ToLower(a.UPN), strings.ToLower(b.UPN)) })
	s.page(w, r, len(in), "users(id,userPrincipalName,displayName,userType,externalUserState)", func(i int) map[string]any {
		u := in[i]
		out := map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName, "userType": u.UserType}
		if u.ExternalUserState != "" {
			out["externalUserState"] = u.ExternalUserState
		}
		return out
	})
}

// advancedQuery reports whether r is one Graph's advanced query
// capabilities will answer: ConsistencyLevel eventual and $count=true.
func advancedQuery(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") && r.URL.Query().Get("$count") == "true"
}

// GroupID is the simulated object id of the group named name.
func GroupID(name string) string { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String() }
