package server

import (
	"net/http"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

// probeMethods are the methods tried to build an Allow header.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// unrouted answers what mux has no route for in the JSON error shape: 405
// methodNotAllowed with Allow when the path is served with other methods,
// else 404 notFound. (A catch-all "/" route would also match every wrong
// method, so ServeMux's own 405 never happened; and that 405 is plain text.)
func (s *Server) unrouted(mux *http.ServeMux) http.Handler {
	miss := s.wrap(authNone, "", func(c *call) error {
		if allow := allowed(mux, c.r); len(allow) > 0 {
			c.w.Header().Set("Allow", strings.Join(allow, ", "))
			return api.E(api.CodeMethodNotAllowed, "%s %s is not in this API; the path allows %s.", c.r.Method, c.r.URL.Path, strings.Join(allow, ", "))
		}
		return api.NotFound("There is no %s %s in this API; see api/openapi.yaml.", c.r.Method, c.r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			miss.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// allowed lists the methods mux serves r's path with.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}
