// Making the users, their passes and the kiosks through the API, one
// person's visit that registers a security key, and running work n ways
// in parallel.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// setup makes the users, their passes and the kiosks through the API,
// and returns one person per session followed by one per registration.
// kiosk hears each kiosk's number and token.
func setup(ctx context.Context, c config, admin *api.Client, lifetime int, kiosk func(i int, tok string)) ([]person, error) {
	if err := enablePolicy(ctx, admin, lifetime); err != nil {
		return nil, err
	}
	kiosks := make([]string, c.kiosks)
	for i := range kiosks {
		k, err := admin.CreateKiosk(ctx, fmt.Sprintf("load-kiosk-%d", i))
		if err != nil {
			return nil, fmt.Errorf("create kiosk: %w", err)
		}
		kiosks[i] = k.Token
		kiosk(i, k.Token)
	}
	n := c.sessions + c.registrations()
	people := make([]person, n)
	// Users are cheap; passes cost an Argon2id hash each, so they go at
	// the sign-in concurrency.
	err := parallel(ctx, n, 8, func(i int) error {
		upn := fmt.Sprintf("load%05d@example.com", i)
		people[i] = person{upn: upn, kiosk: kiosks[i%len(kiosks)]}
		_, err := admin.CreateUser(ctx, api.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Load %d", i)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create users: %w", err)
	}
	err = parallel(ctx, n, c.signinConc, func(i int) error {
		p, err := admin.CreatePass(ctx, people[i].upn, api.CreatePassRequest{LifetimeInMinutes: &lifetime})
		if err != nil {
			return err
		}
		people[i].pass = *p.TemporaryAccessPass
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create passes: %w", err)
	}
	return people, nil
}

// register is one person's visit: sign in, then register a new security
// key (a virtual key through libfido2, with a PIN). The key's own work is
// not in the figures, only tapd's answers.
func register(c config, k *api.Client, p person, i int, signins, options, registers, keyErrs *series) {
	ctx := context.Background()
	if signins.time(func() error { _, err := k.OpenSession(ctx, p.upn, p.pass); return err }) != nil {
		return
	}
	key, err := virtualkey.New(virtualkey.Options{TouchDelay: time.Millisecond})
	if err != nil {
		keyErrs.add(0, err)
		return
	}
	name := fmt.Sprintf("load%d", i)
	path := hidroute.Plug(name, key)
	defer hidroute.Remove(name)
	const pin = "2468"
	if err := fido.SetPIN(path, pin); err != nil {
		keyErrs.add(0, err)
		return
	}
	var opts api.CreationOptions
	if options.time(func() error { var err error; opts, err = k.CreationOptions(ctx); return err }) != nil {
		return
	}
	reg, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingParty.ID, PIN: pin})
	if err != nil {
		keyErrs.add(0, err)
		return
	}
	raw, _ := json.Marshal(reg)
	registers.time(func() error {
		_, err := k.RegisterFIDO2(ctx, api.RegisterFIDO2Request{DisplayName: "Load key", PublicKeyCredential: raw, KeyModel: "Virtual Key"})
		return err
	})
}

// parallel runs fn(0..n-1), conc at a time, and stops at the first error.
func parallel(ctx context.Context, n, conc int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < min(conc, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err; next.Store(int64(n)) })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
