package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// packagedConf writes a config as the package ships it (serve's settings,
// listen among them) naming a database in dir.
func packagedConf(t *testing.T, dir string) (conf, db string) {
	t.Helper()
	db = filepath.Join(dir, "state", "tapd.db")
	conf = filepath.Join(dir, "tapd.conf")
	text := "db = sqlite://" + db + "\nlisten = 127.0.0.1:8443\nlog-format = json\naudit-log = -\n"
	if err := os.WriteFile(conf, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	return conf, db
}

// homeWithConf is a fresh home folder, so that a default database would
// show under its .local, and a packaged config in it.
func homeWithConf(t *testing.T) (home, conf, db string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "")
	conf, db = packagedConf(t, home)
	return home, conf, db
}

// TestInitWithServeConfig: tapd init --config takes the config file tapd
// serve reads (listen and all) and prepares the database it names.
func TestInitWithServeConfig(t *testing.T) {
	dir, conf, db := homeWithConf(t)
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--config", conf}, &out, &errb); code != 0 {
		t.Fatalf("tapd init --config: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "Database ready") {
		t.Fatalf("stdout: %s", out.String())
	}
	if want := "database sqlite " + db + " (from file " + conf + ":1)"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr %q lacks %q", errb.String(), want)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the configured database was not made: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".local")); !os.IsNotExist(err) {
		t.Errorf("a second database under ~/.local: %v", err)
	}
}

// TestInitRefusesDefaultBesidePackagedConfig: where the package's config
// exists, tapd init with no database named refuses and makes nothing
// under ~/.local (the service would not use it).
func TestInitRefusesDefaultBesidePackagedConfig(t *testing.T) {
	dir, conf, _ := homeWithConf(t)
	var out, errb bytes.Buffer
	code := cmdInitCode(t, []string{}, conf, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "tapd init --config "+conf) || strings.Contains(out.String(), "Database ready") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".local")); !os.IsNotExist(err) {
		t.Errorf("tapd init made %s/.local: %v", dir, err)
	}
	// Without the packaged config (a developer's machine), the default
	// still works, and says it is the default.
	out.Reset()
	errb.Reset()
	if code := cmdInitCode(t, nil, filepath.Join(dir, "absent.conf"), &out, &errb); code != 0 || !strings.Contains(errb.String(), "(from default)") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// cmdInitCode runs tapd init with the packaged config at packaged, and
// returns run's exit code for its error.
func cmdInitCode(t *testing.T, args []string, packaged string, stdout, stderr *bytes.Buffer) int {
	t.Helper()
	err := cmdInit(args, stdout, stderr, packaged)
	if err == nil {
		return 0
	}
	stderr.WriteString(err.Error())
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

// TestServeLogsWhichDatabase: tapd serve logs the database it opens and
// which setting chose it; the environment beats the file, and says so.
func TestServeLogsWhichDatabase(t *testing.T) {
	dir := t.TempDir()
	conf, _ := packagedConf(t, dir)
	envDB := filepath.Join(dir, "env.db")
	t.Setenv("TAPD_DB", "sqlite://"+envDB)
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--config", conf, "--listen", "127.0.0.1:0"}, &out, &errb); code != 1 {
		t.Fatalf("serve on an uninitialised database: exit %d\n%s", code, errb.String())
	}
	want := `"msg":"store","database":"sqlite ` + envDB + `","from":"environment TAPD_DB"`
	if !strings.Contains(errb.String(), want) || !strings.Contains(errb.String(), "run `tapd init` with the same settings") {
		t.Fatalf("stderr lacks %s:\n%s", want, errb.String())
	}
}
