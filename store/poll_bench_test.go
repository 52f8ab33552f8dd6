package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

// BenchmarkPollWithWrites is a kiosk's poll (GetKioskSession) over 10,000
// open sessions while a writer commits 200 times a second, as sign-ins and
// registrations do: every commit makes each SQLite reader drop its page
// cache at its next read, which is what the reads pay for here.
func BenchmarkPollWithWrites(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, pg, backend)
			const n = 10000
			k := store.Kiosk{ID: "k-bench", Name: "bench", TokenHash: "h-bench", CreatedAt: t0}
			err := s.Atomically(ctx, func(tx store.Store) error {
				if err := tx.CreateKiosk(ctx, k); err != nil {
					return err
				}
				for i := range n {
					upn := fmt.Sprintf("u%d@bench.example", i)
					if err := tx.CreateUser(ctx, store.User{UPN: upn, UserType: "Member", CreatedAt: t0}); err != nil {
						return err
					}
					if _, err := tx.ReplacePass(ctx, store.Pass{ID: fmt.Sprint("p", i), UPN: upn, Hash: "x", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 60}); err != nil {
						return err
					}
					if err := tx.OpenSession(ctx, store.Session{ID: fmt.Sprint("s", i), TokenHash: fmt.Sprint("th", i), KioskID: k.ID, UPN: upn,
						PassID: fmt.Sprint("p", i), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, false, t0); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(5 * time.Millisecond)
				defer t.Stop()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-t.C:
					}
					if err := s.AppendAudit(ctx, store.AuditEntry{At: t0, Action: "bench", Actor: fmt.Sprint(i), Result: store.AuditSuccess}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
			b.ResetTimer()
			before := usage(b)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ks, err := s.GetKioskSession(ctx, k.TokenHash, fmt.Sprint("th", rand.IntN(n)))
					if err != nil || ks.Session == nil {
						b.Error(ks, err)
						return
					}
				}
			})
			b.StopTimer()
			close(stop)
			wg.Wait()
			reportUsage(b, before)
		})
	}
}

// usage is the process's CPU time and minor page faults so far.
func usage(b *testing.B) syscall.Rusage {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return u
}

// reportUsage reports the CPU time and minor page faults per operation
// since before: the process's, so the writer's share is in it, but the
// same in every run. On a shared machine CPU per operation holds still
// where ns/op does not; page faults count pages a reader maps afresh.
func reportUsage(b *testing.B, before syscall.Rusage) {
	after := usage(b)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(after.Minflt-before.Minflt)/float64(b.N), "minflt/op")
}
