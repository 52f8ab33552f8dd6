// Package packaging holds the .deb and .rpm definitions (nfpm), the
// systemd units, the udev rule and the shipped config; its test builds the
// packages with build.sh and inspects them as an installer would see them.
package packaging

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// built is build.sh's output for the whole test binary: one build.
var built struct {
	dir  string
	debs map[string]string // package name -> .deb path
	rpms map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func build(t *testing.T) {
	t.Helper()
	if built.dir != "" {
		return
	}
	dir, err := os.MkdirTemp("", "tapkiosk-packages-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./build.sh")
	cmd.Env = append(os.Environ(), "OUT="+dir, "VERSION=1.2.3+test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	built.dir, built.debs, built.rpms = dir, map[string]string{}, map[string]string{}
	for _, p := range []string{"tapkiosk-tapd", "tapkiosk-kiosk"} {
		built.debs[p] = filepath.Join(dir, p+"_1.2.3+test_amd64.deb")
		rpms, _ := filepath.Glob(filepath.Join(dir, p+"-1.2.3+test-1.*.rpm"))
		if len(rpms) == 1 {
			built.rpms[p] = rpms[0]
		}
	}
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// contents is dpkg-deb -c as path -> mode string (drwx------ ...).
func contents(t *testing.T, deb string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(dpkgDeb(t, "-c", deb), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 {
			out[strings.TrimPrefix(strings.TrimSuffix(f[5], "/"), ".")] = f[0] + " " + f[1]
		}
	}
	return out
}

// checkFiles checks the .deb's files have the modes and owners wanted, and
// returns its whole listing.
func checkFiles(t *testing.T, deb string, want map[string]string) map[string]string {
	t.Helper()
	files := contents(t, deb)
	for path, mode := range want {
		if files[path] != mode {
			t.Errorf("%s: %q, want %q", path, files[path], mode)
		}
	}
	return files
}

// extract unpacks a .deb into a fresh folder.
func extract(t *testing.T, deb string) string {
	dir := t.TempDir()
	dpkgDeb(t, "-x", deb, dir)
	return dir
}

func TestTapdPackage(t *testing.T) {
	build(t)
	deb := built.debs["tapkiosk-tapd"]
	files := checkFiles(t, deb, map[string]string{
		"/usr/bin/tapd":                          "-rwxr-xr-x root/root",
		"/usr/bin/tapctl":                        "-rwxr-xr-x root/root",
		"/usr/lib/systemd/system/tapd.service":   "-rw-r--r-- root/root",
		"/etc/tapkiosk/tapd.conf":                "-rw-r----- root/root",
		"/etc/tapkiosk/credentials":              "drwx------ root/root",
		"/usr/share/doc/tapkiosk-tapd/deploy.md": "-rw-r--r-- root/root",
	})
	for p := range files {
		if strings.Contains(p, "kiosk@") || strings.HasSuffix(p, "/kiosk") {
			t.Errorf("the tapd package holds %s", p)
		}
	}
	if v := dpkgDeb(t, "-f", deb, "Version", "Architecture", "Depends"); !strings.Contains(v, "Version: 1.2.3+test") ||
		!strings.Contains(v, "Architecture: amd64") || !strings.Contains(v, "Depends: passwd") || strings.Contains(v, "libfido2") {
		t.Errorf("control: %s", v)
	}
	info := dpkgDeb(t, "-I", deb)
	for _, s := range []string{"conffiles", "postinst", "prerm", "postrm"} {
		if !strings.Contains(info, " "+s) {
			t.Errorf("no %s in the control archive:\n%s", s, info)
		}
	}
	dir := extract(t, deb)
	ctrl := t.TempDir()
	dpkgDeb(t, "-e", deb, ctrl)
	if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/tapkiosk/tapd.conf" {
		t.Errorf("conffiles: %q", b)
	}
	postinst, _ := os.ReadFile(filepath.Join(ctrl, "postinst"))
	for _, want := range []string{"groupadd --system tapkiosk", "useradd --system --gid tapkiosk", "/usr/sbin/nologin", "install -d -m 0700 -o root -g root /etc/tapkiosk/credentials",
		"install -d -m 0700 -o tapkiosk -g tapkiosk /var/lib/tapkiosk", "deb-systemd-helper update-state tapd.service"} {
		if !strings.Contains(string(postinst), want) {
			t.Errorf("postinst lacks %q", want)
		}
	}
	checkScripts(t, ctrl)
	// Static, pure Go: no interpreter, no shared libraries.
	for _, b := range []string{"tapd", "tapctl"} {
		f, err := elf.Open(filepath.Join(dir, "usr/bin", b))
		if err != nil {
			t.Fatal(err)
		}
		libs, _ := f.ImportedLibraries()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has an ELF interpreter: not static", b)
			}
		}
		if len(libs) > 0 {
			t.Errorf("%s links %v", b, libs)
		}
		f.Close()
	}
	if out, err := exec.Command(filepath.Join(dir, "usr/bin/tapd"), "serve", "-h").CombinedOutput(); !strings.Contains(string(out), "-metrics-listen") {
		t.Errorf("the packaged tapd does not run: %v %s", err, out)
	}
	// The shipped config is one tapd serve accepts (nothing but the db
	// is missing: tapd init has not run).
	conf := strings.ReplaceAll(string(must(os.ReadFile(filepath.Join(dir, "etc/tapkiosk/tapd.conf")))), "sqlite:///var/lib/tapkiosk/tapd.db",
		"sqlite://"+filepath.Join(t.TempDir(), "tapd.db"))
	confPath := filepath.Join(t.TempDir(), "tapd.conf")
	os.WriteFile(confPath, []byte(conf), 0o600)
	cmd := exec.Command(filepath.Join(dir, "usr/bin/tapd"), "serve", "--config", confPath, "--listen", "127.0.0.1:0")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "run `tapd init") {
		t.Errorf("tapd with the shipped config: %s", out)
	}

	unit := filepath.Join(dir, "usr/lib/systemd/system/tapd.service")
	verify(t, unit, dir, "tapd.service")
	security(t, unit, dir, "tapd.service", 2.0)
	text := string(must(os.ReadFile(unit)))
	for _, want := range []string{"User=tapkiosk", "StateDirectory=tapkiosk", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"PrivateDevices=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "LoadCredential=tapd:/etc/tapkiosk/credentials",
		"CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"} {
		if !strings.Contains(text, want) {
			t.Errorf("tapd.service lacks %q", want)
		}
	}
	// The config file names the database: an Environment=TAPD_ line would
	// beat it. ProcSubset=pid would hide /proc/stat from the metrics.
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "Environment=TAPD_") || strings.HasPrefix(l, "ProcSubset=") {
			t.Errorf("tapd.service has %q", l)
		}
	}
	checkRPM(t, "tapkiosk-tapd")
}

func TestKioskPackage(t *testing.T) {
	build(t)
	deb := built.debs["tapkiosk-kiosk"]
	checkFiles(t, deb, map[string]string{
		"/usr/bin/kiosk": "-rwxr-xr-x root/root",
		"/usr/lib/systemd/system/tapkiosk-kiosk@.service": "-rw-r--r-- root/root",
		"/usr/lib/udev/rules.d/70-tapkiosk-fido.rules":    "-rw-r--r-- root/root",
		"/etc/tapkiosk/kiosk.conf":                        "-rw-r----- root/root",
	})
	// Versioned from the binary (dpkg-shlibdeps): the kiosk's glibc
	// symbols need 2.34 on Debian 12, and a plain libc6 would let it
	// install where it cannot run.
	if v := dpkgDeb(t, "-f", deb, "Depends", "Recommends"); !regexp.MustCompile(`Depends: .*libc6 \(>= 2\.[0-9]+\)`).MatchString(v) ||
		!strings.Contains(v, "libfido2-1 (>= 1.12.0)") || !strings.Contains(v, "Recommends: udev") {
		t.Errorf("control: %s", v)
	}
	ctrl := t.TempDir()
	dpkgDeb(t, "-e", deb, ctrl)
	if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/tapkiosk/kiosk.conf" {
		t.Errorf("conffiles: %q", b)
	}
	postinst := string(must(os.ReadFile(filepath.Join(ctrl, "postinst"))))
	if !strings.Contains(postinst, "useradd --system --gid tapkiosk-kiosk") || !strings.Contains(postinst, "udevadm control --reload-rules") {
		t.Errorf("postinst: %s", postinst)
	}
	if prerm, err := os.ReadFile(filepath.Join(ctrl, "prerm")); err != nil || !strings.Contains(string(prerm), "systemctl stop 'tapkiosk-kiosk@*.service'") {
		t.Errorf("prerm: %v %s", err, prerm)
	}
	checkScripts(t, ctrl)
	dir := extract(t, deb)
	f, err := elf.Open(filepath.Join(dir, "usr/bin/kiosk"))
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	f.Close()
	if !slices.Contains(libs, "libfido2.so.1") {
		t.Errorf("the kiosk links %v, not libfido2.so.1", libs)
	}
	// Stripped, the binary still names its functions (pclntab).
	bin := must(os.ReadFile(filepath.Join(dir, "usr/bin/kiosk")))
	if !bytes.Contains(bin, []byte("tapkiosk/tapkiosk/tui.")) {
		t.Fatal("the kiosk binary names none of its packages; the check below would prove nothing")
	}
	if bytes.Contains(bin, []byte("fido/virtualkey")) {
		t.Error("the packaged kiosk carries the virtual key")
	}

	unit := filepath.Join(dir, "usr/lib/systemd/system/tapkiosk-kiosk@.service")
	verify(t, unit, dir, "tapkiosk-kiosk@tty1.service")
	text := string(must(os.ReadFile(unit)))
	for _, want := range []string{"Conflicts=getty@%i.service", "TTYPath=/dev/%I", "TTYReset=yes", "TTYVHangup=yes", "StandardInput=tty-fail",
		"Restart=always", "User=tapkiosk-kiosk", "DeviceAllow=char-hidraw rw", "NoNewPrivileges=yes", "--token-file %d/kiosk-token",
		"LoadCredential=kiosk-token:/etc/tapkiosk/kiosk.token"} {
		if !strings.Contains(text, want) {
			t.Errorf("tapkiosk-kiosk@.service lacks %q", want)
		}
	}
	checkUdevRule(t, filepath.Join(dir, "usr/lib/udev/rules.d/70-tapkiosk-fido.rules"))
	checkRPM(t, "tapkiosk-kiosk")
}

// checkScripts: every maintainer script parses as POSIX sh, and each
// knows both dpkg's arguments and rpm's (the .rpm runs the same scripts
// with 1 and 2 for install and upgrade, 0 for removal). None hides a
// failure with || true.
func checkScripts(t *testing.T, ctrl string) {
	t.Helper()
	args := map[string][]string{"postinst": {"configure", "1 | 2"}, "prerm": {"remove | 0"}}
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
		p := filepath.Join(ctrl, s)
		text, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v %s", s, err, out)
		}
		for _, a := range args[s] {
			if !strings.Contains(string(text), a) {
				t.Errorf("%s does not handle %q", s, a)
			}
		}
		if strings.Contains(string(text), "|| true") {
			t.Errorf("%s silences a failure:\n%s", s, text)
		}
	}
}

// TestVersionsIncrease: version.sh's versions of successive commits sort
// as dpkg sorts them, each newer than the one before (a hash alone would
// sort them at random).
func TestVersionsIncrease(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg is not installed (scripts/ensure-deps.sh installs it)")
	}
	revs, err := exec.Command("git", "rev-list", "--first-parent", "--max-count=6", "HEAD").Output()
	if err != nil {
		t.Skipf("no git history here: %v", err)
	}
	var versions []string
	for _, r := range strings.Fields(string(revs)) {
		v, err := exec.Command("./version.sh", r).Output()
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, strings.TrimSpace(string(v)))
	}
	if len(versions) < 2 {
		t.Skip("fewer than two commits")
	}
	for i := 1; i < len(versions); i++ {
		newer, older := versions[i-1], versions[i]
		if err := exec.Command("dpkg", "--compare-versions", newer, "gt", older).Run(); err != nil {
			t.Errorf("dpkg does not sort %s after %s", newer, older)
		}
	}
	t.Logf("versions, newest first: %v", versions)
}

// systemdAnalyze finds systemd-analyze, or skips: it runs on unit files
// without a running systemd, but it must be installed (ensure-deps does).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd; scripts/ensure-deps.sh installs it), so the units cannot be verified here")
	}
	return p
}

// staged copies a unit beside itself with /usr/bin/ pointing into the
// extracted package, so systemd-analyze checks the packaged binary exists
// and is executable; name is what to verify (an instance for a template).
func staged(t *testing.T, unit, root, name string) string {
	t.Helper()
	dir := t.TempDir()
	text := strings.ReplaceAll(string(must(os.ReadFile(unit))), "/usr/bin/", filepath.Join(root, "usr/bin")+"/")
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(unit)), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// verify runs systemd-analyze verify, which reports some mistakes (a bad
// value it ignores) only as output with exit 0: clean means silent.
func verify(t *testing.T, unit, root, name string) {
	t.Helper()
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "verify", "--man=no", staged(t, unit, root, name)).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
	}
}

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// security checks systemd-analyze security's exposure score (offline).
func security(t *testing.T, unit, root, name string, most float64) {
	t.Helper()
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "security", "--offline=true", "--threshold="+strconv.Itoa(int(most*10)), staged(t, unit, root, name)).CombinedOutput()
	m := exposureRe.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("systemd-analyze security %s: %v\n%s", name, err, out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	if score > most || err != nil {
		t.Errorf("%s exposure %.1f, at most %.1f allowed (%v):\n%s", name, score, most, err, out)
	}
	t.Logf("%s: systemd-analyze security exposure %.1f", name, score)
}

// checkUdevRule parses the rule as udev would (udevadm verify came with
// systemd 253; Debian 12 has 252, so this parse stands in where it is
// missing) and checks what it matches and sets.
func checkUdevRule(t *testing.T, path string) {
	t.Helper()
	text := string(must(os.ReadFile(path)))
	if out, err := exec.Command("udevadm", "verify", "--help").CombinedOutput(); err == nil {
		if out, err := exec.Command("udevadm", "verify", path).CombinedOutput(); err != nil {
			t.Errorf("udevadm verify: %v %s", err, out)
		}
	} else {
		t.Logf("udevadm verify is not available here (%v %s); the rule is checked by the parse below", err, bytes.TrimSpace(out))
	}
	keyRe := regexp.MustCompile(`^(ACTION|SUBSYSTEM|KERNEL|ENV\{[A-Z_]+\}|ATTRS?\{[a-z_]+\}|GROUP|MODE|TAG|GOTO|LABEL)(==|!=|\+=|:=|=)"([^"]*)"$`)
	matches, sets := map[string]string{}, map[string]string{}
	labels, gotos := map[string]bool{}, map[string]bool{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, part := range strings.Split(line, ", ") {
			m := keyRe.FindStringSubmatch(strings.TrimSpace(part))
			if m == nil {
				t.Fatalf("%s:%d: %q is not KEY op \"value\"", path, n+1, part)
			}
			switch {
			case m[1] == "LABEL":
				labels[m[3]] = true
			case m[1] == "GOTO":
				gotos[m[3]] = true
			case m[2] == "==" || m[2] == "!=":
				if m[1] != "ACTION" {
					matches[m[1]] = m[3]
				}
			default:
				sets[m[1]] = m[3]
			}
		}
	}
	for g := range gotos {
		if !labels[g] {
			t.Errorf("GOTO %q has no LABEL", g)
		}
	}
	if matches["SUBSYSTEM"] != "hidraw" || matches["ENV{ID_FIDO_TOKEN}"] != "1" {
		t.Errorf("the rule matches %v; want hidraw devices with ID_FIDO_TOKEN=1 (systemd's 60-fido-id.rules)", matches)
	}
	if sets["GROUP"] != "tapkiosk-kiosk" || sets["MODE"] != "0660" {
		t.Errorf("the rule sets %v; want GROUP tapkiosk-kiosk, MODE 0660", sets)
	}
	if !strings.HasPrefix(filepath.Base(path), "70-") {
		t.Error("the rule must sort after 60-fido-id.rules")
	}
}

// checkRPM: the .rpm exists and is one; with rpm installed, its files and
// requirements are read too. Without rpm the test is marked skipped (a
// failure before stays a failure), not passed with a log line.
func checkRPM(t *testing.T, name string) {
	t.Helper()
	p := built.rpms[name]
	if p == "" {
		t.Fatalf("no .rpm for %s in %s", name, built.dir)
	}
	head := make([]byte, 4)
	f, _ := os.Open(p)
	f.Read(head)
	f.Close()
	if !bytes.Equal(head, []byte{0xed, 0xab, 0xee, 0xdb}) {
		t.Errorf("%s is not an RPM", p)
	}
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skipf("rpm is not installed (scripts/ensure-deps.sh installs it), so %s is not read", filepath.Base(p))
	}
	out, err := exec.Command("rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES}\n]", p).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qp %s: %v\n%s", p, err, out)
	}
	// The .rpm owns the folder too: rpm -e would otherwise leave it, and
	// rpm -qf /etc/tapkiosk would name no package.
	if !strings.Contains(string(out), "drwxr-xr-x /etc/tapkiosk\n") {
		t.Errorf("%s does not own /etc/tapkiosk:\n%s", filepath.Base(p), out)
	}
	scripts := string(must(exec.Command("rpm", "-qp", "--scripts", p).CombinedOutput()))
	for _, want := range []string{"postinstall scriptlet", "configure | 1 | 2)", "preuninstall scriptlet", "remove | 0)"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("%s's scripts lack %q:\n%s", filepath.Base(p), want, scripts)
		}
	}
	t.Logf("rpm -qp --requires %s:\n%s", filepath.Base(p), must(exec.Command("rpm", "-qp", "--requires", p).CombinedOutput()))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
