package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Lockout sets the failure limits: per account at one kiosk, per account
// across every kiosk, per kiosk and per client address. Each key gets a
// round of Threshold guesses; every guess is reserved before its hash is
// checked, so concurrent guesses can never overrun the round. When the
// round's guesses are all wrong the key is locked for Base. After a lock
// each round is one guess, and each lock is twice the one before, up to
// Max. A key whose last guess is older than its Window starts afresh. A
// right pass clears the account's keys at that kiosk and across kiosks; a
// new pass from IT, or an admin's unlock, clears all of the account's.
//
// As with Entra's smart lockout, which counts familiar and unfamiliar
// locations apart, guesses at one kiosk lock the account only at that
// kiosk (UserThreshold); the account is locked everywhere only after
// AccountThreshold wrong guesses from all kiosks together (NIST SP
// 800-63B-4 allows at most 100 consecutive failures), so a stranger at one
// kiosk cannot keep the person out at the others.
type Lockout struct {
	UserThreshold    int // per account at one kiosk
	AccountThreshold int // per account across kiosks; 0: no account-wide limit
	KioskThreshold   int
	AddressThreshold int // 0: no per-address limit
	Base             time.Duration
	Max              time.Duration
	UserWindow       time.Duration // for both account keys
	KioskWindow      time.Duration
	AddressWindow    time.Duration
}

// DefaultLockout: 10 wrong passes for an account at one kiosk lock its
// pass sign-in there for a minute, then one guess per lock, each lock
// doubling up to a day; 100 wrong passes from all kiosks together lock it
// everywhere the same way. A kiosk that sees 50 wrong passes within an
// hour is throttled the same way, which slows a person trying many
// accounts from one kiosk; a client address gets 100 (more, as several
// kiosks may share one).
var DefaultLockout = Lockout{UserThreshold: 10, AccountThreshold: 100, KioskThreshold: 50, AddressThreshold: 100, Base: time.Minute,
	Max: 24 * time.Hour, UserWindow: 24 * time.Hour, KioskWindow: time.Hour, AddressWindow: time.Hour}

// inFlightWait is what a guess hears while its round's guesses are all
// being checked: one of them may still be right.
const inFlightWait = time.Second

// holdFor is how long one reservation may wait for its verdict before it
// is taken as abandoned (tapd stopped mid-check), so that a crash cannot
// hold a round shut. Each reservation expires on its own, whatever else
// the key sees. It is well past settleWithin, so a check that is still
// being settled never loses its hold.
const holdFor = time.Minute

// settleWithin bounds the bookkeeping of a check that started (its
// verdict, counters, audit entry and notice), which runs to the end even
// when the client hangs up.
const settleWithin = 20 * time.Second

// settling is the context for a started check's bookkeeping: detached
// from the request, so a client that hangs up cannot leave a reservation
// held or a wrong guess unrecorded, with its own deadline.
func settling(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), settleWithin)
}

func userKey(target string) string { return "user:" + tap.UPNKey(target) }
func kioskKey(id string) string    { return "kiosk:" + id }
func addrKey(a string) string      { return "addr:" + a }

// pairKey is the account's key at one kiosk.
func pairKey(target, kioskID string) string { return userKey(target) + "|kiosk:" + kioskID }

// guard is one lockout key a sign-in must pass.
type guard struct {
	key, kind, who string
	threshold      int
	window         time.Duration
}

// guards are the keys a sign-in must pass: the kiosk's, the address's,
// the account's across kiosks, and the account's at this kiosk last (the
// one a person hears of first). target is the sign-in's audit target: the
// UPN of a known user, else the name's pseudonym, so a name nobody has
// yet keeps no counter that the user who later gets it would inherit,
// and the typed name is not kept.
func (s *Service) guards(c *Caller, target string) []guard {
	lo := s.cfg.Lockout
	gs := []guard{{kioskKey(c.Kiosk.ID), "kiosk", "at this kiosk", lo.KioskThreshold, lo.KioskWindow}}
	if c.ClientAddr != "" && lo.AddressThreshold > 0 {
		gs = append(gs, guard{addrKey(c.ClientAddr), "address", "from this address", lo.AddressThreshold, lo.AddressWindow})
	}
	if lo.AccountThreshold > 0 {
		gs = append(gs, guard{userKey(target), "account", "for this account", lo.AccountThreshold, lo.UserWindow})
	}
	return append(gs, guard{pairKey(target, c.Kiosk.ID), "user", "for this account at this kiosk", lo.UserThreshold, lo.UserWindow})
}

// otherKeys are the guards that are not the account's: the kiosk's and
// the address's.
func otherKeys(gs []guard) []guard {
	var out []guard
	for _, g := range gs {
		if g.kind != "user" && g.kind != "account" {
			out = append(out, g)
		}
	}
	return out
}

// allowance is how many guesses a round has: the threshold at first, one
// after each lock.
func allowance(level, threshold int) int {
	if level > 0 {
		return 1
	}
	return threshold
}

// lockLength is the level-th lock: Base, doubling, at most Max.
func (s *Service) lockLength(level int) time.Duration {
	lo := s.cfg.Lockout
	if level-1 >= 30 {
		return lo.Max
	}
	return min(lo.Base<<(level-1), lo.Max)
}

// holds are a key's reservations in flight: id → expiry (ms).
type holds map[string]int64

func parseHolds(s string) holds {
	h := holds{}
	for _, f := range strings.Fields(s) {
		id, exp, ok := strings.Cut(f, ":")
		if n, err := strconv.ParseInt(exp, 10, 64); ok && err == nil {
			h[id] = n
		}
	}
	return h
}

func (h holds) String() string {
	var b strings.Builder
	for id, exp := range h {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", id, exp)
	}
	return b.String()
}

// expire gives back every reservation of t that ran out by now, each on
// its own clock. Reservations counted before holds were kept (Checked
// above Failures with no hold) run out holdFor after the last one.
func expire(t *store.Throttle, now time.Time) holds {
	h := parseHolds(t.Holds)
	for id, exp := range h {
		if now.UnixMilli() >= exp {
			delete(h, id)
			if t.Checked > t.Failures {
				t.Checked--
			}
		}
	}
	if orphans := t.Checked - t.Failures - len(h); orphans > 0 && now.Sub(t.ReservedAt) > holdFor {
		t.Checked -= orphans
	}
	t.Holds = h.String()
	return h
}

// unhold removes reservation id from t, and says whether it was still
// held (it may have run out).
func unhold(t *store.Throttle, id string, now time.Time) bool {
	h := expire(t, now)
	_, ok := h[id]
	delete(h, id)
	t.Holds = h.String()
	return ok
}

// reserve takes one guess of the key's round, atomically, as reservation
// id. A locked key, or one whose round is all in flight, gives the wait
// instead.
func (s *Service) reserve(ctx context.Context, g guard, id string, now time.Time) (time.Duration, store.Throttle, error) {
	var wait time.Duration
	th, err := s.st.UpdateThrottle(ctx, g.key, func(t *store.Throttle) {
		wait = 0
		if now.Before(t.LockedUntil) {
			wait = t.LockedUntil.Sub(now)
			return
		}
		if last := max(t.LastFailure.UnixMilli(), t.ReservedAt.UnixMilli()); now.UnixMilli()-last > g.window.Milliseconds() {
			*t = store.Throttle{} // quiet for a whole window: forgotten
		}
		h := expire(t, now)
		if t.Checked >= allowance(t.Level, g.threshold) {
			wait = inFlightWait
			return
		}
		t.Checked++
		t.ReservedAt = now
		h[id] = now.Add(holdFor).UnixMilli()
		t.Holds = h.String()
	})
	return wait, th, err
}

// fail records reservation id as a wrong guess, with st, and locks the
// key when it ends the round. It returns the new lock's length, or 0.
func (s *Service) fail(ctx context.Context, st store.Throttles, g guard, id, cause string, now time.Time) (time.Duration, error) {
	var lock time.Duration
	_, err := st.UpdateThrottle(ctx, g.key, func(t *store.Throttle) {
		lock = 0
		if !unhold(t, id, s.now()) {
			t.Checked++ // ran out before its verdict, yet it was checked
		}
		t.Failures++
		t.LastFailure = now
		if t.Failures >= allowance(t.Level, g.threshold) && !now.Before(t.LockedUntil) {
			t.Level++
			lock = s.lockLength(t.Level)
			t.LockedUntil, t.Checked, t.Failures, t.LockCause = now.Add(lock), 0, 0, cause
		}
	})
	return lock, err
}

// release gives back reservation id on each guard, with st: its guess
// was not wrong (the hash never ran, or the pass was right).
func (s *Service) release(ctx context.Context, st store.Throttles, gs []guard, id string) error {
	for _, g := range gs {
		if _, err := st.UpdateThrottle(ctx, g.key, func(t *store.Throttle) {
			if unhold(t, id, s.now()) && t.Checked > t.Failures {
				t.Checked--
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// releaseLogged is release whose error only reaches the log: a
// reservation not given back runs out (holdFor).
func (s *Service) releaseLogged(ctx context.Context, c *Caller, gs []guard, id string) {
	if err := s.release(ctx, s.st, gs, id); err != nil {
		c.Log.Warn("release a sign-in reservation", "err", err)
	}
}

// wrongPass records the wrong guess against every guard, with st, and
// answers 401, or 429 when it started a lock (the account's first, as the
// person cares most about that one). The locks it started are in details,
// for the audit entry and the notification, and in started.
func (s *Service) wrongPass(ctx context.Context, st store.Throttles, c *Caller, gs []guard, id string, now time.Time) (details map[string]string, started []lockStart, answer, err error) {
	answer = api.ErrInvalidCredentials
	var locked []string
	for i := len(gs) - 1; i >= 0; i-- {
		d, err := s.fail(ctx, st, gs[i], id, lockCause(c), now)
		if err != nil {
			return nil, nil, nil, err
		}
		if d > 0 {
			started = append(started, lockStart{gs[i].kind, d})
			locked = append(locked, gs[i].kind)
			if answer == api.ErrInvalidCredentials {
				answer = tooMany(d, gs[i].who)
				details = map[string]string{"lockedUntil": now.Add(d).UTC().Format(time.RFC3339)}
			}
		}
	}
	if len(locked) > 0 {
		details[lockStarted] = strings.Join(locked, ",")
	}
	return details, started, answer, nil
}

// lockStart is a lock a wrong guess started, for the observer once the
// guess's transaction has committed.
type lockStart struct {
	kind string
	d    time.Duration
}

// lockCause records who started a lock (JSON of api.LockCause, without
// the scope), for the admin who lifts it.
func lockCause(c *Caller) string {
	b, _ := json.Marshal(api.LockCause{Kiosk: c.Kiosk.Name, KioskID: c.Kiosk.ID, ClientAddress: c.ClientAddr})
	return string(b)
}

// lockedOut audits and words a refusal by guard g: locked, or (no lock
// yet) every guess of its round already being checked.
func (s *Service) lockedOut(ctx context.Context, c *Caller, target string, g guard, th store.Throttle, wait time.Duration) error {
	group := fmt.Sprintf("lockedOut|%s|%d|%d", g.key, th.Level, th.LockedUntil.UnixMilli())
	reason, err := "lockedOut", error(tooMany(wait, g.who))
	if !s.now().Before(th.LockedUntil) {
		reason = "checksInFlight"
		err = api.E(api.CodeTooManyAttempts, "Other sign-ins %s are being checked right now. Try again in a moment.", g.who).RetryAfter(1)
	}
	return s.refuseCounted(ctx, c, api.ActionSessionDenied, target, reason, group+"|"+reason, err, map[string]string{"lock": g.kind})
}

// clearLock forgets the account's sign-in guesses and locks, at every
// kiosk and across them, with st, and returns what they were, for the
// audit and the admin: an admin's unlock and a new pass from IT both end
// a lock.
func clearLock(ctx context.Context, st store.Store, upn string) ([]store.Throttle, error) {
	ths, err := accountThrottles(ctx, st, upn)
	if err != nil {
		return nil, err
	}
	for _, th := range ths {
		if err := st.ClearThrottle(ctx, th.Key); err != nil {
			return nil, err
		}
	}
	return ths, nil
}

// accountThrottles are the account's keys, with st: across kiosks and at
// each kiosk.
func accountThrottles(ctx context.Context, st store.Store, upn string) ([]store.Throttle, error) {
	ths, err := st.ListThrottles(ctx, userKey(upn))
	if err != nil {
		return nil, err
	}
	var out []store.Throttle
	for _, th := range ths {
		if th.Key == userKey(upn) || strings.HasPrefix(th.Key, userKey(upn)+"|") {
			out = append(out, th) // not another UPN that starts with this one
		}
	}
	return out, nil
}

// lockState sums cleared throttles: the latest lock still running at now
// (zero if none), the wrong passes counted, and who caused the running
// locks.
func lockState(ths []store.Throttle, now time.Time) (until time.Time, failures int, causes []api.LockCause) {
	for _, th := range ths {
		failures += th.Failures
		if !now.Before(th.LockedUntil) {
			continue
		}
		if th.LockedUntil.After(until) {
			until = th.LockedUntil
		}
		var lc api.LockCause
		if json.Unmarshal([]byte(th.LockCause), &lc) == nil && lc.Kiosk != "" {
			lc.Scope = "kiosk"
			if !strings.Contains(th.Key, "|kiosk:") {
				lc.Scope = "account"
			}
			causes = append(causes, lc)
		}
	}
	return until, failures, causes
}

// lockStarted is the audit detail naming the locks a wrong guess started
// (user, kiosk, address; comma-separated).
const lockStarted = "lockStarted"

func tooMany(d time.Duration, who string) *api.Error {
	return api.E(api.CodeTooManyAttempts, "Too many wrong attempts %s. Try again in %s.", who, humanDuration(d)).
		RetryAfter(max(1, int(math.Ceil(d.Seconds()))))
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < 2*time.Minute:
		return "a minute"
	case d < time.Hour:
		return time.Duration(math.Ceil(d.Minutes()) * float64(time.Minute)).String()
	}
	return d.Round(time.Minute).String()
}
