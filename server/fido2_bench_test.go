package server

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// BenchmarkRegistrationCeremony runs whole registrations (options, the key
// through real libfido2, verification and storage) from 1, 8 and 64
// concurrent kiosks, each with its own virtual key and session. The client
// half costs what fido's BenchmarkRegister measures (about 1.1 ms of CPU);
// the rest is tapd. Each registered method is deleted straight from the
// store so excludeCredentials does not grow run over run.
func BenchmarkRegistrationCeremony(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", backend, clients), func(b *testing.B) {
				e := newEnv(b, backend)
				type kiosk struct {
					c    *api.Client
					path string
					upn  string
				}
				ks := make([]kiosk, clients)
				for i := range ks {
					path, _ := plugKey(b, virtualkey.Options{NoCredMgmt: true, MaxResident: 1 << 20})
					upn := fmt.Sprintf("bench%d@example.com", i)
					ks[i] = kiosk{c: e.signIn(upn), path: path, upn: upn}
				}
				var next sync.Mutex
				n := 0
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for _, k := range ks {
					wg.Add(1)
					go func(k kiosk) {
						defer wg.Done()
						for {
							next.Lock()
							if n >= b.N {
								next.Unlock()
								return
							}
							n++
							next.Unlock()
							raw, _ := keyResponse(b, k.c, k.path, nil)
							m, err := k.c.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
							if err != nil {
								b.Error(err)
								return
							}
							e.st.DeleteMethod(bg, k.upn, m.ID)
						}
					}(k)
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ceremonies/s")
			})
		}
	}
}

// BenchmarkWebAuthnVerifyFloor is go-webauthn's own parse and verify of
// one packed registration, nothing else: the floor under a ceremony.
func BenchmarkWebAuthnVerifyFloor(b *testing.B) {
	rp, err := recovery.NewRelyingParty(testRPID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	path, _ := plugKey(b, virtualkey.Options{})
	u := &directory.KeyHolder{Handle: []byte("bench-user-handle"), User: store.User{UPN: "floor@example.com", DisplayName: "Floor"}}
	creation, sd, err := rp.BeginRegistration(u)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := fido.Register(bg, path, fido.RegisterRequest{Options: creation.Response, Origin: "https://" + testRPID, PIN: "2468"})
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(reg)
	b.ResetTimer()
	for b.Loop() {
		parsed, err := protocol.ParseCredentialCreationResponseBytes(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rp.CreateCredential(u, *sd, parsed); err != nil {
			b.Fatal(err)
		}
	}
}
