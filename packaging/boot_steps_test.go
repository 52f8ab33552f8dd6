package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The operator's later steps in TestBoot: PostgreSQL, an upgrade with a
// migration, a downgrade, the kiosk on a console, removal and purge.

// postgres: tapd.conf switched to a PostgreSQL (a throwaway cluster in the
// container) is the database tapd then uses; switched back, the SQLite
// data is as it was.
func (o *operator) postgres() {
	m, t := o.m, o.t
	m.must(`pg=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
install -d -o postgres -g postgres /var/tmp/pg
runuser -u postgres -- "$pg/initdb" -D /var/tmp/pg/data --auth=trust -U postgres >/dev/null
runuser -u postgres -- "$pg/pg_ctl" -D /var/tmp/pg/data -l /var/tmp/pg/log -w -o "-p 5433 -k /var/tmp/pg -c listen_addresses=127.0.0.1" start >/dev/null
psql -h 127.0.0.1 -p 5433 -U postgres -qc "CREATE ROLE tapkiosk LOGIN" -c "CREATE DATABASE tapd OWNER tapkiosk"`)
	const pgURL = "postgres://tapkiosk@127.0.0.1:5433/tapd?sslmode=disable"
	m.must(`sed -i 's|^db = .*|db = ` + pgURL + `|' /etc/tapkiosk/tapd.conf`)
	out := m.must("runuser -u tapkiosk -- tapd init --config /etc/tapkiosk/tapd.conf 2>&1")
	tok := regexp.MustCompile(`keep it safe:\s+(\S+)`).FindStringSubmatch(out)
	if tok == nil || !strings.Contains(out, "database postgres tapkiosk@127.0.0.1:5433/tapd (from file /etc/tapkiosk/tapd.conf:") {
		t.Fatalf("tapd init on PostgreSQL:\n%s", out)
	}
	m.write("/root/pg.token", []byte(tok[1]+"\n"), 0o600)
	m.must("systemctl restart tapd.service")
	o.waitTapdWith("/root/pg.token")
	m.must(tapctlEnv + "export TAPCTL_TOKEN_FILE=/root/pg.token; tapctl user add grace@example.com --name 'Grace Hopper'")
	if out := m.must(`psql -h 127.0.0.1 -p 5433 -U tapkiosk -d tapd -Atc "SELECT upn FROM users"`); strings.TrimSpace(out) != "grace@example.com" {
		t.Errorf("PostgreSQL's users after tapctl user add: %q", out)
	}
	if log := m.must("journalctl -u tapd.service -o cat | grep '\"msg\":\"store\"' | tail -1"); !strings.Contains(log, `"database":"postgres tapkiosk@127.0.0.1:5433/tapd","from":"file /etc/tapkiosk/tapd.conf:`) {
		t.Errorf("tapd's store line after the switch: %s", log)
	}
	m.must(`sed -i 's|^db = .*|db = sqlite:///var/lib/tapkiosk/tapd.db|' /etc/tapkiosk/tapd.conf && systemctl restart tapd.service`)
	o.waitTapd()
	if out := m.must(tapctlEnv + "tapctl user list"); !strings.Contains(out, "ada@example.com") || strings.Contains(out, "grace@") {
		t.Errorf("back on SQLite, tapctl user list: %s", out)
	}
}

// buildUpgrade builds tapkiosk-tapd 1.2.4+test, from a copy of this
// source with one more migration, into dir and returns the .deb. It runs
// beside the boot, so it reports rather than fails.
func buildUpgrade(dir string) (string, error) {
	src := filepath.Join(dir, "src")
	copySrc := exec.Command("bash", "-c", `mkdir "$0" && cd .. && git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$0"`, src)
	if out, err := copySrc.CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy the source: %v\n%s", err, out)
	}
	mig := "-- The boot test's upgrade: one migration past every real one.\nCREATE TABLE boot_test_upgrade (id INTEGER PRIMARY KEY);\n"
	if err := os.WriteFile(filepath.Join(src, "store/migrations/9999_boot_test_upgrade.sql"), []byte(mig), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(filepath.Join(src, "packaging/build.sh"))
	cmd.Env = append(os.Environ(), "OUT="+out, "VERSION=1.2.4+test", "FORMATS=deb", "PACKAGES=tapd")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the upgrade: %v\n%s", err, b)
	}
	return filepath.Join(out, "tapkiosk-tapd_1.2.4+test_amd64.deb"), nil
}

// upgrade: the newer package with one more migration; the running tapd
// goes on until restarted, is refused until tapd init, then serves the
// same data. The older package again is refused, naming both versions.
func (o *operator) upgrade(newer string) {
	m, t := o.m, o.t
	m.write("/root/pkgs/"+filepath.Base(newer), must(os.ReadFile(newer)), 0o644)
	install := "cd /root/pkgs && apt-get install -y --allow-downgrades -o Dpkg::Options::=--force-confold "
	m.must(install + "./tapkiosk-tapd_1.2.4+test_amd64.deb")
	m.must("systemctl restart tapd.service")
	o.journalSays("not initialised or is older than this tapd: run `tapd init` with the same settings")
	m.must("runuser -u tapkiosk -- tapd init --config /etc/tapkiosk/tapd.conf")
	m.must("systemctl restart tapd.service")
	o.waitTapd()
	if out := m.must(tapctlEnv + "tapctl user list"); !strings.Contains(out, "ada@example.com") {
		t.Errorf("after the upgrade, tapctl user list: %s", out)
	}

	m.must(install + "./tapkiosk-tapd_1.2.3+test_amd64.deb")
	m.must("systemctl restart tapd.service")
	o.journalSays("the database is at migration 9999, and this tapd knows migrations up to ")
	if out := m.fails("runuser -u tapkiosk -- tapd init --config /etc/tapkiosk/tapd.conf 2>&1"); !strings.Contains(out, "the database is at migration 9999") {
		t.Errorf("the older tapd init: %s", out)
	}
	// Forward again, for the kiosk.
	m.must(install + "./tapkiosk-tapd_1.2.4+test_amd64.deb && systemctl restart tapd.service")
	o.waitTapd()
}

// journalSays waits for tapd's journal to say want since the last
// restart.
func (o *operator) journalSays(want string) {
	o.t.Helper()
	var log string
	for range 100 {
		log, _ = o.m.sh("journalctl -u tapd.service -o cat --since=-20s")
		if strings.Contains(log, want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	o.t.Fatalf("tapd's journal does not say %q:\n%s", want, log)
}

// kiosk: the kiosk unit on a console (a tmux pane's terminal: a container
// has no virtual consoles) with its token and admin code as credentials.
// A missing admin code is named.
func (o *operator) kiosk() (unit string) {
	m, t := o.m, o.t
	m.must(`sed -i 's|^server = .*|server = https://localhost:8443|; s|^# ca-file = .*|ca-file = ` + caFile + `|' /etc/tapkiosk/kiosk.conf`)
	m.must(tapctlEnv + `install -m 0600 /dev/null /etc/tapkiosk/kiosk.token && tapctl kiosk add lobby-1 --json | sed -E 's/.*"token": *"([^"]+)".*/\1/;t;d' > /etc/tapkiosk/kiosk.token && test -s /etc/tapkiosk/kiosk.token`)
	// A private tmux server (its socket in the container's /run): the
	// pane's terminal stands in for tty1. Its shell ignores the hangup the
	// unit's TTYVHangup= sends, so the terminal outlives it.
	const tmux = "tmux -S /run/tapkiosk-boot.tmux "
	tty := strings.TrimSpace(m.must(tmux + `new-session -d -s console -x 100 -y 30 "trap '' HUP; exec sleep infinity" && ` +
		tmux + "set-option -g remain-on-exit on >/dev/null && " + tmux + "display -p -t console '#{pane_tty}'"))
	unit = strings.TrimSpace(m.must("systemd-escape --template tapkiosk-kiosk@.service " + strings.TrimPrefix(tty, "/dev/")))
	// As deploy.md says, but before the admin code is there.
	out := m.fails("systemctl enable --now " + unit + " 2>&1")
	if status, _ := m.sh("systemctl status --no-pager " + unit); !strings.Contains(status, "AssertFileNotEmpty=/etc/tapkiosk/admin.code was not met") {
		t.Errorf("without admin.code: %s\n%s", out, status)
	}
	m.must("install -m 0600 /dev/null /etc/tapkiosk/admin.code && echo 4711-boot > /etc/tapkiosk/admin.code")
	m.must("systemctl start " + unit)
	var screen string
	for range 100 {
		screen, _ = m.sh(tmux + "capture-pane -p -t console")
		if strings.Contains(screen, "Contoso") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	state := m.must("systemctl show -p ActiveState -p User -p MainPID " + unit)
	if !strings.Contains(screen, "Contoso") || !strings.Contains(state, "ActiveState=active") {
		log, _ := m.sh("journalctl -u " + unit + " -o cat; cat /var/log/tapkiosk-kiosk/kiosk.log")
		t.Fatalf("the kiosk on %s: %s\nscreen:\n%s\n%s", tty, state, screen, log)
	}
	if who := m.must("ps -o user= -p $(systemctl show -p MainPID --value " + unit + ")"); strings.TrimSpace(who) != "tapkiosk-kiosk" {
		t.Errorf("the kiosk runs as %q", who)
	}
	return unit
}

// removeAndPurge: removal stops what it removes and keeps the data;
// purge removes what docs/deploy.md says and keeps the users.
func (o *operator) removeAndPurge(kioskUnit string) {
	m, t := o.m, o.t
	uids := m.must("id -u tapkiosk; id -u tapkiosk-kiosk")
	wants := "/etc/systemd/system/getty.target.wants/" + kioskUnit
	if !m.exists(wants) || !m.exists("/etc/systemd/system/multi-user.target.wants/tapd.service") {
		t.Fatalf("the enable links are not where the test looks: %v", m.must("ls -l /etc/systemd/system/*.wants/"))
	}
	m.must("apt-get remove -y tapkiosk-kiosk")
	if s, _ := m.sh("systemctl is-active " + kioskUnit); strings.TrimSpace(s) == "active" {
		t.Errorf("removing the kiosk left %s running", kioskUnit)
	}
	m.must("apt-get remove -y tapkiosk-tapd")
	if s, _ := m.sh("systemctl is-active tapd.service"); strings.TrimSpace(s) == "active" {
		t.Error("removing tapd left it running")
	}
	for _, p := range []string{"/var/lib/tapkiosk/tapd.db", "/etc/tapkiosk/kiosk.token", "/etc/tapkiosk/credentials/tls-key", "/etc/tapkiosk/tapd.conf"} {
		if !m.exists(p) {
			t.Errorf("removal (not purge) took %s", p)
		}
	}
	m.must("apt-get purge -y tapkiosk-kiosk tapkiosk-tapd")
	for _, p := range []string{"/var/lib/tapkiosk", "/var/log/tapkiosk", "/var/log/tapkiosk-kiosk", "/etc/tapkiosk", wants,
		"/etc/systemd/system/multi-user.target.wants/tapd.service"} {
		if m.exists(p) {
			t.Errorf("purge left %s", p)
		}
	}
	if after := m.must("id -u tapkiosk; id -u tapkiosk-kiosk"); after != uids {
		t.Errorf("purge changed the users: %q, then %q", uids, after)
	}
	if out := m.must("dpkg -l 'tapkiosk-*' 2>&1 | grep tapkiosk || true"); strings.Contains(out, "ii ") || strings.Contains(out, "rc ") {
		t.Errorf("dpkg still lists: %s", out)
	}
}
