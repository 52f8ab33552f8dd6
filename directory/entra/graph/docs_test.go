package graph_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
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

// docPostFIDO2 is the example request of authentication-post-fido2methods.md,
// verbatim.
const docPostFIDO2 = `{
  "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
  "displayName": "My security key",
  "publicKeyCredential": {
    "@odata.type": "#microsoft.graph.webauthnPublicKeyCredential",
    "id": "OEVEMkQzNTctNzNEMi00RjEzLTk5MjYtODdGNjFCMjRBMzQy",
    "response": {
      "@odata.type": "#microsoft.graph.webauthnAuthenticatorAttestationResponse",
      "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiUVRVMU16TkROekF0TmtNM05pMDBOVFJETFVKRFEwWXRSVFJFTURaQ05UQkZSVFJFIiwib3JpZ2luIjoiaHR0cHM6Ly9sb2dpbi5taWNyb3NvZnRvbmxpbmUuY29tIiwiY3Jvc3NPcmlnaW4iOmZhbHNlfQ",
      "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVikSZYN5YgOjGh0NBcPZHZgW4/krrmihjLHmVzzuoMdl2NdAAAAALraVWanqkAfvZZFYZpVEg0AIDhFRDJEMzU3LTczRDItNEYxMy05OTI2LTg3RjYxQjI0QTM0MqUBAgMmIAEhWCAMKJ7T4r8w5F6JGxJLJXNR0hV1MZF1aZ1F0pZXq5p5"
    },
    "clientExtensionResults": {
      "@odata.type": "#microsoft.graph.webauthnAuthenticationExtensionsClientOutputs"
    }
  }
}`

// TestDocumentedRequests: Microsoft's example requests, sent verbatim, get
// past the simulator's decoding (the example's credential is made up, so
// it fails later, at the credential itself).
func TestDocumentedRequests(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	st, body := raw(t, c, "POST", "/users/"+id+"/authentication/fido2Methods", docPostFIDO2, nil)
	if st != 400 || strings.Contains(body, "Invalid request body") {
		t.Fatalf("the documented body was refused as a body: %d %s", st, body)
	}
	withRawID := strings.Replace(docPostFIDO2, `"id":`, `"rawId": "x", "id":`, 1)
	if st, body := raw(t, c, "POST", "/users/"+id+"/authentication/fido2Methods", withRawID, nil); st != 400 || !strings.Contains(body, "Invalid request body") {
		t.Fatalf("a member the reference does not name was accepted: %d %s", st, body)
	}
	// authentication-post-temporaryaccesspassmethods.md's example request.
	st, body = raw(t, c, "POST", "/users/"+id+"/authentication/temporaryAccessPassMethods",
		`{"startDateTime": "2022-06-05T00:00:00.000Z", "lifetimeInMinutes": 60, "isUsableOnce": false}`, nil)
	if st != 201 || !strings.Contains(body, `"NotYetValid"`) && !strings.Contains(body, `"Expired"`) {
		t.Fatalf("documented pass create: %d %s", st, body)
	}
}

// TestProvisioningPathsTakeObjectIDs: the two provisioning pages (v1.0)
// write /users/{id} only; the simulator refuses a UPN there and takes it
// on the paths whose pages write {id | userPrincipalName}.
func TestProvisioningPathsTakeObjectIDs(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	for _, p := range []struct{ method, path, body string }{
		{"GET", "/authentication/fido2Methods/creationOptions", ""},
		{"POST", "/authentication/fido2Methods", docPostFIDO2},
	} {
		if st, body := raw(t, c, p.method, "/users/ada@contoso.com"+p.path, p.body, nil); st != 400 || !strings.Contains(body, "Invalid object identifier") {
			t.Errorf("%s %s by UPN: %d %s", p.method, p.path, st, body)
		}
	}
	if _, _, err := c.CreationOptions(bg, "ada@contoso.com"); err == nil {
		t.Fatal("creation options by UPN were given")
	}
	if _, _, err := c.CreationOptions(bg, id); err != nil {
		t.Fatalf("creation options by object id: %v", err)
	}
	for _, path := range []string{"/authentication/methods", "/authentication/temporaryAccessPassMethods", "/authentication/fido2Methods"} {
		if st, body := raw(t, c, "GET", "/users/ada@contoso.com"+path, "", nil); st != 200 {
			t.Errorf("GET %s by UPN: %d %s", path, st, body)
		}
	}
}

// TestClientRequestID: every call carries a client-request-id GUID, the
// same on each retry of one call, and returns it in the Result.
func TestClientRequestID(t *testing.T) {
	sim, c, _ := setup(t)
	id := sim.AddUser("ada@contoso.com", "Ada", "Member", false)
	sim.Throttle(1, 1)
	_, res, err := c.GetUser(bg, id)
	if err != nil || res.Attempts != 2 {
		t.Fatal(res, err)
	}
	if _, err := uuid.Parse(res.ClientRequestID); err != nil {
		t.Fatalf("client-request-id %q", res.ClientRequestID)
	}
	if got := sim.ClientRequestIDs; len(got) != 2 || got[0] != res.ClientRequestID || got[1] != res.ClientRequestID {
		t.Fatalf("sent %q, result %q", got, res.ClientRequestID)
	}
	_, res2, _ := c.GetUser(bg, id)
	if res2.ClientRequestID == res.ClientRequestID {
		t.Fatal("two calls share a client-request-id")
	}
}
