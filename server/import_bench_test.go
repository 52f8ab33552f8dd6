package server

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// BenchmarkImportCSV measures what a 4 MiB CSV costs tapd (the HTTP
// server, the import and its answer, in this process) on SQLite: B/op is
// every byte allocated for one import, peak-heap-MiB the most the live
// heap grew above where it was before the request (sampled every
// millisecond; the body itself is built before). Before the imports were
// streamed, 2 million tiny rows took RSS from 39 to 816 MiB.
func BenchmarkImportCSV(b *testing.B) {
	const size = 4 << 20
	fill := func(header, row func(i int) string) string {
		var sb strings.Builder
		sb.WriteString(header(0))
		for i := 0; sb.Len() < size-1000; i++ {
			sb.WriteString(row(i))
		}
		return sb.String()
	}
	pad := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name   string
		users  bool
		status int
		body   func(iter int) string
	}{
		// 2 million rows "a,b": refused at the row limit.
		{"users/tinyRows", true, 413, func(int) string {
			return fill(func(int) string { return "userPrincipalName,displayName\n" }, func(int) string { return "a,b\n" })
		}},
		// The limit's worth of bad rows, each as long as 4 MiB allows.
		{"users/badRowsAtLimit", true, 400, func(int) string {
			return csvOf("userPrincipalName,displayName\n", recovery.MaxImportRows, func(i int) string { return "bad upn," + pad(400) + "\n" })
		}},
		// The limit's worth of new users, each as long as 4 MiB allows
		// (a 200-character name and 12 groups).
		{"users/goodRowsAtLimit", true, 200, func(iter int) string {
			groups := strings.TrimSuffix(strings.Repeat("group-name-1234;", 12), ";")
			return csvOf("userPrincipalName,displayName,groups\n", recovery.MaxImportRows, func(i int) string {
				return fmt.Sprintf("i%d-u%d@example.com,%s,%s\n", iter, i, pad(200), groups)
			})
		}},
		// One row whose UPN is the whole 4 MiB.
		{"users/oneHugeField", true, 400, func(int) string {
			return "userPrincipalName,displayName\n" + pad(size-100) + ",x\n"
		}},
		{"staging/tinyRows", false, 413, func(int) string {
			return fill(func(int) string { return "" }, func(int) string { return "x\n" })
		}},
		// The limit's worth of people the directory does not know.
		{"staging/unknownAtLimit", false, 400, func(int) string {
			return csvOf("", recovery.MaxStagingRows, func(i int) string { return fmt.Sprintf("nobody%d@example.com,%s,k\n", i, pad(200)) })
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, "sqlite")
			path := "/v1/stagingBatches/import?name=bench"
			if c.users {
				path = "/v1/users/import?mode=partial"
				if c.status == 400 {
					path = "/v1/users/import"
				}
			}
			var peak int64
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				body := []byte(c.body(i))
				if len(body) > size {
					b.Fatalf("body of %d bytes", len(body))
				}
				runtime.GC()
				base := heapObjects()
				var top atomic.Int64
				done := make(chan struct{})
				go func() {
					t := time.NewTicker(time.Millisecond)
					defer t.Stop()
					for {
						if h := heapObjects() - base; h > top.Load() {
							top.Store(h)
						}
						select {
						case <-done:
							return
						case <-t.C:
						}
					}
				}()
				b.StartTimer()
				status, ae, _ := e.raw("POST", path, e.admin.Token, "text/csv", body)
				b.StopTimer()
				close(done)
				if status != c.status {
					b.Fatalf("status %d (%+v), want %d", status, ae, c.status)
				}
				if status == 400 && (len(ae.Rows) != min(recovery.MaxRowErrors, ae.RowsFailed) || ae.Code != api.CodeImportFailed) {
					b.Fatalf("%d rows listed", len(ae.Rows))
				}
				peak = max(peak, top.Load())
				b.StartTimer()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// heapObjects is the live heap's size now, read without stopping the
// world.
func heapObjects() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}
