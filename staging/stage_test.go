package staging_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/local"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/server"
	"github.com/tapkiosk/tapkiosk/staging"
	"github.com/tapkiosk/tapkiosk/store/storetest"
	"github.com/tapkiosk/tapkiosk/tap"
)

var bg = context.Background()

// tapd is a real tapd (recovery service and HTTP server) on SQLite in
// this process, with an operator's client, as the staging kiosk talks to.
type tapd struct {
	url string
	op  *api.Client
	srv *httptest.Server
}

func newTapd(t testing.TB) *tapd {
	t.Helper()
	st := storetest.Open(t, nil, "sqlite")
	rp, err := recovery.NewRelyingParty("tapkiosk.test", "tapkiosk test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := recovery.Config{Store: st, RP: rp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Argon2: tap.Argon2Params{Memory: 64, Time: 1, Threads: 1}}
	cfg.Directory = local.New(local.Config{Store: st, RP: rp, Argon2: cfg.Argon2, Now: time.Now})
	svc, err := recovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Service: svc, Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tok, _, err := recovery.CreateAdminToken(bg, st, "root", api.RoleGlobalAdministrator, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := api.NewClient(hs.URL, tok)
	op, err := root.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: api.RoleAuthenticationAdministrator})
	if err != nil {
		t.Fatal(err)
	}
	return &tapd{url: hs.URL, op: api.NewClient(hs.URL, op.Token), srv: hs}
}

// batch makes n people and a batch of them.
func (d *tapd) batch(t testing.TB, name string, n int) api.StagingBatch {
	t.Helper()
	var users []api.StagingPerson
	for i := range n {
		upn := fmt.Sprintf("%s-%d@example.com", name, i)
		if _, err := d.op.CreateUser(bg, api.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Person %d", i)}); err != nil {
			t.Fatal(err)
		}
		users = append(users, api.StagingPerson{UserPrincipalName: upn})
	}
	b, err := d.op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: name, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func options(t testing.TB) staging.Options {
	return staging.Options{PINs: staging.RandomPINs, PINLength: 8, Alphabet: staging.Digits, MinPINLength: 8, ForcePINChange: true,
		Letters: filepath.Join(t.TempDir(), "letters"), LetterFormat: staging.Text}
}

func nothing(staging.Phase) {}

// TestStage: one key through every phase; what the key, tapd and the
// letter hold after; and the refusals around it.
func TestStage(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "north", 3)
	var logs strings.Builder
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t), Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Serial: func(p string) string { return "TS-" + p }}
	defer func() {
		if !strings.Contains(logs.String(), `"outcome":"registered"`) || !strings.Contains(logs.String(), `"outcome":"removed"`) {
			t.Errorf("the log does not say how each key went:\n%s", logs.String())
		}
	}()
	path, vk := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, Product: "Test key"})
	key := fido.Key{Path: path, Product: "Test key"}
	pin, err := staging.RandomPIN(8, staging.Digits)
	if err != nil {
		t.Fatal(err)
	}
	var phases []staging.Phase
	res, err := s.Stage(bg, b.Rows[0], key, pin, false, func(p staging.Phase) { phases = append(phases, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) != 7 || !res.ChangeForced || !res.MinLengthSet || len(res.Warnings) != 0 || res.Serial != "TS-"+path {
		t.Fatalf("phases %v, result %+v", phases, res)
	}
	// Plugged in again later, it is known by its serial as Ada's.
	if o, err := s.FindBySerial(bg, res.Serial); err != nil || o == nil || o.Row.ID != b.Rows[0].ID || o.Batch != "north" {
		t.Fatalf("FindBySerial: %+v %v", o, err)
	}
	if o, err := s.FindBySerial(bg, "no-such-serial"); o != nil || err != nil {
		t.Fatalf("FindBySerial of another: %+v %v", o, err)
	}
	if o, _ := s.FindBySerial(bg, res.Serial); !o.Holds() {
		t.Fatal("a key still registered does not hold")
	}
	info, _ := fido.GetInfo(path)
	if info.MinPINLength != 8 || !info.ForcePINChange {
		t.Fatalf("the key's min PIN length %d, force change %v", info.MinPINLength, info.ForcePINChange)
	}
	if err := fido.VerifyPIN(bg, path, pin); !errors.Is(err, fido.ErrPINChangeRequired) {
		t.Fatalf("the PIN set: %v", err)
	}
	letter, err := os.ReadFile(res.Letter)
	if err != nil || !strings.Contains(strings.Join(strings.Fields(string(letter)), ""), pin) {
		t.Fatalf("the letter %s does not hold the PIN: %v", res.Letter, err)
	}
	got, _ := d.op.GetStagingBatch(bg, b.ID)
	if r := got.Rows[0]; r.State != api.StagingRegistered || !r.PINChangeForced || r.MethodID != res.Method.ID {
		t.Fatalf("row after staging: %+v", r)
	}

	// The same person again: tapd refuses before the touch, so nobody is
	// registered twice, even from a kiosk that lost its place.
	path2, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond})
	_, err = s.Stage(bg, b.Rows[0], fido.Key{Path: path2}, "61803398", false, nothing)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeStagingRowRegistered {
		t.Fatalf("staging a registered row again: %v", err)
	}
	// ... and their letter still holds the PIN on their key.
	if again, _ := os.ReadFile(res.Letter); string(again) != string(letter) {
		t.Fatal("a refused second try rewrote the person's letter")
	}
	// A key with a PIN the kiosk does not know must be wiped first.
	if _, err := s.Stage(bg, b.Rows[1], key, "", false, nothing); !errors.Is(err, staging.ErrNotEmpty) {
		t.Fatalf("a key with a PIN: %v", err)
	}
	// Pulled out at the touch: the row stays pending, and the same key
	// goes on with the PIN already on it.
	vk2path, vk2 := hidroute.PlugNew(t, virtualkey.Options{})
	vk2.SetPresence(virtualkey.TouchHold)
	done := make(chan error, 1)
	go func() {
		_, err := s.Stage(bg, b.Rows[1], fido.Key{Path: vk2path}, pin, false, func(p staging.Phase) {
			if p == staging.PhaseTouch {
				go func() {
					time.Sleep(200 * time.Millisecond)
					hidroute.Unplug(filepath.Base(strings.TrimPrefix(vk2path, hidroute.Prefix)))
				}()
			}
		})
		done <- err
	}()
	if err := <-done; !errors.Is(err, fido.ErrKeyRemoved) {
		t.Fatalf("pulled at the touch: %v", err)
	}
	if got, _ := d.op.GetStagingBatch(bg, b.ID); got.Rows[1].State != api.StagingPending {
		t.Fatalf("a pulled key left the row %s", got.Rows[1].State)
	}
	hidroute.Plug(strings.TrimPrefix(vk2path, hidroute.Prefix), vk2)
	vk2.SetPresence(virtualkey.TouchAuto)
	if _, err := s.Stage(bg, b.Rows[1], fido.Key{Path: vk2path}, pin, true, nothing); err != nil {
		t.Fatalf("going on after the replug: %v", err)
	}
	_ = vk

	// tapd gone: a clear error, the row untouched, the letter kept (its
	// PIN is on the key).
	path3, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond})
	d.srv.Close()
	_, err = s.Stage(bg, b.Rows[2], fido.Key{Path: path3}, pin, false, nothing)
	if !errors.Is(err, api.ErrUnreachable) {
		t.Fatalf("tapd gone: %v", err)
	}
	if strings.Contains(err.Error(), pin) || strings.Contains(logs.String(), pin) {
		t.Fatal("the error or the log holds the PIN")
	}
}

// TestStageKeyWithPasskeys: a key without a PIN that holds a passkey
// (made without one) is not staged over: Stage counts its passkeys once
// the PIN is set and stops.
func TestStageKeyWithPasskeys(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "used", 2)
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t)}
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond})
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	hash := make([]byte, 32)
	if _, err := dev.MakeCredential(hash, libfido2.RelyingParty{ID: "other.example"}, libfido2.User{ID: []byte("someone"), Name: "someone"},
		libfido2.ES256, "", &libfido2.MakeCredentialOpts{RK: libfido2.True}); err != nil {
		t.Fatalf("a passkey without a PIN: %v", err)
	}
	_, err = s.Stage(bg, b.Rows[0], fido.Key{Path: path}, "73914682", false, nothing)
	var ne *staging.NotEmptyError
	if !errors.As(err, &ne) || ne.Passkeys != 1 || !errors.Is(err, staging.ErrNotEmpty) {
		t.Fatalf("a key holding a passkey: %v", err)
	}
	if got, _ := d.op.GetStagingBatch(bg, b.ID); got.Rows[0].State != api.StagingPending {
		t.Fatalf("row %s", got.Rows[0].State)
	}
}

// TestStageAnswerLost: tapd records the key but its answer never comes
// back. The retry with the same key finds the row registered with the
// key's own credential and finishes it (the forced PIN change, the
// letter), instead of calling it someone else's. A kiosk that stopped
// there instead settles the letter on its next start (Reconcile).
func TestStageAnswerLost(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "lost", 2)
	var drop atomic.Bool
	inner := d.srv.Config.Handler
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drop.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/fido2Methods") {
			inner.ServeHTTP(httptest.NewRecorder(), r) // done, but the answer is lost
			http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
			return
		}
		inner.ServeHTTP(w, r)
	})
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t)}
	pin := "73914682"
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond})
	drop.Store(true)
	if _, err := s.Stage(bg, b.Rows[0], fido.Key{Path: path}, pin, false, nothing); err == nil {
		t.Fatal("a lost answer was taken for a success")
	}
	drop.Store(false)
	if got, _ := d.op.GetStagingBatch(bg, b.ID); got.Rows[0].State != api.StagingRegistered {
		t.Fatalf("tapd did not record the key: %s", got.Rows[0].State)
	}
	letters, _ := filepath.Glob(filepath.Join(s.Opts.Letters, "*.txt"))
	if len(letters) != 0 {
		t.Fatalf("a letter left the pending folder before the key was known registered: %v", letters)
	}
	res, err := s.Stage(bg, b.Rows[0], fido.Key{Path: path}, pin, true, nothing)
	if err != nil || !res.ChangeForced || res.Method.ID == "" || res.Letter == "" {
		t.Fatalf("the retry: %+v %v", res, err)
	}

	// The second person: the kiosk stops right after tapd's record.
	path2, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond})
	drop.Store(true)
	s.Stage(bg, b.Rows[1], fido.Key{Path: path2}, "58203917", false, nothing)
	drop.Store(false)
	got, _ := d.op.GetStagingBatch(bg, b.ID)
	if err := s.Reconcile(got); err != nil {
		t.Fatal(err)
	}
	letters, _ = filepath.Glob(filepath.Join(s.Opts.Letters, "*.txt"))
	if len(letters) != 2 {
		t.Fatalf("after Reconcile the letters are %v", letters)
	}
}

// TestStageCTAP20Key: a key without authenticatorConfig is registered
// all the same, and the result says what it could not take.
func TestStageCTAP20Key(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "old", 1)
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t)}
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, NoAuthnrCfg: true})
	res, err := s.Stage(bg, b.Rows[0], fido.Key{Path: path}, "73914682", false, nothing)
	if err != nil {
		t.Fatal(err)
	}
	if res.ChangeForced || res.MinLengthSet || len(res.Warnings) != 1 || !errors.Is(res.Warnings[0], staging.ErrNoAuthnrCfg) {
		t.Fatalf("result %+v", res)
	}
}

// TestFailAndRetry: a skipped person is failed with the reason, their
// letter gone; Retry puts them back.
func TestFailAndRetry(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "skip", 1)
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t)}
	p, err := staging.WriteLetter(s.PendingDir(), staging.Text, staging.Letter{UPN: b.Rows[0].UserPrincipalName, PIN: "73914682"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(bg, b.Rows[0], "the key was lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("the letter is still there: %v", err)
	}
	got, _ := d.op.GetStagingBatch(bg, b.ID)
	if r := got.Rows[0]; r.State != api.StagingFailed || r.FailureReason != "the key was lost" {
		t.Fatalf("row %+v", r)
	}
	if err := s.Retry(bg, got.Rows); err != nil {
		t.Fatal(err)
	}
	got, _ = d.op.GetStagingBatch(bg, b.ID)
	if r := got.Rows[0]; r.State != api.StagingPending {
		t.Fatalf("row after Retry %+v", r)
	}
	paths, err := s.WriteManifest(bg, filepath.Join(t.TempDir(), "out"))
	if err != nil || len(paths) != 2 {
		t.Fatalf("manifest %v %v", paths, err)
	}
}

// BenchmarkStageKey is the machine time of one key of a batch: a wipe
// (authenticatorReset) of a key just plugged in, then Stage's every
// phase (the PIN letter, PIN, minimum length, options from tapd, the
// registration with packed attestation, tapd's verification and record,
// the forced PIN change and its record) through real libfido2 to the
// virtual key and a real tapd on SQLite. Touches are immediate: the
// person's time is not the machine's.
func BenchmarkStageKey(b *testing.B) {
	for _, format := range []string{staging.Text, staging.PDF} {
		b.Run(format, func(b *testing.B) { benchStage(b, format) })
	}
}

func benchStage(b *testing.B, format string) {
	d := newTapd(b)
	batch := d.batch(b, "bench", b.N)
	opts := options(b)
	opts.LetterFormat = format
	s := &staging.Stager{Client: d.op, Batch: batch, Opts: opts}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path, _ := hidroute.PlugNew(b, virtualkey.Options{TouchDelay: time.Nanosecond})
		pin, _ := staging.RandomPIN(8, staging.Digits)
		b.StartTimer()
		if err := fido.Reset(bg, path); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Stage(bg, batch.Rows[i], fido.Key{Path: path, Product: "Bench key"}, pin, false, nothing); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReconcile: what a start does with pending letters. A registered
// person's single pending letter is settled; two (stations raced) are
// left and named; a pending person's stale letter goes, a young one (a
// running station's) stays.
func TestReconcile(t *testing.T) {
	opts := options(t)
	a := &staging.Stager{Opts: opts}
	other := &staging.Stager{Opts: opts} // another station, same folder
	rows := []api.StagingRow{
		{ID: "1", UserPrincipalName: "reg@example.com", State: api.StagingRegistered},
		{ID: "2", UserPrincipalName: "both@example.com", State: api.StagingRegistered},
		{ID: "3", UserPrincipalName: "stale@example.com", State: api.StagingPending},
		{ID: "4", UserPrincipalName: "young@example.com", State: api.StagingPending},
	}
	write := func(s *staging.Stager, upn string) string {
		p, err := staging.WriteLetter(s.PendingDir(), staging.Text, staging.Letter{UPN: upn, PIN: "73914682"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(a, "reg@example.com")
	write(a, "both@example.com")
	write(other, "both@example.com")
	stale := write(a, "stale@example.com")
	old := time.Now().Add(-staging.StaleAfter - time.Minute)
	os.Chtimes(stale, old, old)
	young := write(other, "young@example.com")

	err := (&staging.Stager{Opts: opts}).Reconcile(api.StagingBatch{Rows: rows})
	if err == nil || !strings.Contains(err.Error(), "both@example.com has 2 pending PIN letters") {
		t.Fatalf("two pending letters for one registered person: %v", err)
	}
	if _, err := os.Stat(filepath.Join(opts.Letters, "reg_at_example.com.txt")); err != nil {
		t.Errorf("the registered person's letter was not settled: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale pending letter stayed: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a running station's pending letter went: %v", err)
	}
}

// TestStageKeyWantsLongerPIN: a key whose own minimum PIN length is above
// the batch's PIN is refused before anything is written: no letter, no
// PIN on the key, the row still pending.
func TestStageKeyWantsLongerPIN(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "long", 1)
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t)}
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, MinPINLength: 10})
	_, err := s.Stage(bg, b.Rows[0], fido.Key{Path: path}, "73914682", false, nothing)
	var pe *fido.PINPolicyError
	if !errors.As(err, &pe) || pe.MinLen != 10 || !strings.Contains(err.Error(), "--pin-length") {
		t.Fatalf("an 8-digit PIN for a key that wants 10: %v", err)
	}
	if info, _ := fido.GetInfo(path); info.PINSet {
		t.Fatal("the PIN was set anyway")
	}
	if left, _ := filepath.Glob(filepath.Join(s.PendingDir(), "*")); len(left) != 0 {
		t.Fatalf("a letter was written: %v", left)
	}
	if got, _ := d.op.GetStagingBatch(bg, b.ID); got.Rows[0].State != api.StagingPending {
		t.Fatalf("row %s", got.Rows[0].State)
	}
}

// TestFindBySerialAfterRemoval: once a staged key's registration is
// removed, its serial names whose key it was without holding it; staged
// again, the new registration holds it.
func TestFindBySerialAfterRemoval(t *testing.T) {
	d := newTapd(t)
	b := d.batch(t, "west", 1)
	s := &staging.Stager{Client: d.op, Batch: b, Opts: options(t), Log: slog.New(slog.DiscardHandler), Serial: func(string) string { return "SN-WEST" }}
	path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, Product: "Test key"})
	pin, _ := staging.RandomPIN(8, staging.Digits)
	res, err := s.Stage(bg, b.Rows[0], fido.Key{Path: path, Product: "Test key"}, pin, false, nothing)
	if err != nil {
		t.Fatal(err)
	}
	upn := b.Rows[0].UserPrincipalName
	if err := d.op.DeleteUserMethod(bg, upn, res.Method.ID); err != nil {
		t.Fatal(err)
	}
	o, err := s.FindBySerial(bg, "SN-WEST")
	if err != nil || o == nil || o.Holds() || o.Row.State != api.StagingRemoved || o.Row.UserPrincipalName != upn || o.Batch != "west" {
		t.Fatalf("after removal: %+v %v", o, err)
	}
	// Staged again (the same serial) in a new batch: that row holds it.
	again, err := d.op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "west-again", Users: []api.StagingPerson{{UserPrincipalName: upn}}})
	if err != nil {
		t.Fatal(err)
	}
	path2, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, Product: "Test key"})
	s.Batch = again
	if _, err := s.Stage(bg, again.Rows[0], fido.Key{Path: path2, Product: "Test key"}, pin, false, nothing); err != nil {
		t.Fatal(err)
	}
	if o, err := s.FindBySerial(bg, "SN-WEST"); err != nil || !o.Holds() || o.Batch != "west-again" {
		t.Fatalf("staged again: %+v %v", o, err)
	}
}

// TestStageLetterInPersonLanguage: a person whose row names Swedish gets
// a Swedish letter in an English batch; the others get the batch's.
func TestStageLetterInPersonLanguage(t *testing.T) {
	d := newTapd(t)
	for _, u := range []string{"sven@example.com", "ann@example.com"} {
		if _, err := d.op.CreateUser(bg, api.User{UserPrincipalName: u, DisplayName: u}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := d.op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "mixed", Users: []api.StagingPerson{
		{UserPrincipalName: "sven@example.com", PreferredLanguage: "sv-SE"}, {UserPrincipalName: "ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.LetterLang = "en"
	s := &staging.Stager{Client: d.op, Batch: b, Opts: opts, Log: slog.New(slog.DiscardHandler)}
	for i, want := range []string{"Din PIN-kod", "Your PIN"} {
		path, _ := hidroute.PlugNew(t, virtualkey.Options{TouchDelay: time.Millisecond, Product: "Test key"})
		pin, _ := staging.RandomPIN(8, staging.Digits)
		res, err := s.Stage(bg, b.Rows[i], fido.Key{Path: path, Product: "Test key"}, pin, false, nothing)
		if err != nil {
			t.Fatal(err)
		}
		if letter, _ := os.ReadFile(res.Letter); !strings.Contains(string(letter), want) {
			t.Errorf("%s's letter lacks %q:\n%s", b.Rows[i].UserPrincipalName, want, letter)
		}
	}
}
