package cli

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ReadPrivate reads a file that holds a secret (a token, a client secret, a
// private key), refusing one that the group or others may read. name is
// how the person named the file (a flag or an environment variable), so
// the message points at it and gives the chmod command that fixes it.
func ReadPrivate(name, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s %s can be read by others (mode %04o); make it private with: chmod 600 %s", name, path, perm, shellQuote(path))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@+-]+$`)

// shellQuote quotes path for a POSIX shell when it needs it, so the chmod
// command can be pasted as it is.
func shellQuote(path string) string {
	if shellSafe.MatchString(path) {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
