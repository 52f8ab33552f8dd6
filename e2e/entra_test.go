package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// tenant is a simulated Entra tenant that a tapd binary can reach: the
// simulator's TLS certificate is handed to tapd through SSL_CERT_FILE.
type tenant struct {
	sim      *graphsim.Sim
	env      []string
	certFile string // the app's certificate and key, registered
	secret   string
	flags    []string
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	sim := graphsim.New()
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "sim-ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sim.Server.Certificate().Raw}), 0o600)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tapd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	pk8, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile := filepath.Join(dir, "tapd-app.pem")
	os.WriteFile(certFile, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk8})...), 0o600)

	tn := &tenant{sim: sim, env: []string{"SSL_CERT_FILE=" + ca}, certFile: certFile, secret: "s3cret-Value~do-not-print"}
	sim.RegisterApp("contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", tn.secret, cert)
	tn.flags = []string{"--directory", "entra", "--tenant-id", "contoso.onmicrosoft.com", "--client-id", "11111111-2222-3333-4444-555555555555",
		"--graph-url", sim.URL(), "--authority-host", sim.AuthorityHost()}
	return tn
}

// serveOnce runs tapd serve expecting it to stop at start-up; it returns
// the output and exit code.
func (tn *tenant) serveOnce(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	initDB(t, db)
	cmd := exec.Command(filepath.Join(bin, "tapd"), append([]string{"serve", "--db", db, "--listen", freeAddr(t)}, args...)...)
	cmd.Env = append(append(os.Environ(), tn.env...), env...)
	done := make(chan struct{})
	time.AfterFunc(90*time.Second, func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code == 0 {
		t.Fatalf("tapd served although it should have refused to start:\n%s", out)
	}
	return string(out), code
}

// TestEntraStartup: tapd serve --directory entra stops at start-up with a
// sentence that says what is wrong, and never prints the secret.
func TestEntraStartup(t *testing.T) {
	tn := newTenant(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("wrong-secret\n"), 0o600)
	open := filepath.Join(t.TempDir(), "open-secret")
	os.WriteFile(open, []byte(tn.secret+"\n"), 0o644)
	good := filepath.Join(t.TempDir(), "good-secret")
	os.WriteFile(good, []byte(tn.secret+"\n"), 0o600)

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no credential", tn.flags, 2, "needs a credential"},
		{"no tenant", []string{"--directory", "entra", "--client-secret-file", good}, 2, "--tenant-id is required"},
		{"two credentials", append(tn.flags, "--client-secret-file", good, "--managed-identity"), 2, "only one of"},
		{"plain-http graph", append(tn.flags[:6:6], "--graph-url", "http://graph.example", "--client-secret-file", good), 2, "must be an https:// URL"},
		{"readable secret", append(tn.flags, "--client-secret-file", open), 1, "chmod 600"},
		{"missing cert file", append(tn.flags, "--client-certificate", "/nonexistent.pem"), 1, "--client-certificate"},
		{"wrong secret", append(tn.flags, "--client-secret-file", secretFile), 1, "AADSTS7000215"},
		{"wrong tenant", []string{"--directory", "entra", "--tenant-id", "fabrikam.example", "--client-id", "x",
			"--graph-url", tn.sim.URL(), "--authority-host", tn.sim.AuthorityHost(), "--client-secret-file", good}, 1, "AADSTS90002"},
		{"unknown app", []string{"--directory", "entra", "--tenant-id", "contoso.onmicrosoft.com", "--client-id", "99999999-0000-0000-0000-000000000000",
			"--graph-url", tn.sim.URL(), "--authority-host", tn.sim.AuthorityHost(), "--client-secret-file", good}, 1, "AADSTS700016"},
	}
	for _, c := range cases {
		out, code := tn.serveOnce(t, nil, c.args...)
		t.Logf("%s: %s", c.name, out)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", c.name, code, c.code, c.want, out)
		}
		if strings.Contains(out, tn.secret) || strings.Contains(out, "wrong-secret") {
			t.Errorf("%s: the secret was printed:\n%s", c.name, out)
		}
	}

	// Signed in, but without the permission to read the policies.
	tn.sim.FailMatching("GET /v1.0/policies/", 1, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", 0)
	out, _ := tn.serveOnce(t, nil, append(tn.flags, "--client-certificate", tn.certFile)...)
	if !strings.Contains(out, "Policy.Read.AuthenticationMethod") {
		t.Errorf("missing permission:\n%s", out)
	}
	// Graph unreachable.
	dead := append(append([]string{}, tn.flags[:6]...), "--graph-url", "https://"+freeAddr(t)+"/v1.0", "--authority-host", tn.sim.AuthorityHost(), "--client-certificate", tn.certFile)
	out, _ = tn.serveOnce(t, nil, dead...)
	if !strings.Contains(out, "unavailable") {
		t.Errorf("dead Graph:\n%s", out)
	}

	// Each credential kind that is right starts tapd.
	for name, extra := range map[string][]string{
		"certificate": {"--client-certificate", tn.certFile},
		"secret":      {"--client-secret-file", good},
	} {
		db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
		initDB(t, db)
		d := startTapdEnv(t, tn.env, db, append(tn.flags, extra...)...)
		if !strings.Contains(d.logs.String(), `"directory ready"`) {
			t.Errorf("%s: %s", name, d.logs)
		}
		d.stop(t)
	}
	tn.sim.EnableManagedIdentity("mi-header-value")
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	initDB(t, db)
	d := startTapdEnv(t, append(tn.env, "IDENTITY_ENDPOINT="+tn.sim.Server.URL+"/msi/token", "IDENTITY_HEADER=mi-header-value"), db,
		"--directory", "entra", "--managed-identity", "--graph-url", tn.sim.URL())
	d.stop(t)
	if strings.Contains(d.logs.String(), tn.secret) || strings.Contains(d.logs.String(), tn.sim.Token) {
		t.Fatal("a secret reached tapd's log")
	}
}

// needTmux stops a kiosk journey where tmux is missing.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed for the kiosk journeys; `make test` installs it")
	}
}

// serve starts tapd in Entra mode over the tenant, signed in with the
// app's certificate, on a fresh database; it returns tapd, its database
// and an admin client.
func (tn *tenant) serve(t *testing.T) (*tapd, string, *api.Client) {
	t.Helper()
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	tok := initDB(t, db)
	d := startTapdEnv(t, tn.env, db, append(tn.flags, "--client-certificate", tn.certFile)...)
	return d, db, api.NewClient(d.url, tok)
}

// toTouch signs in at the walk-up kiosk, sets the key's PIN and takes the
// default name, which starts the registration.
func (k *kioskRun) toTouch(upn, pass string) {
	k.t.Helper()
	k.signIn(upn, pass)
	k.newPIN()
	k.send("Enter")
}

// TestEntraKioskJourney: the real kiosk, in a real terminal, registers a
// key through real libfido2 into the simulated tenant, through tapd in
// Entra mode, and cleans up there.
func TestEntraKioskJourney(t *testing.T) {
	needTmux(t)
	tn := newTenant(t)
	upn := "ada@contoso.com"
	uid := tn.sim.AddUser(upn, "Ada Lovelace", "Member", false)
	tn.sim.AddMethod(uid, "phone", "+46 70 000 00 00")
	d, db, admin := tn.serve(t)
	k, err := admin.CreateKiosk(bg, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	// IT's side through tapctl: the tenant's policy, labelled as such;
	// users are Entra's to manage; the pass value is shown once.
	tokFile := writeFile(t, "admin.token", admin.Token)
	out, _, code := tapctl(t, d.url, tokFile, "policy", "show")
	if code != 0 || !strings.Contains(out, "Entra tenant's Temporary Access Pass policy") {
		t.Fatalf("policy show (%d):\n%s", code, out)
	}
	_, errOut, code := tapctl(t, d.url, tokFile, "user", "add", "bo@contoso.com", "--name", "Bo")
	if code == 0 || !strings.Contains(errOut, "managed in Entra") {
		t.Fatalf("user add in Entra mode (%d): %s", code, errOut)
	}
	out, _, code = tapctl(t, d.url, tokFile, "tap", "create", upn, "--json")
	if code != 0 {
		t.Fatalf("tap create (%d): %s", code, out)
	}
	var p api.TemporaryAccessPassMethod
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.TemporaryAccessPass == nil {
		t.Fatalf("tap create printed %s", out)
	}
	w := &world{t: t, d: d, db: db, admin: admin, upn: upn, kiosk: k}
	run := w.startKiosk()
	run.toTouch(upn, *p.TemporaryAccessPass)
	run.waitFor("Your key is registered")
	run.send("Enter")
	run.noBackup()
	run.waitFor("Remove what you lost")
	run.waitFor("+46 •• ••• •• 00") // Entra's phone number, masked
	run.send("Space", "Enter")      // the kiosk's clean-up: mark, Enter, then Y
	run.waitFor("Press Y to remove")
	run.send("y")
	run.waitFor(`Removed: Phone "+46 •• ••• •• 00"`)
	run.send("Enter")
	run.waitFor("Delete your Temporary Access Pass?")
	run.send("Enter")
	s := run.waitFor("All done")
	for _, want := range []string{"Checked that it works", "Removed 1 old method", "Deleted your Temporary Access Pass"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// What Entra now holds: the new key, no phone, no pass.
	ms, err := admin.UserMethods(bg, upn)
	if err != nil || len(ms) != 1 || ms[0].Type != api.TypeFIDO2 {
		t.Fatalf("methods in Entra after the journey: %+v %v", ms, err)
	}
	if !strings.Contains(strings.Join(tn.sim.Requests, "\n"), "POST /v1.0/users/"+uid+"/authentication/fido2Methods") {
		t.Fatal("the key never reached Graph")
	}
}

// TestEntraStagingToKeyCheck: IT stages a key through the real staging
// kiosk into the simulated tenant; the screen and the PIN letter say the
// key is live at once; then the person, with a pass, gets the key check
// of that staged key through the real tapd (issue 20, items 1 and 7).
func TestEntraStagingToKeyCheck(t *testing.T) {
	needTmux(t)
	tn := newTenant(t)
	upn := "ada@contoso.com"
	uid := tn.sim.AddUser(upn, "Ada Lovelace", "Member", false)
	d, _, admin := tn.serve(t)
	op, err := admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "it-operator", Role: "privilegedAuthenticationAdministrator"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "lab.csv")
	os.WriteFile(csvFile, []byte("upn,displayName,keyName\n"+upn+",Ada Lovelace,Ada's key\n"), 0o600)
	letters := filepath.Join(dir, "letters")
	// No forced PIN change, so the letter's PIN answers the key check.
	k := runKiosk(t, d.url, op.Token, dir, "key.json", "", "--staging", "--csv", csvFile, "--letters", letters, "--force-pin-change=false", "--touch-timeout", "30s")
	k.waitFor("Batch lab")
	k.send("Enter")
	s := strings.Join(strings.Fields(k.waitFor("Registered.")), " ")
	if !strings.Contains(s, "keep it locked away until you hand it over") {
		t.Errorf("the staged screen does not say the key is live at once:\n%s", k.screen())
	}
	k.key("unplug")
	k.waitFor("nobody left to do here")
	k.stop()
	letter := letterFor(t, letters, upn)
	if !strings.Contains(strings.Join(strings.Fields(letter), " "), "from the moment IT set it up") {
		t.Errorf("the letter does not say the key was live at once:\n%s", letter)
	}
	found := regexp.MustCompile(`(?m)^\s+((?:\d\s+){5}\d)\s*$`).FindStringSubmatch(letter)
	if found == nil {
		t.Fatalf("no PIN in the letter:\n%s", letter)
	}
	pin := strings.Join(strings.Fields(found[1]), "")
	if !strings.Contains(strings.Join(tn.sim.Requests, "\n"), "POST /v1.0/users/"+uid+"/authentication/fido2Methods") {
		t.Fatalf("the staged key did not reach Graph by object id:\n%s", strings.Join(tn.sim.Requests, "\n"))
	}

	// Later, the person at a kiosk: the staged key passes the key check.
	p, err := admin.CreatePass(bg, upn, api.CreatePassRequest{})
	if err != nil {
		t.Fatal(err)
	}
	kiosk, err := admin.CreateKiosk(bg, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	kc := api.NewClient(d.url, kiosk.Token)
	if _, err := kc.OpenSession(bg, upn, *p.TemporaryAccessPass); err != nil {
		t.Fatal(err)
	}
	ms, err := kc.SessionMethods(bg)
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, m := range ms {
		if m.Type == api.TypeFIDO2 {
			id = m.ID
		}
	}
	if id == "" {
		t.Fatalf("no staged key among %+v", ms)
	}
	path := plugState(t, filepath.Join(dir, "key.json"))
	opts, err := kc.AssertionOptions(bg, id)
	if err != nil {
		t.Fatalf("the staged key's check: %v", err)
	}
	as, err := fido.Assert(bg, path, fido.AssertRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingPartyID, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(as)
	if kr, err := kc.CheckKey(bg, id, raw); err != nil || !kr.Verified {
		t.Fatalf("the staged key's check: %+v %v", kr, err)
	}
}

// TestEntraKioskPasskeyProfiles: the walk-up journey in a tenant with
// passkey profiles, returned only under $expand: while the person's only
// profile forbids the key model the kiosk says so before anything is
// written; once a profile that allows it applies, the same key registers,
// audited with the profile that allowed it (issue 20, items 3 and 8).
func TestEntraKioskPasskeyProfiles(t *testing.T) {
	needTmux(t)
	tn := newTenant(t)
	upn := "ada@contoso.com"
	uid := tn.sim.AddUser(upn, "Ada Lovelace", "Member", false)
	vk := uuid.UUID(virtualkey.DefaultAAGUID).String()
	const def, kiosk = "00000000-0000-0000-0000-000000000001", "6f1967b7-15e8-4935-ac26-d50770ed07a7"
	tn.sim.ProfilesByExpand = true
	tn.sim.DefaultPasskeyProfile = def
	tn.sim.PasskeyProfiles = []map[string]any{
		{"id": def, "name": "Default passkey profile", "passkeyTypes": "deviceBound,synced", "attestationEnforcement": "disabled",
			"keyRestrictions": map[string]any{"isEnforced": true, "enforcementType": "block", "aaGuids": []string{vk}}},
		{"id": kiosk, "name": "Kiosk keys", "passkeyTypes": "deviceBound", "attestationEnforcement": "disabled",
			"keyRestrictions": map[string]any{"isEnforced": true, "enforcementType": "allow", "aaGuids": []string{vk}}},
	}
	tn.sim.FIDO2Targets = []map[string]any{{"targetType": "group", "id": "all_users", "allowedPasskeyProfiles": []string{}}}
	d, db, admin := tn.serve(t)
	k, err := admin.CreateKiosk(bg, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	p, err := admin.CreatePass(bg, upn, api.CreatePassRequest{})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, d: d, db: db, admin: admin, upn: upn, kiosk: k}
	run := w.startKiosk()
	run.toTouch(upn, *p.TemporaryAccessPass)
	run.waitFor("Your organisation does not allow this key")
	if strings.Contains(strings.Join(tn.sim.Requests, "\n"), "POST /v1.0/users/"+uid+"/authentication/fido2Methods") {
		t.Fatal("a key the person's profile forbids was sent to Graph")
	}
	// IT lets everyone use the Kiosk keys profile; the same key, again.
	tn.sim.FIDO2Targets = []map[string]any{{"targetType": "group", "id": "all_users", "allowedPasskeyProfiles": []string{def, kiosk}}}
	run.send("Enter")
	run.waitFor("Your key is registered")
	run.stop()
	es, err := admin.Audit(bg, api.AuditQuery{Action: api.ActionRegisterFIDO2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Result+"/"+e.ResultReason+"/"+e.Details["passkeyProfile"])
	}
	if !slices.Contains(got, "failure/keyRestricted/") || !slices.Contains(got, "success//Kiosk keys") {
		t.Fatalf("audit %q", got)
	}
}
