package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// TestKioskStagingAgainAfterCleanup: staging over weeks, in tmux with the
// real binaries. Ada's key is staged and Fay is skipped; Ada later
// removes the staged key's registration at the walk-up kiosk's clean-up;
// a new batch stages her again, and the staging kiosk, knowing the key by
// its serial, names whose it was and wipes it after Ctrl+W, then
// registers it for her anew. The manifests list Fay, skipped, with the
// reason.
func TestKioskStagingAgainAfterCleanup(t *testing.T) {
	w := newWorld(t)
	if _, err := w.admin.CreateUser(bg, api.User{UserPrincipalName: "fay@example.com", DisplayName: "Fay Skipped"}); err != nil {
		t.Fatal(err)
	}
	tok, err := w.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: "authenticationAdministrator"})
	if err != nil {
		t.Fatal(err)
	}
	op := api.NewClient(w.d.url, tok.Token)
	if _, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "north", Users: []api.StagingPerson{
		{UserPrincipalName: w.upn}, {UserPrincipalName: "fay@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	letters := filepath.Join(dir, "letters")
	stage := func(batch string) (*kioskRun, string) {
		exit := filepath.Join(dir, "exit-"+batch)
		return runKiosk(t, w.d.url, tok.Token, dir, "staged.json", "", "--staging", "--batch", batch, "--letters", letters,
			"--touch-timeout", "30s", "; echo $? >"+exit+"; sleep 30"), exit
	}

	// 1. Ada's key is staged; Fay is skipped.
	k, exit := stage("north")
	k.waitFor("Batch north")
	k.send("Enter")
	k.waitFor("Ada Lovelace (1 of 2)")
	k.waitFor("Registered.")
	k.key("unplug")
	k.waitFor("Plug in the key for Fay Skipped (2 of 2)")
	k.send("C-s")
	k.waitFor("Skip Fay Skipped?")
	k.send("y")
	k.waitFor("nobody left to do here")
	k.finishStaging(exit)
	b, err := op.GetStagingBatch(bg, "north")
	if err != nil || b.Rows[0].State != api.StagingRegistered || b.Rows[0].SerialNumber == "" || b.Rows[1].State != api.StagingFailed {
		t.Fatalf("north after staging: %+v %v", b, err)
	}
	staged := b.Rows[0]

	// 2. At the walk-up kiosk Ada registers another key and removes the
	// staged one at clean-up.
	pass := w.pass(false)
	wk := w.startKiosk()
	wk.waitFor("Press Enter to start")
	wk.send("Enter", w.upn)
	wk.waitFor("Looks right")
	wk.send("Enter", pass)
	wk.waitFor("Temporary Access Pass")
	wk.send("Enter")
	wk.newPIN()
	wk.send("Enter")
	wk.waitFor("Your key is registered")
	wk.send("Enter")
	wk.noBackup()
	wk.waitFor("Remove what you lost")
	wk.waitFor(staged.KeyName)
	wk.send("Space", "Enter")
	wk.waitFor("Remove this method?")
	wk.send("y")
	wk.waitFor("Removed: Security key")
	wk.send("Enter")
	wk.waitFor("Delete your Temporary Access Pass?")
	wk.send("Enter")
	wk.waitFor("All done")
	wk.stop()
	if r, err := op.GetStagingRow(bg, "north", staged.ID); err != nil || r.State != api.StagingRemoved || r.SerialNumber != staged.SerialNumber {
		t.Fatalf("Ada's north row after clean-up: %+v %v", r, err)
	}
	es, _ := w.admin.Audit(bg, api.AuditQuery{Action: api.ActionDeleteMethod, User: w.upn})
	if len(es) != 1 || es[0].Actor.Name != w.kiosk.Name || es[0].Details["stagingRowsReleased"] != "1" {
		t.Fatalf("clean-up audit %+v", es)
	}

	// 3. A new batch stages her again, with the same key.
	if _, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "ada-again", Users: []api.StagingPerson{{UserPrincipalName: w.upn}}}); err != nil {
		t.Fatal(err)
	}
	k, exit = stage("ada-again")
	k.waitFor("Batch ada-again")
	k.send("Enter")
	s := k.waitFor("This key was Ada Lovelace's, staged in batch north.")
	if !strings.Contains(s, "ctrl+w") || !strings.Contains(s, "Its registration for "+w.upn+" has been removed") {
		t.Fatalf("the wipe of Ada's old key:\n%s", s)
	}
	k.wipeAndStage()
	k.key("unplug")
	k.finishStaging(exit)
	again, err := op.GetStagingBatch(bg, "ada-again")
	if err != nil || again.Rows[0].State != api.StagingRegistered || again.Rows[0].SerialNumber != staged.SerialNumber || again.Rows[0].MethodID == staged.MethodID {
		t.Fatalf("ada-again: %+v %v", again, err)
	}
	ms, _ := w.admin.UserMethods(bg, w.upn)
	var keys []string
	for _, m := range ms {
		if m.Type == api.TypeFIDO2 {
			keys = append(keys, m.ID)
		}
	}
	if len(keys) != 2 || !slices.Contains(keys, again.Rows[0].MethodID) || slices.Contains(keys, staged.MethodID) {
		t.Fatalf("Ada's keys %v (staged again %s, removed %s)", keys, again.Rows[0].MethodID, staged.MethodID)
	}

	// 4. The manifests list Fay, skipped, with the reason: the one the
	// first run wrote, and north's as tapctl exports it now.
	for _, read := range []func() ([][]string, error){
		func() ([][]string, error) {
			f, err := os.Open(filepath.Join(letters, "north-manifest.csv"))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return csv.NewReader(f).ReadAll()
		},
		func() ([][]string, error) {
			out := tapctlWant(t, w.d.url, writeFile(t, "op.token", tok.Token+"\n"))(0, "staging", "export", "north", "--format", "csv")
			return csv.NewReader(strings.NewReader(out)).ReadAll()
		},
	} {
		recs, err := read()
		if err != nil || len(recs) != 3 || !slices.Equal(recs[0], api.ManifestColumns) {
			t.Fatalf("manifest %q %v", recs, err)
		}
		if fay := recs[2]; fay[0] != "fay@example.com" || fay[1] != "Fay Skipped" || fay[3] != api.StagingFailed || fay[4] != "skipped by the operator" {
			t.Errorf("Fay in the manifest: %q", fay)
		}
		if ada := recs[1]; ada[0] != w.upn || ada[2] != staged.KeyName || ada[8] != staged.SerialNumber {
			t.Errorf("Ada in the manifest: %q", ada)
		}
	}
}

// wipeAndStage confirms the wipe offered for the plugged key (Ctrl+W),
// replugs it as the kiosk asks, and waits for the touch to wipe it and
// for the person's registration that follows.
func (k *kioskRun) wipeAndStage() {
	k.t.Helper()
	k.send("C-w")
	k.replugToWipe()
	k.waitFor("Touch the key to wipe it")
	k.waitFor("Registered.")
}

// replugToWipe unplugs the key and plugs it back in when the staging
// kiosk asks for it before a wipe (a key is wiped only in its first
// seconds). The pause lets the kiosk's key watch see it gone.
func (k *kioskRun) replugToWipe() {
	k.t.Helper()
	k.waitFor("Unplug the key and plug it back in")
	k.keyTaken("unplug")
	// The kiosk must see the key gone before it comes back, and nothing
	// on screen or in its log says when it has: still a sleep, but one
	// that starts once the kiosk has taken the unplug.
	time.Sleep(500 * time.Millisecond)
	k.key("plug")
}

// finishStaging waits for the manifest at the end of a batch, leaves with
// Enter and wants exit code 0 in the file exit.
func (k *kioskRun) finishStaging(exit string) string {
	k.t.Helper()
	s := k.waitFor("Manifest:")
	k.send("Enter")
	if code := k.exitCode(exit); code != "0" {
		k.t.Fatalf("the staging kiosk's exit code: %s", code)
	}
	return s
}
