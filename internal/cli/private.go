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

// WritePrivate writes data to path, readable by the owner only: a file
// already there is truncated and made 0600 too (os.WriteFile's mode
// applies only to a new file, and an export of people's keys must not
// stay readable in one the group could read before).
func WritePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
