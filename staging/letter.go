package staging

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tapkiosk/tapkiosk/tap"
)

// Letter is what one person's PIN letter says.
type Letter struct {
	Org          string // organisation name, may be ""
	Batch        string // batch name
	UPN          string
	DisplayName  string
	KeyName      string // the name the key is registered under
	Model        string // e.g. "YubiKey 5 NFC", may be ""
	Serial       string // may be ""
	PIN          string
	MinPINLength int
	ChangeForced bool      // the key will ask for a new PIN on first use
	LiveAtOnce   bool      // the key could sign in from the moment it was staged (Entra)
	Time         time.Time // when it was staged
	// Lang is the language the letter is written in (LetterLanguages);
	// "" or an unknown one is English.
	Lang string
}

// Letter formats.
const (
	Text = "text"
	PDF  = "pdf"
)

// extensions maps each format to its file name ending.
var extensions = map[string]string{Text: ".txt", PDF: ".pdf"}

// WriteLetter writes l as one file in dir (created 0700 if missing; an
// existing dir must not be writable by group/other: refuse with a clear
// error otherwise) in the format, with mode 0600, atomically (temp file in
// dir + fsync + rename), and returns its path. The file name comes from the
// UPN made safe for a file name (e.g. ada_at_example.com.txt / .pdf), so
// writing a person's letter again replaces their previous one. A full disk
// or unwritable dir gives a clear error naming the path but never the PIN,
// and leaves no partial file behind.
//
// A letter is as good as the key's PIN, so nobody but the operator may
// read it, and nobody else may swap one in the folder (hence the
// group/other write check). The PIN must be printable as it is typed: a
// control character, or for PDF a character outside the font's code page
// (cp1252), is refused rather than drawn wrong.
func WriteLetter(dir, format string, l Letter) (string, error) {
	ext, ok := extensions[format]
	if !ok {
		return "", fmt.Errorf("unknown letter format %q; use %q or %q", format, Text, PDF)
	}
	if strings.TrimSpace(l.UPN) == "" {
		return "", errors.New("a PIN letter needs the person's UPN")
	}
	who := clean(l.UPN, tap.MaxUPNLength)
	if l.PIN == "" || !utf8.ValidString(l.PIN) || !printable(l.PIN) {
		return "", fmt.Errorf("the PIN for %s is empty or holds a character that cannot be printed", who)
	}
	if format == PDF && !inCP1252(l.PIN) {
		return "", fmt.Errorf("the PIN for %s holds a character the PDF font cannot show; use the text format", who)
	}
	if err := privateDir(dir); err != nil {
		return "", err
	}
	var data []byte
	if format == PDF {
		var err error
		if data, err = renderPDF(l); err != nil {
			return "", fmt.Errorf("making the PDF letter for %s: %w", who, err)
		}
	} else {
		data = []byte(renderText(l))
	}
	path := filepath.Join(dir, safeName(l.UPN)+ext)
	if err := writeAtomic(path, data); err != nil {
		return "", err
	}
	return path, nil
}

// RemoveLetter deletes a person's letter (both formats) if present: used
// when a row fails and its PIN will never be on a key.
func RemoveLetter(dir, upn string) error {
	var errs []error
	for _, ext := range []string{extensions[Text], extensions[PDF]} {
		path := filepath.Join(dir, safeName(upn)+ext)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing PIN letter %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

// privateDir makes dir (0700) if it is missing, and refuses one that group
// or others may write: they could replace a letter before it is printed.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating the PIN letter folder %s: %w", dir, err)
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return fmt.Errorf("PIN letter folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("PIN letter folder %s is not a folder", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("PIN letter folder %s is writable by group or others (mode %04o); run chmod go-w %s so nobody else can replace a letter", dir, perm, dir)
	}
	return nil
}

// writeAtomic puts data (a letter, a manifest) at path, mode 0600, through a temporary file in the same
// folder, synced before the rename and the folder synced after, so a
// crash or a full disk leaves either the old letter or the new one, never
// half of one. Errors name the path; data (which holds the PIN) is never
// part of them.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".letter-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// maxNameBytes keeps a letter's file name (with its extension) well under
// the usual 255-byte limit.
const maxNameBytes = 200

// safeName turns a UPN (or a batch name) into a file name: case-folded as UPNs compare,
// "@" as "_at_", "_" doubled so the two cannot be confused, letters,
// digits, "." and "-" kept, anything else as %XX of its UTF-8 bytes (and a
// leading "." too, so no letter is a hidden file). One UPN gives one name
// and two UPNs never share one; a name too long for the file system is cut
// and ends in a hash of the whole UPN.
func safeName(upn string) string {
	key := tap.UPNKey(upn)
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '@':
			b.WriteString("_at_")
		case c == '_':
			b.WriteString("__")
		case c == '.' && i == 0:
			b.WriteString("%2E")
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	name := b.String()
	if len(name) > maxNameBytes {
		sum := sha256.Sum256([]byte(key))
		name = name[:maxNameBytes-17] + "-" + hex.EncodeToString(sum[:8])
	}
	return name
}

// printable reports whether every rune of s prints as itself: no
// control, format or unassigned characters. What is printed must be
// exactly what the person types.
func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
