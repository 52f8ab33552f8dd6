package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
)

// tapctlEnv runs tapctl with exactly the arguments and TAPCTL_ variables
// given (the test's own TAPCTL_ environment is dropped).
func tapctlEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "tapctl"), args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TAPCTL_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestTapctlRefusesAmbiguity: settings that tapctl used to resolve
// silently, or misread, are usage errors that say what to do.
func TestTapctlRefusesAmbiguity(t *testing.T) {
	tokFile := writeFile(t, "admin.token", "tapa_x\n")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"token and token file", []string{"TAPCTL_TOKEN=tapa_y", "TAPCTL_TOKEN_FILE=" + tokFile}, []string{"policy", "show"},
			"both TAPCTL_TOKEN and TAPCTL_TOKEN_FILE give an admin token"},
		{"token and --token-file", []string{"TAPCTL_TOKEN=tapa_y"}, []string{"--token-file", tokFile, "policy", "show"},
			"both TAPCTL_TOKEN and --token-file"},
		{"server without scheme", nil, []string{"--server", "127.0.0.1:8443", "policy", "show"}, `--server "127.0.0.1:8443" has no http:// or https:// scheme`},
		{"server host:port parses as a scheme", nil, []string{"--server", "tapd.example.com:8443", "policy", "show"}, "has no http:// or https:// scheme"},
		{"TAPCTL_SERVER without scheme", []string{"TAPCTL_SERVER=localhost:8443"}, []string{"policy", "show"}, "TAPCTL_SERVER \"localhost:8443\" has no"},
		{"unknown audit action", nil, []string{"audit", "--action", "signin"}, `--action "signin" is not an audit action; use one of signIn, signOut`},
	} {
		out, errOut, code := tapctlEnv(t, c.env, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.name, code, out, errOut, c.want)
		}
	}
}

// TestTapctlHelp: help that was asked for goes to stdout with exit 0, per
// command too; no command at all is a usage error on stderr.
func TestTapctlHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		out, errOut, code := tapctlEnv(t, nil, args...)
		if code != 0 || !strings.Contains(out, "tap create UPN") || errOut != "" {
			t.Errorf("tapctl %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"tap", "create", "--help"}, {"tap", "create", "-h"}, {"help", "tap", "create"}} {
		out, errOut, code := tapctlEnv(t, nil, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage: tapctl tap create UPN [--start T]") ||
			!strings.Contains(out, "--lifetime VALUE") || !strings.Contains(out, "--once") || !strings.Contains(out, "replaces the person's pass") {
			t.Errorf("tapctl %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	out, _, code := tapctlEnv(t, nil, "audit", "--help")
	if code != 0 || !strings.Contains(out, "--action VALUE") || !strings.Contains(out, "(default 50)") {
		t.Errorf("audit --help: %d %q", code, out)
	}
	out, errOut, code := tapctlEnv(t, nil)
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage: tapctl") {
		t.Errorf("no command: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestTapctlAgainstTapd: the default server is tapd's default listen
// address and scheme; https to a plain-HTTP tapd says so first; a new pass
// says it replaced the old one (also in --json); the CSV import's refusal
// names --partial.
func TestTapctlAgainstTapd(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	tok := initDB(t, db)
	tokFile := writeFile(t, "admin.token", tok+"\n")

	// With no --listen and no --server, the two meet, if the port is free.
	const def = "127.0.0.1:8443"
	url := ""
	if l, err := net.Listen("tcp", def); err == nil {
		l.Close()
		d := startTapd(t, db, "--listen", def)
		out, errOut, code := tapctlEnv(t, []string{"TAPCTL_TOKEN_FILE=" + tokFile}, "policy", "show")
		if code != 0 || !strings.Contains(out, "disabled") {
			t.Fatalf("tapctl with its default server against tapd with its default listen: %d %s %s", code, out, errOut)
		}
		url = d.url
	} else {
		t.Logf("%s is taken; the default-address check is skipped: %v", def, err)
		url = startTapd(t, db).url
	}

	_, errOut, code := tapctl(t, strings.Replace(url, "http://", "https://", 1), tokFile, "policy", "show")
	first, _, _ := strings.Cut(errOut, "\n")
	if code != 3 || !strings.Contains(first, "speaks plain HTTP, not HTTPS") || !strings.Contains(first, "--server "+url) {
		t.Fatalf("https to plain HTTP: exit %d: %s", code, errOut)
	}

	run := func(want int, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := tapctl(t, url, tokFile, args...)
		if code != want {
			t.Fatalf("tapctl %v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out, errOut
	}
	run(0, "policy", "set", "--state", "enabled")
	run(0, "user", "add", "ada@example.com", "--name", "Ada")
	if out, _ := run(0, "tap", "create", "ada@example.com"); strings.Contains(out, "replaced") {
		t.Fatalf("a first pass warns of a replacement: %s", out)
	}
	type created struct {
		api.TemporaryAccessPassMethod
		Warning string
	}
	var second, third created
	out, _ := run(0, "tap", "create", "ada@example.com", "--json")
	if err := json.Unmarshal([]byte(out), &second); err != nil || second.ReplacedPassID == "" ||
		!strings.Contains(second.Warning, "any kiosk session open with it has ended") {
		t.Fatalf("second pass --json: %v %s", err, out)
	}
	out, _ = run(0, "tap", "create", "ada@example.com", "--json")
	if err := json.Unmarshal([]byte(out), &third); err != nil || third.ReplacedPassID != second.ID {
		t.Fatalf("third pass --json (replaces %s): %v %s", second.ID, err, out)
	}
	second = third
	if out, _ := run(0, "tap", "create", "ada@example.com"); !strings.Contains(out, "Warning: This replaced ada@example.com's previous pass ("+second.ID+")") {
		t.Fatalf("replacement not said: %s", out)
	}

	csvPath := writeFile(t, "users.csv", "userPrincipalName,displayName\nbob@example.com,Bob\noops,Bad\n")
	if _, errOut := run(1, "user", "import", csvPath); !strings.Contains(errOut, "--partial") || strings.Contains(errOut, "mode=partial") {
		t.Fatalf("import refusal: %s", errOut)
	}
}

// TestRPIDWarning: tapd says at start-up that --rp-id localhost on a
// non-loopback address is probably a mistake, and not on loopback.
func TestRPIDWarning(t *testing.T) {
	empty := "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
	tapdBin := filepath.Join(bin, "tapd")
	out, _ := exec.Command(tapdBin, "serve", "--db", empty, "--listen", "0.0.0.0:0", "--insecure-http").CombinedOutput()
	if !strings.Contains(string(out), "--rp-id is still localhost") {
		t.Fatalf("no warning on 0.0.0.0: %s", out)
	}
	out, _ = exec.Command(tapdBin, "serve", "--db", empty, "--listen", "0.0.0.0:0", "--insecure-http", "--rp-id", "example.com").CombinedOutput()
	if strings.Contains(string(out), "--rp-id is still") {
		t.Fatalf("warned with --rp-id given: %s", out)
	}
	out, _ = exec.Command(tapdBin, "serve", "--db", empty, "--listen", "127.0.0.1:0").CombinedOutput()
	if strings.Contains(string(out), "--rp-id is still") {
		t.Fatalf("warned on loopback: %s", out)
	}
}
