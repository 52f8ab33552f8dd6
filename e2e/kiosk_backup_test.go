package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// noBackup answers the backup key offer (issue 23 item 7) with Enter: no
// second key, on to clean-up.
func (k *kioskRun) noBackup() {
	k.t.Helper()
	k.waitFor("Add a backup key?")
	k.send("Enter")
}

// toBackupOffer signs in with a new pass, sets the key's PIN, registers
// the key by its default name and checks it: the kiosk then offers a
// backup key, which it returns the screen of.
func (w *world) toBackupOffer(k *kioskRun) string {
	w.t.Helper()
	k.signIn(w.upn, w.pass(false))
	k.newPIN()
	k.send("Enter")
	k.waitFor("Your key is registered")
	k.send("Enter")
	return k.waitFor("Add a backup key?")
}

// firstKeyAgain takes the first key out at the offer and plugs it back
// in once the kiosk has seen it go: it is read again, and takes its PIN.
func (k *kioskRun) firstKeyAgain() {
	k.t.Helper()
	k.key("unplug")
	time.Sleep(2 * time.Second) // the kiosk looks for keys every 300 ms
	k.key("plug")
	k.waitFor("Enter your key's PIN")
	k.send("135790", "Enter")
}

// finishWithoutCleanup goes on from clean-up: nothing removed, the pass
// deleted; it returns Done's screen.
func (k *kioskRun) finishWithoutCleanup() string {
	k.t.Helper()
	k.send("Enter")
	k.waitFor("Delete your Temporary Access Pass?")
	k.send("Enter")
	return k.waitFor("All done")
}

// TestKioskBackupKey: issue 23 item 7. After the first key's check the
// kiosk offers a backup key. The first key again (taken out and plugged
// back in) is refused by the key itself (tapd's excludeCredentials); an
// empty key gets its own PIN, name, touch and check. Done lists both,
// tapd holds both, the audit names both, and the pass is deleted only
// at the end.
func TestKioskBackupKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	k := w.startKiosk()
	k.twoKeys(w.toBackupOffer(k), func() {
		if ks := w.keysAtTapd(); len(ks) != 1 {
			t.Fatalf("tapd holds %d keys after the refusal: %+v", len(ks), ks)
		}
	})
	w.holdsTwoKeys()
}

// keyName is the kiosk's default name for the virtual key today.
func keyName() string { return "tapkiosk virtual key " + time.Now().Format("2006-01-02") }

// twoKeys goes on from the backup offer (its screen offer). The first key
// is taken out and plugged back in: it is read again, and the key itself
// refuses it (tapd's excludeCredentials); refused runs then. Another,
// empty key is the backup, registered by its default name (the first's
// and " (2)") and checked; no clean-up; the pass deleted. Done lists both
// keys.
func (k *kioskRun) twoKeys(offer string, refused func()) {
	t := k.t
	t.Helper()
	if !strings.Contains(offer, "It works") || !strings.Contains(offer, keyName()) {
		t.Fatalf("the offer does not say the first key is done:\n%s", offer)
	}
	k.firstKeyAgain()
	k.waitFor("Name your key")
	k.send("Enter")
	s := k.waitFor("already holds a passkey of yours")
	if !strings.Contains(s, "Add a backup key?") {
		t.Fatalf("not back at the offer:\n%s", s)
	}
	refused()

	// Another, empty key: the backup.
	k.key("fresh")
	k.newPIN()
	if s := k.screen(); !strings.Contains(s, keyName()+" (2)") {
		t.Fatalf("the backup's default name is not told apart:\n%s", s)
	}
	k.send("Enter")
	k.waitFor("Your key is registered")
	k.send("Enter")
	s = k.waitFor("Remove what you lost")
	if strings.Count(s, "It works") != 2 || strings.Contains(s, "[ ] Security key") {
		t.Fatalf("clean-up after the backup:\n%s", s)
	}
	s = strings.Join(strings.Fields(k.finishWithoutCleanup()), " ")
	if !strings.Contains(s, `Registered your key "`+keyName()+`"`) || !strings.Contains(s, `Registered your backup key "`+keyName()+` (2)"`) ||
		strings.Count(s, "Checked that it works") != 2 {
		t.Fatalf("Done does not list both keys:\n%s", k.screen())
	}
}

// holdsTwoKeys checks what tapd (or Entra through it) holds after
// twoKeys: both keys, no pass; the audit names both keys (their method
// ids), and the pass's deletion comes after both.
func (w *world) holdsTwoKeys() {
	t := w.t
	t.Helper()
	ms, err := w.admin.UserMethods(bg, w.upn)
	if err != nil {
		t.Fatal(err)
	}
	var ids, names []string
	for _, m := range ms {
		if m.Type == api.TypeTAP {
			t.Fatalf("the pass is still there: %+v", ms)
		}
		ids, names = append(ids, m.ID), append(names, m.DisplayName)
	}
	slices.Sort(names)
	if len(ids) != 2 || names[0] != keyName() || names[1] != keyName()+" (2)" {
		t.Fatalf("tapd holds %v", names)
	}
	es, err := w.admin.Audit(bg, api.AuditQuery{User: w.upn, Top: 200})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(es, func(a, b api.AuditEntry) int { return int(a.ID - b.ID) })
	var registered []string
	deletedAfter := 0
	for _, e := range es {
		if e.Actor.Name != w.kiosk.Name || e.Result != "success" {
			continue
		}
		switch e.Action {
		case api.ActionRegisterFIDO2:
			registered = append(registered, e.Details["methodId"])
		case api.ActionDeletePass:
			deletedAfter = len(registered)
		}
	}
	slices.Sort(registered)
	slices.Sort(ids)
	if !slices.Equal(registered, ids) || deletedAfter != 2 {
		t.Fatalf("audit: registered %v (tapd holds %v), pass deleted after %d registrations", registered, ids, deletedAfter)
	}
}

// TestKioskBackupKeySkipped: issue 23 item 7. The person has no second
// key: Enter at the offer goes on, as before, and Done lists the one key.
func TestKioskBackupKeySkipped(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	k := w.startKiosk()
	w.toBackupOffer(k)
	k.send("C-x")
	if s := k.waitFor("Sign out now?"); !strings.Contains(s, "stays registered") || strings.Contains(s, "No key has been registered") {
		t.Fatalf("sign-out at the offer:\n%s", s)
	}
	k.send("n")
	k.noBackup()
	k.waitFor("Remove what you lost")
	if s := k.finishWithoutCleanup(); !strings.Contains(s, "Registered your key") || strings.Contains(s, "backup") {
		t.Fatalf("Done:\n%s", s)
	}
	if ks := w.keysAtTapd(); len(ks) != 1 {
		t.Fatalf("tapd holds %d keys: %+v", len(ks), ks)
	}
}

// TestEntraKioskBackupKey: issue 23 item 7 in Entra mode, where Graph is
// the relying party: its creation options exclude the first key, so the
// first key again is refused by the key, and the backup is a second
// POST .../fido2Methods in the same session.
func TestEntraKioskBackupKey(t *testing.T) {
	needTmux(t)
	tn := newTenant(t)
	upn := "ada@contoso.com"
	uid := tn.sim.AddUser(upn, "Ada Lovelace", "Member", false)
	d, db, admin := tn.serve(t)
	kiosk, err := admin.CreateKiosk(bg, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, d: d, db: db, admin: admin, upn: upn, kiosk: kiosk}
	k := w.startKiosk()
	k.twoKeys(w.toBackupOffer(k), func() {})
	w.holdsTwoKeys()
	if n := strings.Count(strings.Join(tn.sim.Requests, "\n"), "POST /v1.0/users/"+uid+"/authentication/fido2Methods\n"); n != 2 {
		t.Fatalf("%d key registrations reached Graph, want 2:\n%s", n, strings.Join(tn.sim.Requests, "\n"))
	}
}

// TestKioskBackupKeyFirstKeyFull: the first key has room for one passkey
// and is full once registered. Plugged back in at the offer, it lists
// its passkeys after the PIN: the one of this account is not offered for
// removal (that would break the first key), the key is refused as a
// backup, and its passkey is still on it.
func TestKioskBackupKeyFirstKeyFull(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	k := w.startKiosk("--virtual-key-model", "slots=1")
	w.toBackupOffer(k)
	k.firstKeyAgain()
	s := k.waitFor("already holds a passkey of yours")
	if !strings.Contains(s, "Add a backup key?") || strings.Contains(s, "remove") {
		t.Fatalf("not refused at the offer:\n%s", s)
	}
	k.send("Enter")
	k.waitFor("Remove what you lost")
	k.finishWithoutCleanup()
	if ks := w.keysAtTapd(); len(ks) != 1 {
		t.Fatalf("tapd holds %d keys: %+v", len(ks), ks)
	}
	if logs, _ := os.ReadFile(k.log); strings.Contains(string(logs), `"op":"deleteCredential"`) {
		t.Fatalf("a passkey was removed from the key:\n%s", logs)
	}
}
