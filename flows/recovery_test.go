package flows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

var key = fido.Key{Path: "virtual:a", Product: "Key 5"}

func signedIn(t *testing.T) *Journey {
	t.Helper()
	j := New(nil)
	j.Start()
	if err := j.SubmitUPN(" ada@example.com "); err != nil {
		t.Fatal(err)
	}
	j.SignInResult(api.Session{UserPrincipalName: "ada@example.com", DisplayName: "Ada", ExpiresDateTime: time.Now().Add(10 * time.Minute)}, nil)
	if j.Step != StepInsertKey || !j.SignedIn() {
		t.Fatalf("step %s", j.Step)
	}
	return j
}

func atName(t *testing.T) *Journey {
	t.Helper()
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil)
	if !j.EnterPIN("2468") {
		t.Fatal("EnterPIN asked no check")
	}
	j.PINChecked(nil)
	if j.Step != StepNameKey {
		t.Fatalf("step %s", j.Step)
	}
	return j
}

func TestHappyPath(t *testing.T) {
	j := atName(t)
	if !strings.HasPrefix(j.KeyName, "Key 5 ") {
		t.Fatalf("default name %q", j.KeyName)
	}
	if err := j.NameKey("  Blue key "); err != nil || j.Step != StepTouch || j.KeyName != "Blue key" || j.PINForTouch() != "2468" {
		t.Fatalf("%v %s %q", err, j.Step, j.KeyName)
	}
	j.Registered(api.FIDO2Method{ID: "new"}, nil)
	if j.Step != StepCheckKey {
		t.Fatal(j.Step)
	}
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	j.KeyChecked(nil)
	if j.Step != StepInsertKey || !j.OnBackup() || len(j.Keys) != 1 || !j.Keys[0].Checked || j.PINForTouch() != "" {
		t.Fatalf("after check: %s, backup %v, PIN wiped %v", j.Step, j.OnBackup(), j.PINForTouch() == "")
	}
	j.SkipBackup()
	if j.Step != StepCleanup {
		t.Fatal(j.Step)
	}
	j.MethodsLoaded([]api.AuthenticationMethod{
		{ID: "new", Type: api.TypeFIDO2}, {ID: "old", Type: api.TypeFIDO2}, {ID: "phone", Type: api.MethodType("phone")},
		{ID: "tap", Type: api.TypeTAP, StartDateTime: &start, LifetimeInMinutes: 60}, {ID: "also-new", Type: api.TypeFIDO2, RegisteredThisSession: true},
	}, nil)
	if !j.PassEnds.Equal(start.Add(time.Hour)) {
		t.Fatalf("pass end %v", j.PassEnds)
	}
	if len(j.Methods) != 2 || j.Methods[0].ID != "old" {
		t.Fatalf("clean-up offers %+v", j.Methods)
	}
	j.MethodRemoved("old", nil)
	if len(j.Methods) != 1 || len(j.Removed) != 1 || j.Removed[0].ID != "old" {
		t.Fatalf("%+v %+v", j.Methods, j.Removed)
	}
	j.CleanupDone()
	j.PassResult(false, nil)
	if j.Step != StepDone || !j.PassDeleted || j.PassKept {
		t.Fatalf("%s %v", j.Step, j.PassDeleted)
	}
	j.Reset()
	if j.Step != StepWelcome || j.SignedIn() || j.UPN != "" || j.PINForTouch() != "" {
		t.Fatal("reset left state behind")
	}
}

func TestUPNAndPass(t *testing.T) {
	j := New(nil)
	if err := j.SubmitUPN("ada@example.com"); err == nil {
		t.Fatal("UPN accepted at Welcome")
	}
	j.Start()
	for _, bad := range []string{"", "ada", "ada lovelace@example.com", "ada@\x1b[2J.com"} {
		var eu *ErrUPN
		if err := j.SubmitUPN(bad); !errors.As(err, &eu) || j.Step != StepUPN {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if CheckUPN("ada@example.com") != nil || CheckUPN("ada@") == nil {
		t.Fatal("CheckUPN")
	}
	j.SubmitUPN("ada@example.com")
	wrong := &api.Error{Status: 401, Code: api.CodeInvalidCredentials}
	j.SignInResult(api.Session{}, wrong)
	if j.Step != StepPass || j.Problem != wrong || j.SignedIn() {
		t.Fatal("a wrong pass must stay on the pass step with tapd's answer")
	}
	if !j.Back() || j.Step != StepUPN || !j.Back() || j.Step != StepWelcome || j.Back() {
		t.Fatal("back from pass and UPN")
	}
}

func TestInsertKey(t *testing.T) {
	j := signedIn(t)
	if j.KeysSeen(nil) || !errors.Is(j.Problem, fido.ErrNoKey) {
		t.Fatal("no key")
	}
	if j.KeysSeen([]fido.Key{key, {Path: "virtual:b"}}) || !errors.Is(j.Problem, fido.ErrSeveralKeys) {
		t.Fatal("two keys")
	}
	if !j.KeysSeen([]fido.Key{key}) || j.Problem != nil {
		t.Fatal("one key")
	}
	if j.KeysSeen([]fido.Key{key}) {
		t.Fatal("the same key was picked twice")
	}
	cases := []struct {
		name string
		info fido.Info
		pin  fido.PINState
		err  error
		step Step
		prob func(error) bool
	}{
		{"u2f", fido.Info{}, fido.PINState{}, &fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly}, StepInsertKey, func(e error) bool { var u *fido.UnsupportedKeyError; return errors.As(e, &u) }},
		{"no rk", fido.Info{}, fido.PINState{}, nil, StepInsertKey, func(e error) bool { var u *fido.UnsupportedKeyError; return errors.As(e, &u) }},
		// Full and unable to show its passkeys: it goes on, as this
		// account's passkey, if it holds one, is overwritten in place.
		{"full", fido.Info{ResidentKeys: true, RemainingResidentKeys: 0}, fido.PINState{}, nil, StepNewPIN, func(e error) bool { return e == nil }},
		{"new PIN", fido.Info{ResidentKeys: true, RemainingResidentKeys: 5}, fido.PINState{Retries: -1}, nil, StepNewPIN, func(e error) bool { return e == nil }},
		{"has PIN", fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil, StepEnterPIN, func(e error) bool { return e == nil }},
		{"blocked", fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Set: true, Blocked: true}, nil, StepPINBlocked, func(e error) bool { return e == nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := signedIn(t)
			j.KeysSeen([]fido.Key{key})
			j.KeyFacts(c.info, c.pin, c.err)
			if j.Step != c.step || !c.prob(j.Problem) {
				t.Fatalf("step %s problem %v", j.Step, j.Problem)
			}
		})
	}
}

func TestNewPIN(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 6, RemainingResidentKeys: -1}, fido.PINState{Retries: -1}, nil)
	var pe *fido.PINPolicyError
	if err := j.CheckNewPIN("1234", "1234"); !errors.As(err, &pe) || pe.MinLen != 6 {
		t.Fatalf("key's minimum: %v", err)
	}
	if err := j.CheckNewPIN("135790", "135791"); !errors.Is(err, ErrPINsDiffer) {
		t.Fatal(err)
	}
	if err := j.CheckNewPIN("135790", "135790"); err != nil {
		t.Fatal(err)
	}
	for pin, weak := range map[string]bool{"123456": true, "111111": true, "654321": true, "135790": false, "password": true, "k7#mQ2": false} {
		if WeakPIN(pin) != weak {
			t.Errorf("WeakPIN(%q) = %v", pin, !weak)
		}
	}
	j.PINSet("135790", errors.New("key said no"))
	if j.Step != StepNewPIN || j.Problem == nil {
		t.Fatal("a failed set must stay")
	}
	j.PINSet("135790", nil)
	if j.Step != StepNameKey || j.PINForTouch() != "135790" || !j.PIN.Set {
		t.Fatal("after set")
	}
}

func TestTouchOutcomes(t *testing.T) {
	cases := []struct {
		err  error
		step Step
	}{
		{&fido.PINWrongError{RetriesLeft: 2}, StepEnterPIN},
		{fido.ErrPINBlocked, StepPINBlocked},
		{fido.ErrKeyRemoved, StepInsertKey},
		{fido.ErrCancelled, StepNameKey},
		{fido.ErrTouchTimeout, StepTouch},
		{&api.Error{Status: 409, Code: api.CodeAlreadyRegistered}, StepTouch},
	}
	for _, c := range cases {
		j := atName(t)
		j.NameKey("k")
		j.Registered(api.FIDO2Method{}, c.err)
		if j.Step != c.step {
			t.Errorf("%v: step %s, want %s", c.err, j.Step, c.step)
		}
		if c.step == StepEnterPIN && j.PIN.Retries != 2 {
			t.Error("retries not kept")
		}
		if (c.step == StepEnterPIN || c.step == StepInsertKey || c.step == StepPINBlocked) && j.PINForTouch() != "" {
			t.Errorf("%v: the PIN was kept after a failure that needs it again", c.err)
		}
		if c.step == StepInsertKey && j.Key.Path != "" {
			t.Error("a pulled key stayed selected")
		}
		if c.step == StepInsertKey {
			j.KeysSeen(nil)
			if !errors.Is(j.Problem, fido.ErrKeyRemoved) {
				t.Error("\"the key was removed\" was replaced by \"no key\"")
			}
		}
	}
}

func TestNameCheckAndPass(t *testing.T) {
	j := atName(t)
	for _, bad := range []string{"", "   ", "evil\x1b]0;x\x07", strings.Repeat("n", 65)} {
		if err := j.NameKey(bad); !errors.Is(err, ErrKeyName) || j.Step != StepNameKey {
			t.Errorf("%q accepted", bad)
		}
	}
	if !j.Back() || j.Step != StepInsertKey || j.Key.Path != "" || j.PINForTouch() != "" {
		t.Fatal("back from naming re-picks the key")
	}
	j = atName(t)
	j.NameKey("k")
	j.Registered(api.FIDO2Method{}, fido.ErrTouchTimeout)
	if !j.Back() || j.Step != StepNameKey || j.PINForTouch() == "" {
		t.Fatal("back from a failed touch goes to naming, keeping the PIN")
	}
	j.NameKey("k")
	j.Registered(api.FIDO2Method{ID: "m"}, nil)
	if j.Back() {
		t.Fatal("no way back after registering")
	}
	j.KeyChecked(errors.New("touch timed out"))
	if j.Step != StepCheckKey || j.Problem == nil {
		t.Fatal("a failed check stays to retry or skip")
	}
	j.SkipCheck()
	if j.Step != StepInsertKey || len(j.Keys) != 1 || j.Keys[0].Checked || j.Keys[0].Method.ID != "m" {
		t.Fatal("skip")
	}
	j.SkipBackup()
	j.MethodsLoaded(nil, errors.New("tapd down"))
	if j.Problem == nil {
		t.Fatal("load failure")
	}
	j.Problem = nil
	j.Methods = []api.AuthenticationMethod{{ID: "x"}}
	j.Mark("x")
	j.CleanupDone()
	if j.Step != StepCleanup {
		t.Fatal("clean-up left with a method still marked")
	}
	j.MethodRemoved("x", errors.New("refused"))
	if len(j.Failed) != 1 || j.Failed[0].Method.ID != "x" || len(j.Methods) != 1 || j.IsMarked("x") {
		t.Fatalf("a refused removal is kept with its method: %+v", j.Failed)
	}
	j.CleanupDone()
	j.PassResult(false, errors.New("tapd down"))
	if j.Step != StepDeletePass {
		t.Fatal("a failed delete must stay")
	}
	j.PassResult(true, nil)
	if j.Step != StepDone || !j.PassKept || j.PassDeleted {
		t.Fatal("keep")
	}
}

func TestEventsAtTheWrongStepAreIgnored(t *testing.T) {
	j := New(nil)
	j.SignInResult(api.Session{UserPrincipalName: "x@y.z"}, nil)
	j.KeyFacts(fido.Info{ResidentKeys: true}, fido.PINState{}, nil)
	j.PINSet("1234", nil)
	j.EnterPIN("1234")
	j.Registered(api.FIDO2Method{ID: "m"}, nil)
	j.KeyChecked(nil)
	j.PassResult(false, nil)
	if j.Step != StepWelcome || j.SignedIn() || j.PINForTouch() != "" {
		t.Fatalf("stray events moved the journey: %s", j.Step)
	}
}

// TestKeyNameUsesTheJourneysClock: the suggested name carries the day of
// the clock the journey was given, not the machine's.
func TestKeyNameUsesTheJourneysClock(t *testing.T) {
	day := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	j := New(func() time.Time { return day })
	j.Key.Product = "YubiKey 5"
	j.toName()
	if j.KeyName != "YubiKey 5 2026-11-23" {
		t.Fatalf("%q", j.KeyName)
	}
	j.Reset()
	if j.now == nil || !j.now().Equal(day) {
		t.Fatal("Reset lost the clock")
	}
}

func TestIdleCountsEverywhereButWelcomeAndATouch(t *testing.T) {
	j := New(nil)
	if j.IdleCounts(false) {
		t.Fatal("idle on Welcome")
	}
	for _, step := range []Step{StepUPN, StepPass, StepInsertKey, StepNewPIN, StepEnterPIN, StepPINBlocked, StepNameKey, StepTouch,
		StepKnownKey, StepCheckKey, StepCleanup, StepDeletePass, StepDone, StepReplugKey, StepChangePIN, StepKeyFull} {
		j.Step = step
		if !j.IdleCounts(false) {
			t.Errorf("idle does not count at %s", step)
		}
		if j.IdleCounts(true) {
			t.Errorf("idle counts at %s while the key waits for a touch", step)
		}
	}
}

func TestUPNReasons(t *testing.T) {
	for in, want := range map[string]string{"": UPNEmpty, "   ": UPNEmpty, "ada": UPNForm, "ada@": UPNForm, "@x.com": UPNForm,
		"a@b@c.com": UPNForm, "ada lovelace@x.com": UPNSpace, "ada@\x1b[2J.com": UPNControl, "ada@example": UPNDomain,
		"ada@.com": UPNDomain, strings.Repeat("a", 120) + "@example.com": UPNLong} {
		var eu *ErrUPN
		if err := CheckUPN(in); !errors.As(err, &eu) || eu.Reason != want {
			t.Errorf("%q: %v, want reason %s", in, err, want)
		}
	}
}

func TestTriesBeforeLock(t *testing.T) {
	j := New(nil)
	j.Start()
	j.SubmitUPN("ada@example.com")
	if n, exact := j.TriesBeforeLock(); n != LockThreshold || exact {
		t.Fatalf("fresh: %d %v", n, exact)
	}
	wrong := &api.Error{Code: api.CodeInvalidCredentials}
	for i := 0; i < 7; i++ {
		j.SignInResult(api.Session{}, wrong)
	}
	if n, exact := j.TriesBeforeLock(); n != 3 || exact {
		t.Fatalf("after 7: %d %v (an upper bound: others may have tried)", n, exact)
	}
	j.SignInResult(api.Session{}, &api.Error{Code: api.CodeTooManyAttempts})
	if n, exact := j.TriesBeforeLock(); n != 1 || !exact {
		t.Fatalf("after a lock, one guess per round: %d %v", n, exact)
	}
	j.Back()
	j.SubmitUPN("grace@example.com")
	if n, _ := j.TriesBeforeLock(); n != LockThreshold {
		t.Fatal("another account took over the count")
	}
}

func TestEscAtAPINStepSetsTheKeyAside(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Retries: -1}, nil)
	if j.Step != StepNewPIN || !j.Back() || j.Step != StepInsertKey {
		t.Fatal(j.Step)
	}
	if j.KeysSeen([]fido.Key{key}) || !errors.Is(j.Problem, ErrSwapKey) {
		t.Fatal("the key set aside was picked again at once")
	}
	other := fido.Key{Path: "virtual:b"}
	if !j.KeysSeen([]fido.Key{other}) || j.Key.Path != other.Path {
		t.Fatal("another key was not picked")
	}
	j = signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil)
	j.Back()
	j.KeysSeen(nil) // taken out
	if !j.KeysSeen([]fido.Key{key}) {
		t.Fatal("the same key, plugged back in, was not picked")
	}
}

func knownKeyJourney(t *testing.T) *Journey {
	t.Helper()
	j := atName(t)
	j.Info.AAGUID = [16]byte{0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a}
	j.NameKey("k")
	j.Registered(api.FIDO2Method{}, fido.ErrAlreadyRegistered)
	if j.Step != StepKnownKey || j.Problem != nil {
		t.Fatalf("already registered: %s %v", j.Step, j.Problem)
	}
	return j
}

func TestKnownKeyKeptAsItIs(t *testing.T) {
	j := knownKeyJourney(t)
	j.ChooseKnownKey(false)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	once := true
	start := day(20)
	cs := j.KnownKeyCandidates([]api.AuthenticationMethod{
		{ID: "other-old", Type: api.TypeFIDO2, AAGUID: "00000000-0000-0000-0000-000000000000", CreatedDateTime: day(1)},
		{ID: "same-old", Type: api.TypeFIDO2, AAGUID: "ee882879-721c-4913-9775-3dfcce97072a", CreatedDateTime: day(2)},
		{ID: "same-new", Type: api.TypeFIDO2, AAGUID: "EE882879-721C-4913-9775-3DFCCE97072A", CreatedDateTime: day(3)},
		{ID: "phone", Type: api.MethodType("phone")},
		{ID: "tap", Type: api.TypeTAP, IsUsableOnce: &once, StartDateTime: &start, LifetimeInMinutes: 60},
	})
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "same-new,same-old,other-old" || !j.PassOnce || !j.PassEnds.Equal(start.Add(time.Hour)) {
		t.Fatalf("candidates %v, pass once %v ends %v", ids, j.PassOnce, j.PassEnds)
	}
	if next := j.KnownKeyChecked("same-new", fido.ErrNotRegisteredOnKey); next != "same-old" {
		t.Fatalf("next %q", next)
	}
	if next := j.KnownKeyChecked("same-old", nil); next != "" || j.Step != StepInsertKey || len(j.Keys) != 1 || !j.Keys[0].Kept ||
		!j.Keys[0].Checked || j.Keys[0].Method.ID != "same-old" {
		t.Fatalf("kept: %s %+v", j.Step, j.Keys)
	}
	j.SkipBackup()
	j.MethodsLoaded([]api.AuthenticationMethod{{ID: "same-old", Type: api.TypeFIDO2}, {ID: "other-old", Type: api.TypeFIDO2}}, nil)
	if len(j.Methods) != 1 || j.Methods[0].ID != "other-old" {
		t.Fatal("clean-up offers the key being kept")
	}
}

func TestKnownKeyRegisteredAgain(t *testing.T) {
	j := knownKeyJourney(t)
	j.ChooseKnownKey(true)
	j.KnownKeyCandidates([]api.AuthenticationMethod{{ID: "a", Type: api.TypeFIDO2}})
	if next := j.KnownKeyChecked("a", fido.ErrNotRegisteredOnKey); next != "" || !errors.Is(j.Problem, fido.ErrNotRegisteredOnKey) {
		t.Fatal("no candidate left must say so")
	}
	j.KnownKeyChecked("a", nil)
	old, ok := j.Replacing()
	if !ok || old.ID != "a" || j.Step != StepKnownKey {
		t.Fatal("the old registration is not waiting for removal")
	}
	j.ReplacedKnownKey(errors.New("tapd down"))
	if j.Step != StepKnownKey || j.Problem == nil {
		t.Fatal("a failed removal must stay")
	}
	j.ReplacedKnownKey(nil)
	if j.Step != StepNameKey || len(j.Removed) != 1 || j.PINForTouch() == "" {
		t.Fatalf("after removing the old registration: %s %+v", j.Step, j.Removed)
	}
}

// Issue 12 item 6: the PIN is judged by the key when it is typed; a
// refused PIN is dropped and never reaches the touch.
func TestPINCheckedWhenEntered(t *testing.T) {
	atPIN := func(t *testing.T) *Journey {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil)
		if !j.EnterPIN("2468") || j.Step != StepEnterPIN || j.PINToCheck() != "2468" {
			t.Fatalf("EnterPIN went on before the key judged the PIN: %s", j.Step)
		}
		return j
	}
	cases := []struct {
		err  error
		step Step
	}{
		{&fido.PINWrongError{RetriesLeft: 5}, StepEnterPIN},
		{fido.ErrPINBlocked, StepPINBlocked},
		{fido.ErrPINAuthBlocked, StepReplugKey},
		{fido.ErrPINChangeRequired, StepChangePIN},
		{fido.ErrKeyRemoved, StepInsertKey},
		{errors.New("odd"), StepEnterPIN},
	}
	for _, c := range cases {
		j := atPIN(t)
		j.PINChecked(c.err)
		if j.Step != c.step {
			t.Errorf("%v: step %s, want %s", c.err, j.Step, c.step)
		}
		if j.PINForTouch() != "" || j.PINToCheck() != "" {
			t.Errorf("%v: a refused PIN was kept", c.err)
		}
		if c.step == StepEnterPIN && c.err.Error() != "odd" && j.PIN.Retries != 5 {
			t.Errorf("tries left %d", j.PIN.Retries)
		}
		j.PINChecked(nil) // a late answer with nothing pending moves nothing
		if j.Step != c.step {
			t.Errorf("%v: a stray verdict moved to %s", c.err, j.Step)
		}
	}
	j := atPIN(t)
	j.PINChecked(nil)
	if j.Step != StepNameKey || j.PINForTouch() != "2468" {
		t.Fatalf("a right PIN: %s", j.Step)
	}
}

// After too many wrong PINs the key must leave and come back before a
// PIN is asked again.
func TestReplugAfterPINAuthBlocked(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 5}, nil)
	j.EnterPIN("1111")
	j.PINChecked(fido.ErrPINAuthBlocked)
	if j.Step != StepReplugKey || !errors.Is(j.Problem, fido.ErrPINAuthBlocked) {
		t.Fatal(j.Step)
	}
	if j.EnterPIN("2468") {
		t.Fatal("a PIN was taken before the replug")
	}
	j.KeysSeen([]fido.Key{key})
	if j.Step != StepReplugKey {
		t.Fatal("the key still in the port ended the wait")
	}
	j.KeysSeen(nil)
	if j.Step != StepInsertKey || j.Key.Path != "" {
		t.Fatalf("the key left: %s", j.Step)
	}
	if !j.KeysSeen([]fido.Key{key}) {
		t.Fatal("the key back was not picked")
	}
	j.KeyFacts(fido.Info{ResidentKeys: true, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 5}, nil)
	if j.Step != StepEnterPIN {
		t.Fatal(j.Step)
	}
	// The touch may meet it too.
	j.EnterPIN("2468")
	j.PINChecked(nil)
	j.NameKey("k")
	j.Registered(api.FIDO2Method{}, fido.ErrPINAuthBlocked)
	if j.Step != StepReplugKey || j.PINForTouch() != "" {
		t.Fatal(j.Step)
	}
}

// Issue 12 item 8: a key that wants its PIN changed is led through the
// change first.
func TestForcePINChange(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 6, RemainingResidentKeys: -1, ForcePINChange: true}, fido.PINState{Set: true, Retries: 8}, nil)
	if j.Step != StepChangePIN {
		t.Fatal(j.Step)
	}
	if err := j.CheckChangePIN("", "135790", "135790"); !errors.Is(err, fido.ErrPINRequired) {
		t.Fatal(err)
	}
	var pe *fido.PINPolicyError
	if err := j.CheckChangePIN("1234", "1357", "1357"); !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if err := j.CheckChangePIN("135790", "135790", "135790"); !errors.Is(err, ErrPINSame) {
		t.Fatal(err)
	}
	if err := j.CheckChangePIN("1234", "135790", "135791"); !errors.Is(err, ErrPINsDiffer) {
		t.Fatal(err)
	}
	j.PINChanged("135790", &fido.PINWrongError{RetriesLeft: 6})
	if j.Step != StepChangePIN || j.PIN.Retries != 6 || j.PINForTouch() != "" {
		t.Fatalf("wrong old PIN: %s %d", j.Step, j.PIN.Retries)
	}
	j.PINChanged("135790", &fido.PINPolicyError{Rule: fido.RuleKeyPolicy})
	if j.Step != StepChangePIN || j.Problem == nil {
		t.Fatal("a new PIN the key refused")
	}
	j.PINChanged("135790", nil)
	if j.Step != StepNameKey || j.PINForTouch() != "135790" || j.Info.ForcePINChange {
		t.Fatalf("after the change: %s", j.Step)
	}
	// Register's ErrPINChangeRequired leads there too.
	j.NameKey("k")
	j.Registered(api.FIDO2Method{}, fido.ErrPINChangeRequired)
	if j.Step != StepChangePIN || j.PINForTouch() != "" {
		t.Fatal(j.Step)
	}
	if !j.Back() || j.Step != StepInsertKey {
		t.Fatal("no way to another key from the change")
	}
}

// Issue 12 item 10: a full key.
func TestFullKey(t *testing.T) {
	full := fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: 0, CredMgmt: true}
	atFull := func(t *testing.T) *Journey {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(full, fido.PINState{Set: true, Retries: 8}, nil)
		if j.Step != StepEnterPIN {
			t.Fatal(j.Step)
		}
		j.EnterPIN("2468")
		j.PINChecked(nil)
		if j.Step != StepKeyFull {
			t.Fatalf("a full key went to %s", j.Step)
		}
		return j
	}
	creds := []fido.Credential{
		{ID: []byte{1}, RPID: "login.microsoft.com", UserName: "bob@example.com", UserHandle: []byte("h-bob")},
		{ID: []byte{2}, RPID: "github.com", UserName: "ada@example.com"},
		{ID: []byte{3}, RPID: "login.microsoft.com", UserName: "ADA@example.com"},
		{ID: []byte{4}, RPID: "login.microsoft.com", UserName: "x", UserHandle: []byte("h-ada")},
	}
	own := OwnCredentials(creds, "login.microsoft.com", "ada@example.com", []byte("h-ada"))
	if len(own) != 2 || own[0].ID[0] != 3 || own[1].ID[0] != 4 {
		t.Fatalf("own %v", own)
	}
	j := atFull(t)
	j.CredentialsFound(own, nil)
	if cs := j.CredentialsToRemove(); len(cs) != 2 || cs[0].ID[0] != 3 || cs[1].ID[0] != 4 || j.Problem != nil {
		t.Fatalf("not every passkey of hers is offered: %v", cs)
	}
	j.CredentialRemoved([]byte{3}, nil)
	if j.Step != StepKeyFull || len(j.CredentialsToRemove()) != 1 {
		t.Fatal("went on with one of hers still on the full key")
	}
	j.CredentialRemoved([]byte{4}, errors.New("key said no"))
	if j.Step != StepKeyFull || j.Problem == nil || len(j.CredentialsToRemove()) != 1 {
		t.Fatal("a failed removal went on")
	}
	j.CredentialRemoved([]byte{9}, nil) // not offered: changes nothing
	if len(j.CredentialsToRemove()) != 1 {
		t.Fatal("a stray removal counted")
	}
	j.CredentialRemoved([]byte{4}, nil)
	if j.Step != StepNameKey || j.PINForTouch() != "2468" {
		t.Fatal(j.Step)
	}
	// None of this account: the key is full, another key.
	j = atFull(t)
	j.CredentialsFound(OwnCredentials(creds[:2], "login.microsoft.com", "ada@example.com", []byte("h-ada")), nil)
	if len(j.CredentialsToRemove()) != 0 || !errors.Is(j.Problem, fido.ErrKeyFull) {
		t.Fatal("offered to remove another account's passkey")
	}
	if !j.Back() || j.Step != StepInsertKey {
		t.Fatal("no way to another key")
	}
	// Register's ErrKeyFull: the PIN was right, so keep it to look.
	j = atName(t)
	j.Info.CredMgmt = true
	j.NameKey("k")
	j.Registered(api.FIDO2Method{}, fido.ErrKeyFull)
	if j.Step != StepKeyFull || j.PINForTouch() == "" {
		t.Fatal(j.Step)
	}
}

// TestKeyPulledWhileSettingThePIN: a key pulled while its new PIN is set
// goes back to Insert key (whether the PIN took is unknown) and keeps no
// PIN; another error stays at the step to try again.
func TestKeyPulledWhileSettingThePIN(t *testing.T) {
	atNewPIN := func() *Journey {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: -1}, fido.PINState{Set: false}, nil)
		if j.Step != StepNewPIN {
			t.Fatalf("a key without a PIN goes to %s", j.Step)
		}
		return j
	}
	j := atNewPIN()
	j.PINSet("2468", fido.ErrKeyRemoved)
	if j.Step != StepInsertKey || j.PINForTouch() != "" || j.Key.Path != "" || !errors.Is(j.Problem, fido.ErrKeyRemoved) {
		t.Fatalf("pulled while setting the PIN: step %s, key %q, problem %v", j.Step, j.Key.Path, j.Problem)
	}
	j = atNewPIN()
	j.PINSet("2468", errors.New("odd"))
	if j.Step != StepNewPIN {
		t.Fatalf("another error left the step: %s", j.Step)
	}
}

// TestFullKeyWithoutCredentialManagement: a full key that cannot show
// its passkeys is not refused at Insert key, since registering this
// account again overwrites its passkey in place. If the key then says it
// has no room, the full-key step explains that nothing here can clean it.
func TestFullKeyWithoutCredentialManagement(t *testing.T) {
	atName := func(t *testing.T) *Journey {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: 0}, fido.PINState{Set: true, Retries: 8}, nil)
		if j.Step != StepEnterPIN || j.Problem != nil || !j.FullUnlisted {
			t.Fatalf("a full key without credential management: %s %v", j.Step, j.Problem)
		}
		j.EnterPIN("2468")
		j.PINChecked(nil)
		if j.Step != StepNameKey {
			t.Fatalf("it cannot be looked at, so it goes on to naming: %s", j.Step)
		}
		j.NameKey("k")
		return j
	}
	j := atName(t)
	j.Registered(api.FIDO2Method{ID: "m"}, nil) // it held hers and overwrote it
	if j.Step != StepCheckKey {
		t.Fatal(j.Step)
	}
	j = atName(t)
	j.Registered(api.FIDO2Method{}, fido.ErrKeyFull)
	if j.Step != StepKeyFull || !errors.Is(j.Problem, ErrFullNoCleanup) || j.ListsCredentials() || j.PINForTouch() != "" {
		t.Fatalf("none of hers: %s %v, lists %v", j.Step, j.Problem, j.ListsCredentials())
	}
	if len(j.CredentialsToRemove()) != 0 {
		t.Fatal("offered to remove what it cannot see")
	}
	if !j.Back() || j.Step != StepInsertKey || j.FullUnlisted {
		t.Fatal("no way to another key")
	}
	// A key with credential management is looked at instead.
	j = signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, RemainingResidentKeys: 0, CredMgmt: true}, fido.PINState{Set: true, Retries: 8}, nil)
	j.EnterPIN("2468")
	j.PINChecked(nil)
	if j.Step != StepKeyFull || !j.ListsCredentials() || j.FullUnlisted {
		t.Fatal(j.Step)
	}
}

// TestKeyPulledDuringTheCheck: a key pulled during the key check is
// waited for; when it is back the check runs again with the PIN still
// held, and another model is not sent that PIN. Skipping still works.
func TestKeyPulledDuringTheCheck(t *testing.T) {
	atCheck := func() *Journey {
		j := atName(t)
		j.NameKey("k")
		j.Registered(api.FIDO2Method{ID: "m"}, nil)
		return j
	}
	j := atCheck()
	j.KeyChecked(fido.ErrKeyRemoved)
	if j.Step != StepCheckKey || !j.CheckKeyGone() || !errors.Is(j.Problem, fido.ErrKeyRemoved) || j.Key.Path != "" {
		t.Fatalf("pulled during the check: %s gone %v %v", j.Step, j.CheckKeyGone(), j.Problem)
	}
	if j.KeysSeen(nil) || !errors.Is(j.Problem, fido.ErrKeyRemoved) {
		t.Fatal("no key: still waiting, still saying why")
	}
	if j.KeysSeen([]fido.Key{{Path: "virtual:other", Product: "Other key"}}) || !errors.Is(j.Problem, ErrNotTheRegisteredKey) {
		t.Fatal("another model was taken for the check")
	}
	if j.KeysSeen([]fido.Key{key, {Path: "virtual:b", Product: key.Product}}) || !errors.Is(j.Problem, fido.ErrSeveralKeys) {
		t.Fatal("two keys")
	}
	back := fido.Key{Path: "virtual:a2", Product: key.Product} // a replug may get a new path
	if !j.KeysSeen([]fido.Key{back}) || j.CheckKeyGone() || j.Problem != nil || j.Key.Path != back.Path || j.PINForTouch() != "2468" {
		t.Fatalf("the key back: gone %v %v %q", j.CheckKeyGone(), j.Problem, j.Key.Path)
	}
	j.KeyChecked(nil)
	if j.Step != StepInsertKey || len(j.Keys) != 1 || !j.Keys[0].Checked {
		t.Fatal(j.Step)
	}
	j = atCheck()
	j.KeyChecked(fido.ErrKeyRemoved)
	j.SkipCheck()
	if j.Step != StepInsertKey || j.CheckKeyGone() || len(j.Keys) != 1 || j.Keys[0].Checked {
		t.Fatal("skip while waiting for the key")
	}
}

// TestPINChangeAfterTheCheck: the key judged the PIN right, then asked
// for a change; the change uses that PIN and asks only the new one.
func TestPINChangeAfterTheCheck(t *testing.T) {
	atChange := func() *Journey {
		j := signedIn(t)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil)
		j.EnterPIN("2468")
		j.PINChecked(fido.ErrPINChangeRequired)
		if j.Step != StepChangePIN || !j.KnowsOldPIN() || j.PINForTouch() != "" {
			t.Fatalf("after VerifyPIN's change demand: %s known %v", j.Step, j.KnowsOldPIN())
		}
		return j
	}
	j := atChange()
	if err := j.CheckChangePIN("", "135790", "135790"); err != nil || j.OldPIN("") != "2468" {
		t.Fatalf("the held PIN was not used: %v", err)
	}
	if err := j.CheckChangePIN("", "2468", "2468"); !errors.Is(err, ErrPINSame) {
		t.Fatalf("the same PIN again: %v", err)
	}
	j.PINChanged("135790", &fido.PINPolicyError{Rule: fido.RuleKeyPolicy})
	if !j.KnowsOldPIN() {
		t.Fatal("a refused new PIN dropped the old one")
	}
	j.PINChanged("135790", nil)
	if j.Step != StepNameKey || j.KnowsOldPIN() || j.OldPIN("x") != "x" || j.old != "" || j.PINForTouch() != "135790" {
		t.Fatal("the old PIN outlived its step")
	}
	// A wrong old PIN (the key changed its mind) asks for it.
	j = atChange()
	j.PINChanged("135790", &fido.PINWrongError{RetriesLeft: 7})
	if j.Step != StepChangePIN || j.KnowsOldPIN() {
		t.Fatal("a refused old PIN was kept")
	}
	// Esc drops it.
	j = atChange()
	j.Back()
	if j.old != "" {
		t.Fatal("kept after leaving the step")
	}
	// The touch's change demand keeps the PIN the key took too.
	j = atName(t)
	j.NameKey("k")
	j.Registered(api.FIDO2Method{}, fido.ErrPINChangeRequired)
	if j.Step != StepChangePIN || !j.KnowsOldPIN() || j.OldPIN("") != "2468" {
		t.Fatal("the touch's change demand")
	}
	// Straight from getInfo's forcePINChange, nothing is known yet.
	j = signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, RemainingResidentKeys: -1, ForcePINChange: true}, fido.PINState{Set: true, Retries: 8}, nil)
	if j.Step != StepChangePIN || j.KnowsOldPIN() {
		t.Fatal("an unchecked PIN was taken as known")
	}
}

// TestWrongPassAfterALockMeansTheLockWasLifted: after a lock tapd allows
// one guess per round and answers a wrong one with a new lock, so a plain
// "wrong" after a lock means the lock is gone (an unlock, a new pass):
// the count starts afresh rather than "the next wrong pass locks again".
func TestWrongPassAfterALockMeansTheLockWasLifted(t *testing.T) {
	j := New(nil)
	j.Start()
	j.SubmitUPN("ada@example.com")
	j.SignInResult(api.Session{}, &api.Error{Code: api.CodeTooManyAttempts})
	if n, exact := j.TriesBeforeLock(); n != 1 || !exact {
		t.Fatalf("after a lock: %d %v", n, exact)
	}
	j.SignInResult(api.Session{}, &api.Error{Code: api.CodeInvalidCredentials})
	if n, exact := j.TriesBeforeLock(); n != LockThreshold-1 || exact || j.AfterLock {
		t.Fatalf("after a plain wrong answer: %d %v", n, exact)
	}
}

// A key that leaves "This key is already registered to you" goes back to
// Insert key, holding nothing of it (the PIN, the choice, the candidates):
// the key that comes next, the same one or another, is read afresh, and
// "the key was removed" goes once a key is back.
func TestKnownKeyLeaves(t *testing.T) {
	j := knownKeyJourney(t)
	j.ChooseKnownKey(true)
	if j.KeysSeen([]fido.Key{key}) || j.Step != StepKnownKey {
		t.Fatalf("the key still in the port moved the journey: %s", j.Step)
	}
	j.KeysSeen(nil)
	if j.Step != StepInsertKey || !errors.Is(j.Problem, fido.ErrKeyRemoved) || j.PINForTouch() != "" || j.KnownKeyAgain() || j.Key.Path != "" {
		t.Fatalf("pulled at the known key: %s %v pin %q again %v key %+v", j.Step, j.Problem, j.PINForTouch(), j.KnownKeyAgain(), j.Key)
	}
	if j.KeysSeen(nil); !errors.Is(j.Problem, fido.ErrKeyRemoved) {
		t.Fatal("the removal is not said until a key is back")
	}
	if !j.KeysSeen([]fido.Key{key}) || j.Problem != nil {
		t.Fatalf("the key, plugged back in, was not taken afresh: %v", j.Problem)
	}
}

// A key swapped faster than the key watch looks (same port, same path)
// shows itself at the key check: it has no PIN, or refuses the one the
// journey holds. That is a new key, so Insert key reads it afresh rather
// than the known-key step saying the new key's problem for ever.
func TestKnownKeySwappedUnseen(t *testing.T) {
	for _, err := range []error{fido.ErrPINNotSet, &fido.PINWrongError{RetriesLeft: 7}, fido.ErrKeyRemoved} {
		for _, again := range []bool{false, true} {
			j := knownKeyJourney(t)
			j.ChooseKnownKey(again)
			j.KnownKeyCandidates([]api.AuthenticationMethod{{ID: "a", Type: api.TypeFIDO2}})
			if next := j.KnownKeyChecked("a", err); next != "" || j.Step != StepInsertKey || j.Key.Path != "" || j.PINForTouch() != "" {
				t.Fatalf("%v (again %v): %s %v", err, again, j.Step, j.Problem)
			}
			if _, ok := j.Replacing(); ok {
				t.Fatal("an old registration is still to be removed")
			}
			if !j.KeysSeen([]fido.Key{key}) || j.Problem != nil {
				t.Fatalf("%v: the key in the port is not read afresh", err)
			}
		}
	}
}

// The key's PIN rules come before the weak-PIN warning: a PIN too short
// to be set is refused at the first field, and is not called weak.
func TestNewPINRulesBeforeTheWarning(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 6, RemainingResidentKeys: -1}, fido.PINState{Retries: -1}, nil)
	var pp *fido.PINPolicyError
	if err := j.CheckFirstPIN("12"); !errors.As(err, &pp) || pp.Rule != fido.RuleTooShort || pp.MinLen != 6 {
		t.Fatalf("a 2-digit PIN at the first field: %v", err)
	}
	if j.WeakNewPIN("12") || j.WeakNewPIN("1234") {
		t.Fatal("a PIN too short to be set is called weak")
	}
	if !j.WeakNewPIN("123456") || j.WeakNewPIN("583920") || j.CheckFirstPIN("583920") != nil {
		t.Fatal("the warning or the rules at the minimum length")
	}
}

// TestRefusedKeyIsNotReadAgain: a key that cannot hold a passkey stays
// refused while it stays in the port. Before, the watch picked it again
// at its next look and the screen flickered between "Reading your key…"
// and the refusal every 300 ms. Taken out, it may be tried again.
func TestRefusedKeyIsNotReadAgain(t *testing.T) {
	for _, refusal := range []struct {
		name string
		info fido.Info
		err  error
	}{
		{"u2f", fido.Info{}, &fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly}},
		{"no rk", fido.Info{}, nil},
	} {
		t.Run(refusal.name, func(t *testing.T) {
			j := signedIn(t)
			j.KeysSeen([]fido.Key{key})
			j.KeyFacts(refusal.info, fido.PINState{}, refusal.err)
			var u *fido.UnsupportedKeyError
			for range 3 {
				if j.KeysSeen([]fido.Key{key}) || !errors.As(j.Problem, &u) {
					t.Fatalf("the refused key was read again (problem %v)", j.Problem)
				}
			}
			if j.KeysSeen(nil) || !errors.Is(j.Problem, fido.ErrNoKey) {
				t.Fatalf("taken out: problem %v", j.Problem)
			}
			if !j.KeysSeen([]fido.Key{key}) {
				t.Fatal("plugged in again, it is not read")
			}
		})
	}
	// Another error (a key that could not be read this time) is read
	// again at the next look, as before.
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{}, fido.PINState{}, errors.New("transient"))
	if !j.KeysSeen([]fido.Key{key}) {
		t.Fatal("a key that failed to read once is not read again")
	}
}

// TestRefusedKeyBesideAnother: with a refused key still in, a second key
// gets "leave only one", and once the refused key is out the other is
// read.
func TestRefusedKeyBesideAnother(t *testing.T) {
	j := signedIn(t)
	j.KeysSeen([]fido.Key{key})
	j.KeyFacts(fido.Info{}, fido.PINState{}, &fido.UnsupportedKeyError{Reason: fido.ReasonU2FOnly})
	other := fido.Key{Path: "virtual:b"}
	if j.KeysSeen([]fido.Key{key, other}) || !errors.Is(j.Problem, fido.ErrSeveralKeys) {
		t.Fatalf("two keys: problem %v", j.Problem)
	}
	if !j.KeysSeen([]fido.Key{other}) || j.Key.Path != other.Path {
		t.Fatal("the other key alone is not read")
	}
}
