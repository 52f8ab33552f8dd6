package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// TestKioskStagingSkipAfterPINWipesKey: issue 21's item 3 with the real
// binaries in tmux. Ada's key takes her PIN, then the registration's
// touch is refused on the key; the operator skips her. The question says
// the key is wiped first, the kiosk asks for the replug and wipes it, and
// only then marks her not staged: afterwards the key has no PIN, tapd has
// no key for her, her letter is gone, and the manifest lists her as
// failed with the reason the operator saw.
func TestKioskStagingSkipAfterPINWipesKey(t *testing.T) {
	w := newWorld(t)
	tok, err := w.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: "authenticationAdministrator"})
	if err != nil {
		t.Fatal(err)
	}
	op := api.NewClient(w.d.url, tok.Token)
	if _, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "south", Users: []api.StagingPerson{{UserPrincipalName: w.upn}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	letters, exit := filepath.Join(dir, "letters"), filepath.Join(dir, "exit")
	k := runKiosk(t, w.d.url, tok.Token, dir, "skip.json", "", "--staging", "--batch", "south", "--letters", letters,
		"--touch-timeout", "30s", "; echo $? >"+exit+"; sleep 30")
	k.waitFor("Batch south")
	k.key("deny") // the touch that would register the key is refused
	k.send("Enter")
	k.waitFor("Ada Lovelace (1 of 1)")
	s := k.waitFor("could not be staged")
	if !strings.Contains(s, "ctrl+s") {
		t.Fatalf("no skip offered after the failure:\n%s", s)
	}
	k.send("C-s")
	s = k.waitFor("Skip Ada Lovelace?")
	if !strings.Contains(strings.Join(strings.Fields(s), " "), "so it is wiped first") {
		t.Fatalf("the question does not say the key is wiped first:\n%s", s)
	}
	k.key("auto") // the wipe's touch is not refused
	k.send("y")
	k.waitFor("Unplug the key and plug it back in")
	if b, _ := op.GetStagingBatch(bg, "south"); b.Rows[0].State != api.StagingPending {
		t.Fatalf("Ada was marked before her key was wiped: %+v", b.Rows[0])
	}
	k.replugToWipe()
	k.waitFor("nobody left to do here")
	k.finishStaging(exit)

	// The key is empty: no PIN, so nobody is left holding a key whose
	// PIN was only in a deleted letter.
	info, err := fido.GetInfo(plugState(t, filepath.Join(dir, "skip.json")))
	if err != nil || info.PINSet {
		t.Fatalf("Ada's key after the skip: PIN set %v, %v", info.PINSet, err)
	}
	// tapd: Ada failed with the reason, and no key registered for her.
	b, err := op.GetStagingBatch(bg, "south")
	if err != nil || b.Rows[0].State != api.StagingFailed || b.Rows[0].FailureReason == "" || b.FailedCount != 1 {
		t.Fatalf("south after the skip: %+v %v", b, err)
	}
	reason := b.Rows[0].FailureReason
	ms, err := w.admin.UserMethods(bg, w.upn)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Type == api.TypeFIDO2 {
			t.Errorf("Ada has a key after the skip: %+v", m)
		}
	}
	// Her letter is gone, pending or not.
	filepath.WalkDir(letters, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(filepath.Base(p), "-manifest.") {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), w.upn) {
				t.Errorf("a letter for Ada is left: %s", p)
			}
		}
		return nil
	})
	// The manifest the kiosk wrote names her, failed, with the reason.
	f, err := os.Open(filepath.Join(letters, "south-manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("manifest %q %v", recs, err)
	}
	if ada := recs[1]; ada[0] != w.upn || ada[3] != api.StagingFailed || ada[4] != reason {
		t.Errorf("Ada in the manifest: %q (reason %q)", ada, reason)
	}
}
