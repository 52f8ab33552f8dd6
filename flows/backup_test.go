package flows

import (
	"errors"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

var second = fido.Key{Path: "virtual:b", Product: "Key 5"}

// atOffer is a journey whose first key ("first") is registered and
// checked: Insert key offers a backup key, the first still in the port.
func atOffer(t *testing.T) *Journey {
	t.Helper()
	j := atName(t)
	j.NameKey("First")
	j.Registered(api.FIDO2Method{ID: "first", DisplayName: "First"}, nil)
	j.KeyChecked(nil)
	if j.Step != StepInsertKey || !j.OnBackup() || len(j.Keys) != 1 || j.Keys[0].Method.ID != "first" || !j.Keys[0].Checked {
		t.Fatalf("no offer: %s backup %v keys %+v", j.Step, j.OnBackup(), j.Keys)
	}
	if j.Key.Path != "" || j.PINForTouch() != "" || j.Method.ID != "" || j.Checked || j.KeyName != "" {
		t.Fatal("the offer holds something of the first key")
	}
	return j
}

// secondAtTouch takes the second key through its PIN and name.
func secondAtTouch(t *testing.T, j *Journey, k fido.Key) {
	t.Helper()
	if !j.KeysSeen([]fido.Key{k}) {
		t.Fatalf("second key not picked: %v", j.Problem)
	}
	j.KeyFacts(fido.Info{ResidentKeys: true, MinPINLength: 4, RemainingResidentKeys: -1}, fido.PINState{Set: true, Retries: 8}, nil)
	if j.Step != StepEnterPIN || !j.EnterPIN("1357") {
		t.Fatalf("step %s", j.Step)
	}
	j.PINChecked(nil)
	if err := j.NameKey("Backup"); err != nil || j.Step != StepTouch || j.PINForTouch() != "1357" {
		t.Fatalf("%v %s", err, j.Step)
	}
}

func TestBackupKey(t *testing.T) {
	t.Run("registered and checked", func(t *testing.T) {
		j := atOffer(t)
		// The first key is still in the port: the offer waits, saying
		// nothing is wrong, and the first key cannot be taken back.
		if j.KeysSeen([]fido.Key{key}) || j.Problem != nil {
			t.Fatalf("the first key picked again: %v", j.Problem)
		}
		j.UseSetAside()
		if j.KeysSeen([]fido.Key{key}) {
			t.Fatal("the first key taken back")
		}
		j.KeysSeen(nil)
		if !errors.Is(j.Problem, fido.ErrNoKey) {
			t.Fatal(j.Problem)
		}
		secondAtTouch(t, j, second)
		j.Registered(api.FIDO2Method{ID: "backup", DisplayName: "Backup"}, nil)
		if j.Step != StepCheckKey || j.Method.ID != "backup" {
			t.Fatal(j.Step)
		}
		j.KeyChecked(nil)
		if j.Step != StepCleanup || len(j.Keys) != 2 || j.Keys[1].Method.ID != "backup" || !j.Keys[1].Checked || j.PINForTouch() != "" {
			t.Fatalf("after the backup's check: %s %+v", j.Step, j.Keys)
		}
		j.MethodsLoaded([]api.AuthenticationMethod{{ID: "first", Type: api.TypeFIDO2}, {ID: "backup", Type: api.TypeFIDO2},
			{ID: "old", Type: api.TypeFIDO2}, {ID: "tap", Type: api.TypeTAP}}, nil)
		if len(j.Methods) != 1 || j.Methods[0].ID != "old" {
			t.Fatalf("clean-up offers %+v", j.Methods)
		}
		j.CleanupDone()
		j.PassResult(false, nil)
		if j.Step != StepDone || !j.PassDeleted || len(j.Keys) != 2 {
			t.Fatal("done")
		}
	})
	t.Run("default name", func(t *testing.T) {
		for _, c := range []struct{ first, product, want string }{
			{"Key 5 2026-12-07", "Key 5", "Key 5 2026-12-07 (2)"}, // the same model, the same day
			{"Blue", "Key 5", "Key 5 2026-12-07"},
			{"Key 5 2026-12-07", "Other", "Other 2026-12-07"},
		} {
			j := atName(t)
			j.now = func() time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) }
			j.Session.ExpiresDateTime = j.now().Add(10 * time.Minute)
			j.NameKey(c.first)
			j.Registered(api.FIDO2Method{ID: "first", DisplayName: c.first}, nil)
			j.SkipCheck()
			j.KeysSeen(nil)
			j.KeysSeen([]fido.Key{{Path: "virtual:b", Product: c.product}})
			j.KeyFacts(fido.Info{ResidentKeys: true}, fido.PINState{Set: true, Retries: 8}, nil)
			j.EnterPIN("1357")
			j.PINChecked(nil)
			if j.Step != StepNameKey || j.KeyName != c.want {
				t.Errorf("after %q, a %s: %s %q, want %q", c.first, c.product, j.Step, j.KeyName, c.want)
			}
		}
	})
	t.Run("skipped", func(t *testing.T) {
		j := atOffer(t)
		j.KeysSeen([]fido.Key{key})
		j.SkipBackup()
		if j.Step != StepCleanup || len(j.Keys) != 1 || j.OnBackup() != true || j.Key.Path != "" {
			t.Fatalf("skip: %s %+v", j.Step, j.Keys)
		}
		j.SkipBackup() // not at the offer: nothing
		if j.Step != StepCleanup {
			t.Fatal(j.Step)
		}
	})
	t.Run("the same key again", func(t *testing.T) {
		j := atOffer(t)
		j.KeysSeen(nil) // the first key taken out...
		again := fido.Key{Path: "virtual:a3", Product: key.Product}
		secondAtTouch(t, j, again) // ...and plugged back in
		j.Registered(api.FIDO2Method{}, fido.ErrAlreadyRegistered)
		if j.Step != StepInsertKey || !errors.Is(j.Problem, ErrBackupHoldsYours) || j.PINForTouch() != "" || j.Key.Path != "" {
			t.Fatalf("not refused: %s %v", j.Step, j.Problem)
		}
		if j.KeysSeen([]fido.Key{again}) || !errors.Is(j.Problem, ErrBackupHoldsYours) {
			t.Fatalf("the refused key picked, or the reason gone: %v", j.Problem)
		}
		j.KeysSeen(nil)
		if !errors.Is(j.Problem, ErrBackupHoldsYours) {
			t.Fatal("the reason went with the key")
		}
		secondAtTouch(t, j, second)
		if j.Problem != nil {
			t.Fatal(j.Problem)
		}
		j.Registered(api.FIDO2Method{ID: "backup"}, nil)
		j.SkipCheck()
		if j.Step != StepCleanup || len(j.Keys) != 2 || j.Keys[0].Method.ID != "first" || j.Keys[1].Checked {
			t.Fatalf("%s %+v", j.Step, j.Keys)
		}
	})
	t.Run("the first key again, full", func(t *testing.T) {
		j := atOffer(t)
		j.KeysSeen(nil)
		j.KeysSeen([]fido.Key{key})
		j.KeyFacts(fido.Info{ResidentKeys: true, CredMgmt: true, RemainingResidentKeys: 0}, fido.PINState{Set: true, Retries: 8}, nil)
		j.EnterPIN("2468")
		j.PINChecked(nil)
		if j.Step != StepKeyFull {
			t.Fatal(j.Step)
		}
		j.CredentialsFound([]fido.Credential{{ID: []byte("first"), RPID: "tapkiosk.test", UserName: "ada@example.com"}}, nil)
		if j.Step != StepInsertKey || !errors.Is(j.Problem, ErrBackupHoldsYours) || len(j.CredentialsToRemove()) != 0 || j.PINForTouch() != "" {
			t.Fatalf("the first key's passkey offered for removal: %s %v", j.Step, j.Problem)
		}
		// A full key of other accounts' passkeys is still just full.
		j.KeysSeen(nil)
		j.KeysSeen([]fido.Key{second})
		j.KeyFacts(fido.Info{ResidentKeys: true, CredMgmt: true, RemainingResidentKeys: 0}, fido.PINState{Set: true, Retries: 8}, nil)
		j.EnterPIN("1357")
		j.PINChecked(nil)
		j.CredentialsFound(nil, nil)
		if j.Step != StepKeyFull || !errors.Is(j.Problem, fido.ErrKeyFull) {
			t.Fatalf("%s %v", j.Step, j.Problem)
		}
	})
	t.Run("pulled mid-touch", func(t *testing.T) {
		j := atOffer(t)
		j.KeysSeen(nil)
		secondAtTouch(t, j, second)
		j.Registered(api.FIDO2Method{}, fido.ErrKeyRemoved)
		if j.Step != StepInsertKey || !j.OnBackup() || !errors.Is(j.Problem, fido.ErrKeyRemoved) || len(j.Keys) != 1 ||
			j.Keys[0].Method.ID != "first" || j.PINForTouch() != "" {
			t.Fatalf("not back at the offer: %s %v %+v", j.Step, j.Problem, j.Keys)
		}
		j.KeysSeen(nil)
		if !errors.Is(j.Problem, fido.ErrKeyRemoved) {
			t.Fatal("the removal not said until a key is back")
		}
		j.SkipBackup()
		if j.Step != StepCleanup || len(j.Keys) != 1 {
			t.Fatal(j.Step)
		}
	})
	t.Run("other key from its PIN step", func(t *testing.T) {
		j := atOffer(t)
		j.KeysSeen(nil)
		j.KeysSeen([]fido.Key{second})
		j.KeyFacts(fido.Info{ResidentKeys: true}, fido.PINState{Set: true, Retries: 8}, nil)
		if !j.Back() || j.Step != StepInsertKey || !j.OnBackup() {
			t.Fatal("Esc at the backup's PIN is not the offer")
		}
		j.SkipBackup()
		if j.Step != StepCleanup {
			t.Fatal(j.Step)
		}
	})
	t.Run("kept known key, then a backup", func(t *testing.T) {
		j := atName(t)
		j.NameKey("k")
		j.Registered(api.FIDO2Method{}, fido.ErrAlreadyRegistered)
		j.KnownKeyCandidates([]api.AuthenticationMethod{{ID: "mine", Type: api.TypeFIDO2}})
		j.KnownKeyChecked("mine", nil)
		if j.Step != StepInsertKey || !j.OnBackup() || len(j.Keys) != 1 || !j.Keys[0].Kept {
			t.Fatalf("%s %+v", j.Step, j.Keys)
		}
		j.KeysSeen(nil)
		secondAtTouch(t, j, second)
		j.Registered(api.FIDO2Method{ID: "backup"}, nil)
		j.KeyChecked(nil)
		j.MethodsLoaded([]api.AuthenticationMethod{{ID: "mine", Type: api.TypeFIDO2}, {ID: "backup", Type: api.TypeFIDO2}}, nil)
		if j.Step != StepCleanup || len(j.Methods) != 0 {
			t.Fatalf("clean-up offers a key of this visit: %+v", j.Methods)
		}
	})
}

// TestNoBackupWithoutTime: with less than BackupTime left the journey
// goes on to clean-up and the pass while there is time for them.
func TestNoBackupWithoutTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		left  time.Duration
		offer bool
	}{{BackupTime, true}, {BackupTime - time.Second, false}, {10 * time.Minute, true}, {time.Second, false}} {
		j := atName(t)
		j.now = func() time.Time { return now }
		j.Session.ExpiresDateTime = now.Add(c.left)
		j.NameKey("k")
		j.Registered(api.FIDO2Method{ID: "m"}, nil)
		j.KeyChecked(nil)
		if got := j.Step == StepInsertKey && j.OnBackup(); got != c.offer || (!c.offer && j.Step != StepCleanup) {
			t.Errorf("%s left: step %s backup %v, want offer %v", c.left, j.Step, j.OnBackup(), c.offer)
		}
		if len(j.Keys) != 1 {
			t.Errorf("%s left: keys %+v", c.left, j.Keys)
		}
	}
}
