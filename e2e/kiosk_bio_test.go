package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// TestKioskFingerprintEnrolment: issue 23 item 8. The demo key becomes a
// fingerprint key (`bio` on its control file); after the new PIN the
// kiosk offers a finger, says the sensor's word on a poor sample and a
// timeout, resumes the same finger on Enter, and the key check then goes
// with the finger, not the PIN.
func TestKioskFingerprintEnrolment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pass := w.pass(false)
	dir := t.TempDir()
	k := runKiosk(t, w.d.url, w.kiosk.Token, dir, "key.json", "")
	k.waitFor("Press Enter to start")
	k.key("bio")
	k.waitLog(`"command":"bio"`)
	k.key("samples=poor,timeout")
	k.waitLog(`"command":"samples=poor,timeout"`)
	k.signIn(w.upn, pass)
	k.waitFor("Create a PIN for your key")
	k.send("135790", "Tab", "135790", "Enter")
	k.waitFor("Sign in with your fingerprint?")
	k.send("Enter")
	s := k.waitFor("felt no finger in time")
	if flat := strings.Join(strings.Fields(s), " "); !strings.Contains(flat, "could not read that") || !strings.Contains(flat, "Touch the sensor 4 more times") {
		t.Fatalf("after a poor sample and a timeout:\n%s", s)
	}
	k.send("Enter")
	k.waitForWithin("1 finger enrolled", 40*time.Second)
	k.send("s")
	k.waitFor("Name your key")
	k.send("Enter")
	k.waitFor("Your key is registered")
	k.send("Enter")
	k.waitFor("with the finger you enrolled")
	k.noBackup()
	k.waitFor("Remove what you lost")

	var st struct {
		PINRetries int               `json:"pinRetries"`
		Templates  []json.RawMessage `json:"templates"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "key.json"))
	if err := json.Unmarshal(b, &st); err != nil || len(st.Templates) != 1 || st.PINRetries != 8 {
		t.Fatalf("the key after the journey: %s %v", b, err)
	}
	es, _ := w.admin.Audit(bg, api.AuditQuery{User: w.upn, Top: 200})
	checked := false
	for _, e := range es {
		checked = checked || e.Action == api.ActionCheckKey && e.Result == "success"
	}
	if !checked {
		t.Fatal("tapd has no successful key check")
	}
	logs, _ := os.ReadFile(k.log)
	if strings.Contains(string(logs), "135790") || strings.Contains(string(logs), pass) {
		t.Fatal("a secret reached the kiosk's log")
	}
}

// waitLog waits until the kiosk's log holds text (a control command
// taken, a call made).
func (k *kioskRun) waitLog(text string) {
	k.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(k.log); strings.Contains(string(b), text) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	k.t.Fatalf("the kiosk's log never held %q", text)
}
