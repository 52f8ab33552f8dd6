// The simulator's injected faults: throttling, failures and delays that
// tests arm for the next requests.

package graphsim

import (
	"net/http"
	"strings"
	"time"
)

// fault answers the next n Graph requests that match with an error.
type fault struct {
	match      string // "METHOD /path" substring; "" matches every request
	n          int
	status     int
	code, msg  string
	retryAfter int
}

// Throttle answers the next n requests with 429 and Retry-After.
func (s *Sim) Throttle(n, retryAfterSeconds int) {
	s.FailMatching("", n, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.", retryAfterSeconds)
}

// Fail answers the next n requests with status (503, 500, ...).
func (s *Sim) Fail(n, status int) {
	s.FailMatching("", n, status, "serviceNotAvailable", "The service is temporarily unavailable.", 0)
}

// FailMatching answers the next n requests whose "METHOD /path" contains
// match with status and Graph's error body {code, message}.
func (s *Sim) FailMatching(match string, n, status int, code, msg string, retryAfterSeconds int) {
	s.mu.Lock()
	s.faults = append(s.faults, fault{match: match, n: n, status: status, code: code, msg: msg, retryAfter: retryAfterSeconds})
	s.mu.Unlock()
}

// takeFault returns the fault for this request, if any. Called with s.mu held.
func (s *Sim) takeFault(req string) *fault {
	for i := range s.faults {
		f := &s.faults[i]
		if f.n > 0 && strings.Contains(req, f.match) {
			f.n--
			out := *f
			return &out
		}
	}
	return nil
}

// Delay makes every answer wait d (0 to stop).
func (s *Sim) Delay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// ClearFaults drops every pending fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}
