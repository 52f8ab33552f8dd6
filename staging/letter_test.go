package staging

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

func sampleLetter() Letter {
	return Letter{
		Org:          "Example Ltd",
		Batch:        "spring-2026",
		UPN:          "Ada@Example.com",
		DisplayName:  "Åsa Öberg",
		KeyName:      "YubiKey 5 NFC 2026-03-01",
		Model:        "YubiKey 5 NFC",
		Serial:       "12345678",
		PIN:          "k7Pq3M",
		MinPINLength: 6,
		ChangeForced: true,
		Time:         time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
	}
}

// privateTemp is a fresh 0700 folder (t.TempDir's mode depends on umask).
func privateTemp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestClean(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Åsa Öberg", "Åsa Öberg"},
		{"Ada\x1b[2J\x1b[H Lovelace", "Ada Lovelace"},
		{"\x1b]0;pwned\x07Ada", "Ada"},
		{"\x1b]8;;https://evil.example\x1b\\Ada\x1b]8;;\x1b\\", "Ada"},
		{"\x1bPq#0;2;0;0;0\x1b\\Ada", "Ada"},
		{"\u009b31mAda\u009b0m", "Ada"},
		{"\u009d0;title\u009cAda", "Ada"},
		{"\x1bcAda", "Ada"},
		{"Ada\tLove\r\nlace\x7f", "Ada Love lace"},
		{"\u202eAda\u202c", "Ada"},
		{"A\u200bda\ufeff", "Ada"},
		{"Ada\u2028Lovelace", "Ada Lovelace"},
		{"Ada\xffLovelace", "Ada?Lovelace"},
		{"  Ada   Lovelace  ", "Ada Lovelace"},
		{"Ada\x1b[", "Ada"}, // cut-off escape
	} {
		if got := clean(c.in, 80); got != c.want {
			t.Errorf("clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := clean(strings.Repeat("x", 100), 10); got != strings.Repeat("x", 9)+"…" {
		t.Errorf("clean did not cut a long name: %q", got)
	}
}

func TestLetterName(t *testing.T) {
	for _, c := range []struct{ upn, want string }{
		{"ada@example.com", "ada_at_example.com"},
		{"Ada@Example.COM", "ada_at_example.com"},
		{"ada_l@example.com", "ada__l_at_example.com"},
		{"../../etc/passwd@x.com", "%2E.%2F..%2Fetc%2Fpasswd_at_x.com"},
		{".hidden@x.com", "%2Ehidden_at_x.com"},
		{"åsa@x.com", "%C3%A5sa_at_x.com"},
	} {
		if got := safeName(c.upn); got != c.want {
			t.Errorf("safeName(%q) = %q, want %q", c.upn, got, c.want)
		}
	}
	// Distinct people, distinct files.
	pairs := [][2]string{
		{"a_at_b@c.com", "a@b_at_c.com"},
		{"åsa@x.com", "æsa@x.com"},
		{"a_@x.com", "a@_x.com"},
		{strings.Repeat("é", 60) + "1@x.com", strings.Repeat("é", 60) + "2@x.com"},
	}
	for _, p := range pairs {
		a, b := safeName(p[0]), safeName(p[1])
		if a == b {
			t.Errorf("%q and %q share the file name %q", p[0], p[1], a)
		}
		for _, n := range []string{a, b} {
			if len(n) > maxNameBytes || strings.ContainsAny(n, "/\\\x00") {
				t.Errorf("file name %q is unsafe or too long (%d bytes)", n, len(n))
			}
		}
	}
}

func TestWriteLetterText(t *testing.T) {
	dir := privateTemp(t)
	l := sampleLetter()
	l.DisplayName = "Åsa\x1b]0;owned\x07 Öberg\x1b[2J"
	path, err := WriteLetter(dir, Text, l)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ada_at_example.com.txt"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	checkMode(t, path, 0o600)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	flat := strings.Join(strings.Fields(text), " ") // phrases may wrap
	for _, want := range []string{
		"Example Ltd", "Your security key", "Åsa Öberg", "Ada@Example.com",
		"YubiKey 5 NFC 2026-03-01", "Model:", "12345678",
		"6 characters", "Plug the key", "type the PIN", "touch it",
		"asks you to choose a new PIN of at least 6 characters",
		"apart from the key", "destroy this letter", "seal was opened", "call IT",
		"spring-2026", "2026-03-01 09:30 UTC",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("text letter lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"    k   7   P   q   3   M\n", // the PIN, spaced out
		"    a   9   A   a   9   A\n", // what each character is
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text letter lacks the line %q:\n%s", want, text)
		}
	}
	if strings.ContainsAny(text, "\x1b\x07") || strings.Contains(text, "owned") {
		t.Errorf("escape sequence reached the letter: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) > 66 {
		t.Errorf("text letter has %d lines, more than an A4 page", len(lines))
	}
	for _, ln := range lines {
		if n := utf8.RuneCountInString(ln); n > 80 {
			t.Errorf("line of %d characters is too wide for A4: %q", n, ln)
		}
	}
}

// TestLetterLiveAtOnce: a key staged in Entra could sign in from the
// moment it was registered; its letter says it was kept locked away.
func TestLetterLiveAtOnce(t *testing.T) {
	l := sampleLetter()
	const note = "from the moment IT set it up"
	if text := strings.Join(strings.Fields(renderText(l)), " "); strings.Contains(text, note) {
		t.Errorf("a letter not from Entra says its key was live at once:\n%s", text)
	}
	l.LiveAtOnce = true
	if text := strings.Join(strings.Fields(renderText(l)), " "); !strings.Contains(text, note) {
		t.Errorf("the letter does not say the key was live at once:\n%s", text)
	}
}

func TestTextLetterDigitsAndNoForcedChange(t *testing.T) {
	l := sampleLetter()
	l.PIN, l.ChangeForced, l.MinPINLength = "730519", false, 0
	text := renderText(l)
	if !strings.Contains(text, "7   3   0   5   1   9") {
		t.Errorf("PIN not spaced out:\n%s", text)
	}
	if strings.Contains(text, "Under each character") {
		t.Error("an all-digit PIN got a letter-kind row")
	}
	if strings.Contains(text, "first time you use") {
		t.Error("letter promises a forced PIN change that will not happen")
	}
	if !strings.Contains(text, "at least 4 characters") {
		t.Error("minimum length should fall back to CTAP's 4")
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

// pdfText returns a PDF's bytes with every Flate stream inflated, so a
// test can look for what the page draws.
func pdfText(t *testing.T, data []byte) string {
	t.Helper()
	var out bytes.Buffer
	out.Write(data)
	re := regexp.MustCompile(`(?s)/Filter /FlateDecode.*?stream\r?\n`)
	for _, loc := range re.FindAllIndex(data, -1) {
		start := loc[1]
		end := bytes.Index(data[start:], []byte("endstream"))
		if end < 0 {
			t.Fatal("unterminated stream")
		}
		zr, err := zlib.NewReader(bytes.NewReader(data[start : start+end]))
		if err != nil {
			t.Fatalf("stream does not inflate: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("stream does not inflate: %v", err)
		}
		out.Write(b)
	}
	return out.String()
}

func cp1252(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteLetterPDF(t *testing.T) {
	dir := privateTemp(t)
	l := sampleLetter()
	path, err := WriteLetter(dir, PDF, l)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "ada_at_example.com.pdf" {
		t.Errorf("path %s", path)
	}
	checkMode(t, path, 0o600)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data[len(data)-16:], []byte("%%EOF")) {
		t.Fatalf("not a complete PDF: starts %q, ends %q", data[:8], data[len(data)-16:])
	}
	text := pdfText(t, data)
	for _, want := range []string{
		"(Example Ltd)", "(Your security key)", "(" + cp1252(t, "Åsa Öberg") + ")",
		"(Ada@Example.com)", "(YubiKey 5 NFC 2026-03-01)", "(12345678)",
		"(Keep this letter safe)", "call IT", "Batch spring-2026",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	// The PIN, one box a character, in order, in Courier.
	if !strings.Contains(text, "/BaseFont /Courier-Bold") {
		t.Error("PIN font is not Courier Bold")
	}
	at := 0
	for _, ch := range l.PIN {
		i := strings.Index(text[at:], "("+string(ch)+")Tj")
		if i < 0 {
			t.Fatalf("PIN character %d is not drawn on its own, in order", at)
		}
		at += i + 1
	}
	if n := strings.Count(text, "/Type /Page\n"); n != 1 {
		t.Errorf("PDF has %d pages, want 1", n)
	}
}

func TestPDFNameOutsideCP1252(t *testing.T) {
	l := sampleLetter()
	l.DisplayName = "Dvořák Łukasz 山田 Ø"
	data, err := renderPDF(l)
	if err != nil {
		t.Fatal(err)
	}
	if want := "(" + cp1252(t, "Dvorák Lukasz ?? Ø") + ")"; !strings.Contains(pdfText(t, data), want) {
		t.Errorf("PDF lacks %q", want)
	}
	if got := toCP1252("Åsa Öberg € ß"); got != "Åsa Öberg € ß" {
		t.Errorf("cp1252 characters changed: %q", got)
	}
}

func TestLongestPDFLetterFitsOnePage(t *testing.T) {
	pin, err := RandomPIN(PINLengthMax, Alphanumeric)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Wwwwwwww ", 40)
	l := Letter{Org: long, Batch: long, UPN: strings.Repeat("w", 100) + "@example.com", DisplayName: long,
		KeyName: long, Model: long, Serial: long, PIN: pin, MinPINLength: 63, ChangeForced: true, Time: time.Now()}
	if _, err := renderPDF(l); err != nil {
		t.Fatalf("the longest letter does not fit: %v", err)
	}
	if lines := strings.Count(renderText(l), "\n"); lines > 66 {
		t.Errorf("the longest text letter has %d lines", lines)
	}
}

func TestWriteLetterRefusesUnprintablePIN(t *testing.T) {
	dir := privateTemp(t)
	for _, c := range []struct{ format, pin string }{
		{Text, "12\x1b[0m34"}, {Text, ""}, {Text, "12\x0034"}, {Text, "1234\xff"},
		{PDF, "пин1234"}, {PDF, "1234\u200b"},
	} {
		l := sampleLetter()
		l.PIN = c.pin
		_, err := WriteLetter(dir, c.format, l)
		if err == nil {
			t.Errorf("%s letter with PIN %q was written", c.format, c.pin)
			continue
		}
		if c.pin != "" && strings.Contains(err.Error(), c.pin) {
			t.Errorf("error quotes the PIN: %v", err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused letters left files: %v", entries)
	}
}

func TestWriteLetterBadFormatOrUPN(t *testing.T) {
	dir := privateTemp(t)
	if _, err := WriteLetter(dir, "docx", sampleLetter()); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("unknown format: %v", err)
	}
	l := sampleLetter()
	l.UPN = "  "
	if _, err := WriteLetter(dir, Text, l); err == nil || !strings.Contains(err.Error(), "UPN") {
		t.Errorf("empty UPN: %v", err)
	}
}

func TestWriteLetterFolder(t *testing.T) {
	root := privateTemp(t)
	fresh := filepath.Join(root, "a", "letters")
	if _, err := WriteLetter(fresh, Text, sampleLetter()); err != nil {
		t.Fatal(err)
	}
	checkMode(t, fresh, 0o700)

	for _, mode := range []os.FileMode{0o770, 0o702, 0o777} {
		dir := filepath.Join(root, "shared")
		os.RemoveAll(dir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		l := sampleLetter()
		_, err := WriteLetter(dir, Text, l)
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("folder mode %04o: got %v, want a refusal naming the folder", mode, err)
		} else if strings.Contains(err.Error(), l.PIN) {
			t.Errorf("error quotes the PIN: %v", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("folder mode %04o: files written anyway: %v", mode, entries)
		}
	}
	for _, mode := range []os.FileMode{0o700, 0o750, 0o755} {
		dir := filepath.Join(root, "private")
		os.RemoveAll(dir)
		os.Mkdir(dir, 0o700)
		os.Chmod(dir, mode)
		if _, err := WriteLetter(dir, Text, sampleLetter()); err != nil {
			t.Errorf("folder mode %04o refused: %v", mode, err)
		}
	}
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := WriteLetter(file, Text, sampleLetter()); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file as the folder: %v", err)
	}
}

func TestWriteLetterReplacesAtomically(t *testing.T) {
	dir := privateTemp(t)
	l := sampleLetter()
	for _, format := range []string{Text, PDF} {
		l.PIN = "k7Pq3M"
		first, err := WriteLetter(dir, format, l)
		if err != nil {
			t.Fatal(err)
		}
		l.UPN = "ada@EXAMPLE.com" // the same person
		l.PIN = "x4Ft9b"
		second, err := WriteLetter(dir, format, l)
		if err != nil {
			t.Fatal(err)
		}
		if first != second {
			t.Errorf("rewrite went to %s, not %s", second, first)
		}
		checkMode(t, second, 0o600)
		data, _ := os.ReadFile(second)
		text := string(data)
		if format == PDF {
			text = pdfText(t, data)
		}
		if format == Text && (!strings.Contains(text, "x   4   F") || strings.Contains(text, "k   7   P")) {
			t.Error("rewritten text letter does not hold just the new PIN")
		}
		if format == PDF && (!strings.Contains(text, "(F)Tj") || strings.Contains(text, "(P)Tj")) {
			t.Error("rewritten PDF letter does not hold just the new PIN")
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "ada_at_example.com.pdf ada_at_example.com.txt" {
		t.Errorf("folder holds %v; want one letter a format, no temporary files", names)
	}
}

// mountTmpfs mounts a small tmpfs on a fresh folder, or skips the test
// where mounting is not allowed (not root, no mount(8), in a container).
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := privateTemp(t)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func TestWriteLetterFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "size=64k,mode=0700")
	l := sampleLetter()
	l.PIN = "k7Pq3M"
	for _, format := range []string{Text, PDF} {
		if _, err := WriteLetter(dir, format, l); err != nil {
			t.Fatal(err)
		}
	}
	old := map[string][]byte{}
	for _, ext := range []string{".txt", ".pdf"} {
		old[ext], _ = os.ReadFile(filepath.Join(dir, "ada_at_example.com"+ext))
	}
	// Fill what is left.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := filler.Write(make([]byte, 1024)); err != nil {
			break
		}
	}
	filler.Close()

	l.PIN = "x4Ft9b"
	for _, format := range []string{Text, PDF} {
		_, err := WriteLetter(dir, format, l)
		if err == nil {
			t.Fatalf("%s letter written to a full disk", format)
		}
		msg := err.Error()
		if !strings.Contains(msg, filepath.Join(dir, "ada_at_example.com")) || !strings.Contains(msg, "no space") {
			t.Errorf("error does not name the path and the cause: %v", err)
		}
		if strings.Contains(msg, l.PIN) || strings.Contains(msg, "k7Pq3M") {
			t.Errorf("error quotes a PIN: %v", err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("full disk left extra files: %v", entries)
	}
	for ext, want := range old {
		got, _ := os.ReadFile(filepath.Join(dir, "ada_at_example.com"+ext))
		if !bytes.Equal(got, want) {
			t.Errorf("failed rewrite damaged the previous %s letter", ext)
		}
	}
}

func TestWriteLetterReadOnlyFolder(t *testing.T) {
	dir := mountTmpfs(t, "size=64k,mode=0700,ro")
	l := sampleLetter()
	_, err := WriteLetter(dir, Text, l)
	if err == nil || !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), l.PIN) {
		t.Errorf("read-only folder: got %v, want an error naming the folder without the PIN", err)
	}
}

func TestRemoveLetter(t *testing.T) {
	dir := privateTemp(t)
	l := sampleLetter()
	other := sampleLetter()
	other.UPN = "grace@example.com"
	for _, format := range []string{Text, PDF} {
		for _, x := range []Letter{l, other} {
			if _, err := WriteLetter(dir, format, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := RemoveLetter(dir, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || !strings.HasPrefix(entries[0].Name(), "grace_at_") || !strings.HasPrefix(entries[1].Name(), "grace_at_") {
		t.Errorf("after removing Ada's letters the folder holds %v", entries)
	}
	if err := RemoveLetter(dir, "ada@example.com"); err != nil {
		t.Errorf("removing absent letters: %v", err)
	}
	if err := RemoveLetter(filepath.Join(dir, "missing"), "ada@example.com"); err != nil {
		t.Errorf("removing from a missing folder: %v", err)
	}
}
