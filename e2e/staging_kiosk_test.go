package e2e

import (
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// The kiosk's staging mode, walked as IT would: a batch of three people
// from a CSV, the real kiosk binary in tmux at 80x24 with the demo's
// virtual keys (real libfido2), one fresh key per person. The second
// person's key is pulled out while it waits for the touch and plugged
// back in; the kiosk is killed while the third person's key waits for its
// touch and started again with the same flags, and goes on with a wipe
// of that key (its PIN went with the killed kiosk).

var staff = []struct{ upn, name string }{
	{"ada@%s", "Ada Lovelace"}, {"bob@%s", "Bob Byte"}, {"cy@%s", "Cy Cipher"},
}

func staffUPN(i int, domain string) string { return strings.Replace(staff[i].upn, "%s", domain, 1) }

// stagingBatch runs the batch against tapd at url with the operator's
// token, and checks what tapd, the letters and the keys hold after.
func stagingBatch(t *testing.T, url string, admin *api.Client, operator, domain string) {
	dir := t.TempDir()
	var rows []string
	for i, p := range staff {
		rows = append(rows, staffUPN(i, domain)+","+p.name+",")
	}
	csvFile := filepath.Join(dir, "staff.csv")
	os.WriteFile(csvFile, []byte("upn,displayName,keyName\n"+strings.Join(rows, "\n")+"\n"), 0o600)
	letters := filepath.Join(dir, "letters")
	flags := []string{"--staging", "--csv", csvFile, "--letters", letters, "--touch-timeout", "30s"}

	k := runKiosk(t, url, operator, dir, "key.json", "", flags...)
	s := k.waitFor("Batch staff")
	for _, want := range []string{"3 to do", "random, 6 digits", "minimum PIN length is set to 6", "new PIN on first use"} {
		if !strings.Contains(s, want) {
			t.Errorf("the overview lacks %q:\n%s", want, s)
		}
	}
	k.send("Enter")

	// 1. Ada: a fresh key, straight through.
	k.waitFor("Ada Lovelace (1 of 3)")
	k.waitFor("Touch the key now")
	s = k.waitFor("Registered.")
	if !strings.Contains(s, "PIN letter:") || !strings.Contains(s, "asks for a new PIN on first use") {
		t.Errorf("Ada's result:\n%s", s)
	}
	k.send("Enter") // not a way on: the key must leave first
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(k.screen(), "Registered.") {
		t.Fatalf("Enter went on with the staged key still in:\n%s", k.screen())
	}

	// 2. Bob: first Ada's staged key comes back by mistake: the kiosk
	// knows it by its serial and does not offer to wipe it.
	k.key("unplug")
	k.waitFor("Plug in the key for Bob Byte (2 of 3)")
	k.key("plug")
	s = k.waitFor("This is Ada Lovelace's key, staged in batch staff")
	if strings.Contains(s, "ctrl+w") {
		t.Fatalf("the wipe is offered for Ada's staged key:\n%s", s)
	}
	k.send("C-w")
	time.Sleep(500 * time.Millisecond)
	if s := k.screen(); !strings.Contains(s, "This is Ada Lovelace's key") {
		t.Fatalf("Ctrl+W on Ada's key:\n%s", s)
	}
	k.key("unplug")
	k.waitFor("Plug in the key for Bob Byte (2 of 3)")
	// Then his own, pulled out at the touch, and plugged back in.
	k.key("fresh hold")
	k.waitFor("Touch the key now")
	k.key("unplug")
	k.waitFor("The key was pulled out. Plug it back in")
	k.key("auto plug")
	k.waitFor("Registered.")

	// 3. Cy: the kiosk is killed at the touch, and started again.
	k.key("unplug")
	k.waitFor("Plug in the key for Cy Cipher (3 of 3)")
	k.key("fresh hold")
	k.waitFor("Touch the key now")
	k.crash()
	exit := filepath.Join(dir, "exit")
	k = runKiosk(t, url, operator, dir, "key.json.3", "", append(flags, "; echo $? >"+exit+"; sleep 30")...)
	s = k.waitFor("Batch staff")
	if !strings.Contains(s, "1 to do · 2 staged · 0 failed") {
		t.Fatalf("the restarted kiosk does not go on with the batch:\n%s", s)
	}
	k.send("Enter")
	s = k.waitFor("This key is not empty")
	if !strings.Contains(s, "Cy Cipher (3 of 3)") || !strings.Contains(s, "ctrl+w wipe this key") {
		t.Fatalf("no wipe offered:\n%s", s)
	}
	k.send("Escape") // use another key instead: nothing is wiped
	k.waitFor("Unplug this key and plug in another one")
	k.key("unplug")
	k.waitFor("Plug in a new security key")
	k.key("plug")
	k.waitFor("This key is not empty")
	k.wipeAndStage()
	k.key("unplug")
	k.waitFor("nobody left to do here")
	if s = k.finishStaging(exit); !strings.Contains(s, "0 to do · 3 staged · 0 failed") {
		t.Fatalf("the end:\n%s", s)
	}

	// tapd: one key each, from this batch, the PIN change forced.
	b, err := admin.GetStagingBatch(bg, "staff")
	if err != nil || b.RegisteredCount != 3 {
		t.Fatalf("batch after the run: %+v %v", b, err)
	}
	for i := range staff {
		upn := staffUPN(i, domain)
		ms, err := admin.UserMethods(bg, upn)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.Type == api.TypeFIDO2 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d keys, want 1: %+v", upn, n, ms)
		}
	}
	// The manifest the kiosk wrote: three rows with serials and a forced
	// PIN change, mode 0600.
	man := filepath.Join(letters, "staff-manifest.csv")
	if fi, err := os.Stat(man); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest %v %v", fi, err)
	}
	f, _ := os.Open(man)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 4 {
		t.Fatalf("manifest rows %d %v", len(recs), err)
	}
	serials := map[string]bool{}
	for _, r := range recs[1:] {
		if r[3] != api.StagingRegistered || !strings.HasPrefix(r[8], "VK") || r[11] != "true" || r[9] == "" {
			t.Errorf("manifest row %v", r)
		}
		serials[r[8]] = true
	}
	if len(serials) != 3 {
		t.Errorf("serials not one per key: %v", serials)
	}

	if left, _ := filepath.Glob(filepath.Join(letters, ".pending", "*", "*")); len(left) != 0 {
		t.Errorf("letters left pending: %v", left)
	}
	// The letters: one each, 0600, and each PIN is the one on that
	// person's key (the key wants it changed: a wrong PIN would say so).
	pinRE := regexp.MustCompile(`(?m)^\s+((?:\d\s+){5}\d)\s*$`) // spaced out, under "Your PIN"
	for i, state := range []string{"key.json", "key.json.2", "key.json.3"} {
		letter := letterFor(t, letters, staffUPN(i, domain))
		found := pinRE.FindStringSubmatch(letter)
		if found == nil {
			t.Fatalf("no PIN in %s's letter:\n%s", staffUPN(i, domain), letter)
		}
		pin := strings.Join(strings.Fields(found[1]), "")
		path := plugState(t, filepath.Join(dir, state))
		err := fido.VerifyPIN(bg, path, pin)
		if !errors.Is(err, fido.ErrPINChangeRequired) {
			t.Errorf("%s's key with the letter's PIN: %v (want: the key asks for a new PIN)", staffUPN(i, domain), err)
		}
		for _, log := range []string{k.log, filepath.Join(dir, "kiosk.log")} {
			if b, _ := os.ReadFile(log); strings.Contains(string(b), pin) {
				t.Errorf("the kiosk log holds %s's PIN", staffUPN(i, domain))
			}
		}
	}
	// The audit names the operator.
	es, err := admin.Audit(bg, api.AuditQuery{Action: api.ActionRegisterFIDO2, Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range es {
		if e.Result == "success" && e.Actor.Name == "it-operator" {
			ok++
		}
	}
	if ok != 3 {
		t.Errorf("%d registrations audited as the operator's, want 3: %+v", ok, es)
	}
}

// letterFor reads the one letter naming upn in dir.
func letterFor(t *testing.T, dir, upn string) string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if strings.Contains(string(b), upn) {
			if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("letter %s has mode %o", e.Name(), fi.Mode().Perm())
			}
			return string(b)
		}
	}
	t.Fatalf("no letter for %s in %s", upn, dir)
	return ""
}

// plugState plugs the virtual key kept in state into this process.
func plugState(t *testing.T, state string) string {
	t.Helper()
	k, err := virtualkey.New(virtualkey.Options{StatePath: state, TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(t.TempDir())
	t.Cleanup(func() { hidroute.Unplug(name) })
	return hidroute.Plug(name, k)
}

// crash kills the kiosk with SIGKILL: no clean-up runs.
func (k *kioskRun) crash() {
	k.t.Helper()
	out, err := exec.Command("tmux", "list-panes", "-t", k.session, "-F", "#{pane_pid}").Output()
	if err != nil {
		k.t.Fatal(err)
	}
	pid := strings.TrimSpace(string(out))
	exec.Command("pkill", "-KILL", "-P", pid).Run()
	exec.Command("kill", "-KILL", pid).Run()
	k.stop()
}

func TestKioskStagingBatch(t *testing.T) {
	w := newWorld(t)
	for i, p := range staff[1:] {
		if _, err := w.admin.CreateUser(bg, api.User{UserPrincipalName: staffUPN(i+1, "example.com"), DisplayName: p.name}); err != nil {
			t.Fatal(err)
		}
	}
	op, err := w.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: "authenticationAdministrator"})
	if err != nil {
		t.Fatal(err)
	}
	stagingBatch(t, w.d.url, w.admin, op.Token, "example.com")
}

// TestKioskStagingBatchEntra: the same batch with tapd fronting Entra
// (the Graph simulator): the keys are written through Graph's FIDO2
// provisioning API, on the people's behalf.
func TestKioskStagingBatchEntra(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed for the kiosk journeys; `make test` installs it")
	}
	tn := newTenant(t)
	for i, p := range staff {
		tn.sim.AddUser(staffUPN(i, "contoso.com"), p.name, "Member", false)
	}
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	tok := initDB(t, db)
	d := startTapdEnv(t, tn.env, db, append(tn.flags, "--client-certificate", tn.certFile)...)
	admin := api.NewClient(d.url, tok)
	// tapd cannot see Entra's admin roles, so only a privileged
	// authentication administrator may act for people there.
	op, err := admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: "privilegedAuthenticationAdministrator"})
	if err != nil {
		t.Fatal(err)
	}
	stagingBatch(t, d.url, admin, op.Token, "contoso.com")
	if n := strings.Count(strings.Join(tn.sim.Requests, "\n"), "/authentication/fido2Methods\n"); n < 3 {
		t.Errorf("%d key writes reached Graph, want 3:\n%s", n, strings.Join(tn.sim.Requests, "\n"))
	}
}

// TestKioskStagingFromGroupTypedPINs: a batch made from a directory group,
// with PINs the operator types (so no letters), in Swedish: a weak PIN is
// refused once with the reason, then taken; the key holds that PIN.
func TestKioskStagingFromGroupTypedPINs(t *testing.T) {
	w := newWorld(t)
	if _, err := w.admin.CreateUser(bg, api.User{UserPrincipalName: "ida@example.com", DisplayName: "Ida Intern", Groups: []string{"Interns"}}); err != nil {
		t.Fatal(err)
	}
	op, err := w.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: "authenticationAdministrator"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exit := filepath.Join(dir, "exit")
	k := runKiosk(t, w.d.url, op.Token, dir, "key.json", "", "--staging", "--group", "Interns", "--pins", "typed", "--lang", "sv", "; echo $? >"+exit+"; sleep 30")
	s := k.waitFor("Omgång Interns")
	if !strings.Contains(s, "1 kvar") || !strings.Contains(s, "du skriver en för varje nyckel") {
		t.Fatalf("the overview:\n%s", s)
	}
	k.send("Enter")
	k.waitFor("Skriv PIN-koden för den här nyckeln")
	k.send("123456", "Tab", "123456", "Enter")
	k.waitFor("Den PIN-koden är lätt att gissa (den är en följd av tecken i rad)")
	k.send("Enter") // the operator insists
	s = k.waitFor("Registrerad.")
	if strings.Contains(s, "PIN-brev") {
		t.Fatalf("a letter with typed PINs:\n%s", s)
	}
	k.key("unplug")
	s = k.waitFor("ingen kvar att göra här")
	if !strings.Contains(s, "tapctl staging export Interns") {
		t.Fatalf("no word on the manifest without --manifest:\n%s", s)
	}
	k.send("Enter")
	if code := k.exitCode(exit); code != "0" {
		t.Fatalf("the staging kiosk's exit code: %s", code)
	}
	if err := fido.VerifyPIN(bg, plugState(t, filepath.Join(dir, "key.json")), "123456"); !errors.Is(err, fido.ErrPINChangeRequired) {
		t.Fatalf("the key with the typed PIN: %v", err)
	}
	b, err := w.admin.GetStagingBatch(bg, "Interns")
	if err != nil || b.RegisteredCount != 1 || b.Rows[0].UserPrincipalName != "ida@example.com" {
		t.Fatalf("the group's batch: %+v %v", b, err)
	}
}
