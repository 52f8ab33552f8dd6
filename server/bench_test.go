package server

import (
	"fmt"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/tap"
)

// BenchmarkSessionOpenClose measures a kiosk sign-in and sign-out over HTTP
// on loopback, with the production Argon2id cost, on each store. The pass
// check dominates; BenchmarkSessionOpenCloseCheapHash shows what is left
// (HTTP, JSON, SQL, audit writes) when the hash costs nothing.
func BenchmarkSessionOpenClose(b *testing.B) {
	benchSessions(b, tap.DefaultArgon2)
}

func BenchmarkSessionOpenCloseCheapHash(b *testing.B) {
	benchSessions(b, cheapArgon)
}

func benchSessions(b *testing.B, cost tap.Argon2Params) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			e := newEnv(b, backend)
			e.reconfigure(func(c *recovery.Config) { c.Argon2 = cost })
			e.enablePolicy()
			const users = 16
			passes := make([]string, users)
			for i := range passes {
				upn := fmt.Sprintf("bench%d@example.com", i)
				e.addUser(api.User{UserPrincipalName: upn})
				passes[i] = *e.newPass(upn, api.CreatePassRequest{}).TemporaryAccessPass
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					k := e.fresh(e.kiosk)
					n := i % users
					i++
					if _, err := k.OpenSession(bg, fmt.Sprintf("bench%d@example.com", n), passes[n]); err != nil {
						b.Error(err)
						return
					}
					if err := k.SignOut(bg); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
