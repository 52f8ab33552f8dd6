package server

import (
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes keeps api/openapi.yaml and the router in step:
// every documented operation is served, and every served one documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	spec, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	path := ""
	pathRe := regexp.MustCompile(`^  (/\S*):$`)
	opRe := regexp.MustCompile(`^    (get|post|patch|put|delete):`)
	for _, line := range strings.Split(string(spec), "\n") {
		if m := pathRe.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := opRe.FindStringSubmatch(line); m != nil && path != "" {
			documented[strings.ToUpper(m[1])+" "+path] = true
		}
		if strings.HasPrefix(line, "components:") {
			break
		}
	}
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{"GET /healthz": true}
	for _, m := range regexp.MustCompile(`route\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		served[m[1]] = true
	}
	var missing []string
	for op := range served {
		if !documented[op] {
			missing = append(missing, "undocumented: "+op)
		}
	}
	for op := range documented {
		if !served[op] {
			missing = append(missing, "documented but not served: "+op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatal(strings.Join(missing, "\n"))
	}
	// And the router really answers each one (not the catch-all 404).
	e := newEnv(t, "sqlite")
	fill := strings.NewReplacer("{upn}", "a@example.com", "{id}", "x", "{name}", "x")
	for op := range documented {
		method, p, _ := strings.Cut(op, " ")
		status, ae, _ := e.raw(method, fill.Replace(p), "", "", nil)
		if status == http.StatusNotFound && ae != nil && strings.Contains(ae.Message, "There is no") {
			t.Errorf("%s is documented but the router does not serve it", op)
		}
	}
}
