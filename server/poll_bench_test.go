package server

import (
	"testing"
)

// BenchmarkSessionPoll is a kiosk's poll, GET /v1/session, over HTTP on
// loopback, on each store: the request the fleet makes most. Its CPU per
// operation is what a tapd core's share of polls is made of.
func BenchmarkSessionPoll(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			e := newEnv(b, backend)
			k, _ := e.signedIn("poll@example.com")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := e.fresh(k)
				c.SessionToken = k.SessionToken
				for pb.Next() {
					if _, err := c.GetSession(bg); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
