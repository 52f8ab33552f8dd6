package server

import (
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
)

// HTTPMaxHeaderBytes is the value for the http.Server's MaxHeaderBytes:
// four times Config.MaxHeaderBytes, so that a header over the limit
// reaches limitHeaders and is answered in JSON. net/http refuses a header
// over this itself, with a plain-text 431, before any handler runs.
func (s *Server) HTTPMaxHeaderBytes() int { return 4 * s.cfg.MaxHeaderBytes }

// limitHeaders answers 431 headersTooLarge, in the JSON error shape, for a
// request whose header is over Config.MaxHeaderBytes.
func (s *Server) limitHeaders(next http.Handler) http.Handler {
	tooLarge := func(n int) http.Handler {
		return s.wrap(authNone, "", func(c *call) error {
			return api.E(api.CodeHeadersTooLarge, "The request's headers are %d bytes; the limit is %d.", n, s.cfg.MaxHeaderBytes)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := headerBytes(r); n > s.cfg.MaxHeaderBytes {
			tooLarge(n).ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// headerBytes is about what net/http counts against MaxHeaderBytes: the
// request line and every header line, Host included.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}
