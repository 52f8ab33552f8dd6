package graph_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
)

// raw sends one request to the simulator as it is, with the simulator's
// token, and returns the status and body.
func raw(t *testing.T, c *graph.Client, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.BaseURL+path, rd)
	tok, _ := c.Tokens.Token(bg)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestGroupsAdvancedQuery: the OData cast needs ConsistencyLevel and
// $count (user-list-transitivememberof.md); the simulator refuses it
// without them, and the client sends both on every page.
func TestGroupsAdvancedQuery(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false, "A", "B", "C")
	cast := "/users/" + id + "/transitiveMemberOf/microsoft.graph.group"
	for _, tc := range []struct {
		query  string
		header map[string]string
		want   int
	}{
		{"?$select=id", nil, 400},
		{"?$count=true", nil, 400},
		{"?$select=id", map[string]string{"ConsistencyLevel": "eventual"}, 400},
		{"?$count=true&$select=id", map[string]string{"ConsistencyLevel": "eventual"}, 200},
	} {
		if st, body := raw(t, c, "GET", cast+tc.query, "", tc.header); st != tc.want {
			t.Errorf("%s %v: %d %s", tc.query, tc.header, st, body)
		}
	}
	sim.PageSize(1)
	gs, _, err := c.Groups(bg, id)
	if err != nil || len(gs) != 3 {
		t.Fatalf("groups over three pages: %+v %v", gs, err)
	}
}
