package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

// TestPollIsOneRoundTrip holds a kiosk's poll (GET /v1/session) to one
// statement sent to the store: kiosk, session, person and "has other
// methods" come back together. It was seven.
func TestPollIsOneRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		k, _ := e.signedIn("polly@example.com")
		poll := func() (api.Session, int64) {
			t.Helper()
			before := e.st.Statements()
			s, err := k.GetSession(bg)
			if err != nil {
				t.Fatal(err)
			}
			return s, e.st.Statements() - before
		}
		s, n := poll()
		if n != 1 || s.UserPrincipalName != "polly@example.com" || s.HasOtherMethods {
			t.Fatalf("poll: %d statements, %+v", n, s)
		}
		// A key registered meanwhile shows at the next poll, still in one.
		if err := e.st.CreateMethod(bg, store.Method{ID: "m-polly", UPN: "polly@example.com", Kind: "fido2", DisplayName: "Key", CreatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		if s, n = poll(); n != 1 || !s.HasOtherMethods {
			t.Fatalf("poll after a key: %d statements, %+v", n, s)
		}
	})
}

// TestEndedSessionStopsOnEveryInstance runs two tapd instances on one
// store. Nothing about kiosks or sessions is cached between requests, so
// the bound is zero: a session signed out through one instance, and a
// kiosk revoked through one, are refused by the other at the very next
// request.
func TestEndedSessionStopsOnEveryInstance(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			sa, sb := storetest.OpenTwice(t, pg, b)
			clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
			a, other := newEnvOn(t, sa, clk), newEnvOn(t, sb, clk)
			on := func(c *api.Client) *api.Client { // the same kiosk and session, through the other instance
				return &api.Client{BaseURL: other.http.URL, Token: c.Token, SessionToken: c.SessionToken, HTTP: c.HTTP}
			}
			ka, _ := a.signedIn("ines@example.com")
			kb := on(ka)
			if _, err := kb.GetSession(bg); err != nil {
				t.Fatalf("the other instance does not see the session: %v", err)
			}
			if err := ka.SignOut(bg); err != nil {
				t.Fatal(err)
			}
			_, err := kb.GetSession(bg)
			code(t, err, 401, api.CodeInvalidSession)

			a.addUser(api.User{UserPrincipalName: "ivo@example.com"})
			p := a.newPass("ivo@example.com", api.CreatePassRequest{})
			k2 := a.fresh(a.kiosk)
			if _, err := k2.OpenSession(bg, "ivo@example.com", *p.TemporaryAccessPass); err != nil {
				t.Fatal(err)
			}
			kb = on(k2)
			if _, err := kb.GetSession(bg); err != nil {
				t.Fatal(err)
			}
			ks, err := a.admin.ListKiosks(bg)
			if err != nil {
				t.Fatal(err)
			}
			for _, kk := range ks {
				if err := a.admin.RevokeKiosk(bg, kk.Name); err != nil {
					t.Fatal(err)
				}
			}
			_, err = kb.GetSession(bg)
			code(t, err, 401, api.CodeTokenRevoked)
		})
	}
}

// TestClientGoneIsNotAnError: a request whose client went away (its
// context cancelled) is logged as that, below ERROR, not as tapd's
// internalError.
func TestClientGoneIsNotAnError(t *testing.T) {
	e := newEnv(t, "sqlite")
	k, _ := e.signedIn("gone@example.com")
	ctx, cancel := context.WithCancel(bg)
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+k.Token)
	req.Header.Set(api.SessionHeader, k.SessionToken)
	seen := len(e.logs.String())
	e.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	logs := e.logs.String()[seen:]
	if strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(logs, string(api.CodeInternal)) || !strings.Contains(logs, `"status":499`) {
		t.Fatalf("a request its client gave up on was logged as:\n%s", logs)
	}
}

// holdingObserver holds the first pass check to take a hash slot inside
// the observer's call (the slot taken, nothing else done) until released.
type holdingObserver struct {
	once     sync.Once
	held     chan struct{}
	released chan struct{}
}

func (o *holdingObserver) Audited(store.AuditEntry)     {}
func (o *holdingObserver) Locked(string, time.Duration) {}
func (o *holdingObserver) HashSlots(inUse, capacity int, refused bool) {
	if refused || inUse != capacity {
		return
	}
	o.once.Do(func() {
		close(o.held)
		<-o.released
	})
}

// TestBusyAnswersBeforeQueueing: with every hash slot taken, a sign-in is
// refused with 503 after authenticating its kiosk and nothing else: no
// lock reads queue in front of the answer.
func TestBusyAnswersBeforeQueueing(t *testing.T) {
	e := newEnv(t, "sqlite")
	obs := &holdingObserver{held: make(chan struct{}), released: make(chan struct{})}
	e.reconfigure(func(c *recovery.Config) {
		c.HashQueue = 1 // one check at a time
		c.Observer = obs
	})
	e.enablePolicy()
	e.addUser(api.User{UserPrincipalName: "bea@example.com"})
	p := e.newPass("bea@example.com", api.CreatePassRequest{})
	first := make(chan error, 1)
	go func() {
		_, err := e.fresh(e.kiosk).OpenSession(bg, "bea@example.com", *p.TemporaryAccessPass)
		first <- err
	}()
	<-obs.held
	before := e.st.Statements()
	_, err := e.fresh(e.kiosk2).OpenSession(bg, "bea@example.com", "WrongGuess")
	n := e.st.Statements() - before
	close(obs.released)
	code(t, err, 503, api.CodeUnavailable)
	if n != 1 {
		t.Fatalf("a sign-in refused for want of a slot sent %d statements; only its kiosk's authentication should run", n)
	}
	if err := <-first; err != nil {
		t.Fatalf("the sign-in holding the slot: %v", err)
	}
}

// TestSuccessfulPollLogsAtDebug: at INFO (tapd's default level) a kiosk's
// successful poll writes no request line (2,000 a second for a fleet of
// 10,000), while a refused poll and the session's other requests still do.
func TestSuccessfulPollLogsAtDebug(t *testing.T) {
	e := newEnv(t, "sqlite")
	k, _ := e.signedIn("quiet@example.com")
	lines := func(f func()) string {
		seen := len(e.logs.String())
		f()
		return e.logs.String()[seen:]
	}
	if logs := lines(func() {
		if _, err := k.GetSession(bg); err != nil {
			t.Fatal(err)
		}
	}); strings.Contains(logs, `"msg":"request"`) {
		t.Fatalf("a successful poll was logged at INFO:\n%s", logs)
	}
	bad := e.fresh(k)
	bad.SessionToken = "not-a-session"
	if logs := lines(func() {
		_, err := bad.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
	}); !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"status":401`) {
		t.Fatalf("a refused poll was not logged at INFO:\n%s", logs)
	}
	if logs := lines(func() {
		if err := k.SignOut(bg); err != nil {
			t.Fatal(err)
		}
	}); !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"method":"DELETE"`) {
		t.Fatalf("the session's sign-out was not logged at INFO:\n%s", logs)
	}
}
