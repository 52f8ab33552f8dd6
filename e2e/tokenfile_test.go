package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTapctlTokenFileMode: tapctl refuses an admin token file that the
// group or others may read, named as the operator gave it (--token-file
// or TAPCTL_TOKEN_FILE), with the chmod that fixes it; it never gets as
// far as calling tapd.
func TestTapctlTokenFileMode(t *testing.T) {
	tokFile := writeFile(t, "admin.token", "tapd_adm_not-a-real-token\n")
	if err := os.Chmod(tokFile, 0o640); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := tapctl(t, "http://127.0.0.1:1", tokFile, "user", "list")
	if code != 2 || !strings.Contains(errOut, "--token-file "+tokFile+" can be read by others (mode 0640)") || !strings.Contains(errOut, "chmod 600 "+tokFile) {
		t.Fatalf("--token-file: exit %d: %s", code, errOut)
	}

	cmd := exec.Command(filepath.Join(bin, "tapctl"), "--server", "http://127.0.0.1:1", "user", "list")
	cmd.Env = append(os.Environ(), "TAPCTL_TOKEN=", "TAPCTL_TOKEN_FILE="+tokFile)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(errb.String(), "TAPCTL_TOKEN_FILE "+tokFile+" can be read by others") {
		t.Fatalf("TAPCTL_TOKEN_FILE: %v: %s", err, errb.String())
	}
	if strings.Contains(errOut+errb.String(), "not-a-real-token") {
		t.Fatal("the token was printed")
	}
}
