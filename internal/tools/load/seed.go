package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// seeded is what seed wrote: the kiosks' tokens, the held sessions (one
// token each, with its kiosk's), and the people who sign in and register
// during the hold.
type seeded struct {
	kiosks []string // the kiosks' tokens; kiosk i is load-kiosk-i
	held   []person // kiosk is the kiosk token, pass the session token
	people []person // sign in with pass during the hold
}

func token(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// seed writes the held sessions straight into the store, before tapd
// starts: their people, passes, kiosks and sessions, as tapd itself would
// have written them. Signing 10,000 people in through the API costs two
// Argon2id hashes each (the pass, the sign-in): minutes of CPU before the
// hold, which is not what is measured. The people who register during
// the hold get passes too, all with one hash of one value (an Argon2id
// hash is costly to make, and each sign-in checks it at full cost).
func seed(ctx context.Context, db string, nKiosks, held, people int, limit time.Duration, lifetime int) (seeded, error) {
	st, err := store.Open(ctx, db)
	if err != nil {
		return seeded{}, err
	}
	defer st.Close()
	value := token("LoadPass")[:24]
	hash, err := tap.HashPass(value, tap.DefaultArgon2)
	if err != nil {
		return seeded{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	kiosks := make([]store.Kiosk, nKiosks)
	tokens := make([]string, nKiosks)
	var out seeded
	err = st.Atomically(ctx, func(tx store.Store) error {
		for i := range kiosks {
			tokens[i] = token(api.KioskTokenPrefix)
			kiosks[i] = store.Kiosk{ID: uuid.NewString(), Name: fmt.Sprintf("load-kiosk-%d", i), TokenHash: recovery.HashToken(tokens[i]), CreatedAt: now}
			if err := tx.CreateKiosk(ctx, kiosks[i]); err != nil {
				return err
			}
		}
		for i := range held + people {
			upn := fmt.Sprintf("load%05d@example.com", i)
			if err := tx.CreateUser(ctx, store.User{UPN: upn, DisplayName: fmt.Sprintf("Load %d", i), UserType: "Member", Groups: []string{}, CreatedAt: now}); err != nil {
				return err
			}
			p := store.Pass{ID: uuid.NewString(), UPN: upn, Hash: hash, CreatedAt: now, StartAt: now, LifetimeMinutes: lifetime, CreatedBy: "load"}
			if _, err := tx.ReplacePass(ctx, p); err != nil {
				return err
			}
			k := i % nKiosks
			if i >= held {
				out.people = append(out.people, person{upn: upn, pass: value, kiosk: tokens[k], kioskNo: k})
				continue
			}
			tok := token(api.SessionTokenPrefix)
			s := store.Session{ID: uuid.NewString(), TokenHash: recovery.HashToken(tok), KioskID: kiosks[k].ID, UPN: upn, PassID: p.ID, CreatedAt: now, ExpiresAt: now.Add(limit)}
			if err := tx.OpenSession(ctx, s, false, now); err != nil {
				return err
			}
			out.held = append(out.held, person{upn: upn, pass: tok, kiosk: tokens[k], kioskNo: k})
		}
		return nil
	})
	out.kiosks = tokens
	return out, err
}
