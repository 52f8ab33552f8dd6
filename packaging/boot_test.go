package packaging

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBoot installs the packages on a container booted under a real
// systemd and operates them as docs/deploy.md says, checking what an
// operator would see at each step.
func TestBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the boot test builds packages and boots a container")
	}
	m := newMachine(t)
	before := time.Now()
	build(t)
	t.Logf("build: %.1fs", time.Since(before).Seconds())
	// The upgrade's build runs while the container boots and the first
	// steps go on.
	type result struct {
		deb string
		err error
	}
	upgradeDir := t.TempDir()
	upgraded := make(chan result, 1)
	go func() {
		deb, err := buildUpgrade(upgradeDir)
		upgraded <- result{deb, err}
	}()
	t.Cleanup(func() { <-upgraded }) // before upgradeDir goes
	for _, deb := range built.debs {
		m.write("/root/pkgs/"+filepath.Base(deb), must(os.ReadFile(deb)), 0o644)
	}
	// Each apt run would rebuild man-db's index of every manual page
	// (its trigger); the container's copy need not, and is faster without.
	if err := os.Remove(filepath.Join(m.root, "var/lib/man-db/auto-update")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	start := time.Now()
	step := func(name string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), name) }
	step("packages built")
	m.boot()
	step("booted")
	op := &operator{m: m, t: t}
	op.install()
	op.firstStart()
	op.tapctl()
	step("installed, first start, tapctl")
	op.postgres()
	step("PostgreSQL and back")
	up := <-upgraded
	upgraded <- up
	if up.err != nil {
		t.Fatal(up.err)
	}
	step("upgrade built")
	op.upgrade(up.deb)
	step("upgraded, downgraded, upgraded")
	unit := op.kiosk()
	step("kiosk on the console")
	op.removeAndPurge(unit)
	step("removed and purged")
}

// operator is the person following docs/deploy.md in the container.
type operator struct {
	m     *machine
	t     *testing.T
	token string // the first admin token, from tapd init
}

// tapctlEnv points tapctl at tapd over TLS with the first admin token.
const tapctlEnv = "export TAPCTL_SERVER=https://localhost:8443 TAPCTL_CA_FILE=" + caFile + " TAPCTL_TOKEN_FILE=/root/admin.token; "

// caFile is tapd's certificate, which is its own CA, for tapctl and the
// kiosk (outside /etc/tapkiosk, so that purge's leftovers are the
// packages' alone).
const caFile = "/etc/ssl/tapd-ca.pem"

// install: both packages, as apt installs them (recommends off: the
// container has no network, and udev, the one recommended, is not needed
// without keys). postinst makes the users and the state folder.
func (o *operator) install() {
	m, t := o.m, o.t
	m.must("cd /root/pkgs && apt-get install -y --no-install-recommends ./tapkiosk-tapd_1.2.3+test_amd64.deb ./tapkiosk-kiosk_1.2.3+test_amd64.deb")
	out := m.must("getent passwd tapkiosk tapkiosk-kiosk | cut -d: -f1,6,7; stat -c '%U:%G %a %n' /var/lib/tapkiosk /etc/tapkiosk/credentials /etc/tapkiosk/tapd.conf /etc/tapkiosk/kiosk.conf")
	for _, want := range []string{"tapkiosk:/var/lib/tapkiosk:/usr/sbin/nologin", "tapkiosk-kiosk:/nonexistent:/usr/sbin/nologin",
		"tapkiosk:tapkiosk 700 /var/lib/tapkiosk", "root:root 700 /etc/tapkiosk/credentials", "root:tapkiosk 640 /etc/tapkiosk/tapd.conf",
		"root:tapkiosk-kiosk 640 /etc/tapkiosk/kiosk.conf"} {
		if !strings.Contains(out, want) {
			t.Errorf("after install, want %q in:\n%s", want, out)
		}
	}
	if s := m.must("systemctl is-enabled tapd.service || true"); strings.TrimSpace(s) != "disabled" {
		t.Errorf("tapd.service is %q after install; the docs enable it after tapd init", s)
	}
}

// firstStart: TLS from LoadCredential=, tapd init as the service user with
// tapd.conf, then the unit; tapd logs which database and why.
func (o *operator) firstStart() {
	m, t := o.m, o.t
	cert, key := selfSigned(t)
	m.write("/etc/tapkiosk/credentials/tls-cert", cert, 0o600)
	m.write("/etc/tapkiosk/credentials/tls-key", key, 0o600)
	m.write(caFile, cert, 0o644)
	m.must("printf 'metrics-listen = 127.0.0.1:9443\\n' >> /etc/tapkiosk/tapd.conf")
	out := m.must("runuser -u tapkiosk -- tapd init --config /etc/tapkiosk/tapd.conf 2>&1")
	tok := regexp.MustCompile(`keep it safe:\s+(\S+)`).FindStringSubmatch(out)
	if tok == nil || !strings.Contains(out, "database sqlite /var/lib/tapkiosk/tapd.db (from file /etc/tapkiosk/tapd.conf:") {
		t.Fatalf("tapd init as documented:\n%s", out)
	}
	o.token = tok[1]
	m.write("/root/admin.token", []byte(o.token+"\n"), 0o600)
	// The same, without --config, as the service user: refused, and no
	// second database under its home.
	out = m.fails("runuser -u tapkiosk -- tapd init 2>&1")
	if !strings.Contains(out, "tapd init --config /etc/tapkiosk/tapd.conf") || m.exists("/var/lib/tapkiosk/.local") {
		t.Errorf("tapd init without a database named: %s (a .local made: %v)", out, m.exists("/var/lib/tapkiosk/.local"))
	}
	m.must("systemctl enable --now tapd.service")
	o.waitTapd()
	log := m.must("journalctl -u tapd.service -o cat")
	if !regexp.MustCompile(`"msg":"store","database":"sqlite /var/lib/tapkiosk/tapd.db","from":"file /etc/tapkiosk/tapd.conf:\d+"`).MatchString(log) {
		t.Errorf("tapd does not log which database and why:\n%s", log)
	}
	if !strings.Contains(log, `"url":"https://127.0.0.1:8443"`) {
		t.Errorf("tapd does not serve TLS from its credentials:\n%s", log)
	}
	// The metrics, under the unit's hardening, have the process's start.
	if out := m.must("curl -fsS --cacert " + caFile + " https://localhost:9443/metrics"); !strings.Contains(out, "process_start_time_seconds ") {
		t.Errorf("no process_start_time_seconds under tapd.service:\n%.2000s", out)
	}
}

// waitTapd waits until tapd.service answers tapctl.
func (o *operator) waitTapd() {
	o.t.Helper()
	o.waitTapdWith("/root/admin.token")
}

// waitTapdWith waits until tapd.service answers tapctl with this token.
func (o *operator) waitTapdWith(tokenFile string) {
	o.t.Helper()
	var out string
	var err error
	for range 100 {
		if out, err = o.m.sh(tapctlEnv + "TAPCTL_TOKEN_FILE=" + tokenFile + " tapctl policy show"); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	status, _ := o.m.sh("systemctl status --no-pager -n 30 tapd.service")
	o.t.Fatalf("tapd did not answer tapctl: %v\n%s\n%s", err, out, status)
}

// tapctl: an admin's first steps, over TLS with the first token.
func (o *operator) tapctl() {
	m, t := o.m, o.t
	m.must(tapctlEnv + "tapctl policy set --state enabled --default-lifetime 60 --max-lifetime 8h && tapctl user add ada@example.com --name 'Ada Lovelace'")
	if out := m.must(tapctlEnv + "tapctl user list"); !strings.Contains(out, "ada@example.com") {
		t.Errorf("tapctl user list: %s", out)
	}
}

// selfSigned is a certificate for localhost and 127.0.0.1 that is its
// own CA, and its key, in PEM.
func selfSigned(t *testing.T) (cert, key []byte) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}
