package staging

import (
	"bytes"
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

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"github.com/tapkiosk/tapkiosk/internal/termtext"
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

// clean makes a name from the directory safe to print or to show when an
// operator cats a text letter in a terminal: termtext.Strip (escape
// sequences gone whole, controls as spaces), then the invisible format
// characters (zero width, byte order marks) go too, since a letter is
// read by eye; runs of space shrink to one, and the result is cut to max
// characters with "…".
func clean(s string, max int) string {
	stripped := termtext.Strip(strings.ToValidUTF8(s, "?"))
	out := strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Cf) {
			return -1
		}
		return r
	}, stripped)), " ")
	if r := []rune(out); len(r) > max {
		out = string(r[:max-1]) + "…"
	}
	return out
}

// Field limits for a letter: enough for any real value, short enough that
// the letter stays one page.
const (
	maxOrg    = 80
	maxBatch  = 64
	maxPerson = 80
	maxSerial = 40
)

// content is a letter's wording, shared by the text and PDF layouts so the
// two always say the same.
type content struct {
	w        words
	org      string
	title    string
	details  [][2]string // label, value
	pin      []string    // one string a character
	kinds    []string    // "digit", "small", "capital" (or "") under each; nil for an all-digit PIN
	pinNote  string
	sections []section
	footer   string
}

type section struct {
	title string
	paras []string
}

func (l Letter) content() content {
	w := wordsFor(l.Lang)
	c := content{w: w, org: clean(l.Org, maxOrg), title: w.s("title")}
	add := func(label, value string) {
		if value != "" {
			c.details = append(c.details, [2]string{label, value})
		}
	}
	add(w.s("for"), clean(l.DisplayName, maxPerson))
	add(w.s("account"), clean(l.UPN, tap.MaxUPNLength))
	add(w.s("keyName"), clean(l.KeyName, tap.MaxNameLength))
	add(w.s("model"), clean(l.Model, tap.MaxNameLength))
	add(w.s("serial"), clean(l.Serial, maxSerial))

	letters := false
	for _, r := range l.PIN {
		c.pin = append(c.pin, string(r))
		switch {
		case unicode.IsDigit(r):
			c.kinds = append(c.kinds, "digit")
		case unicode.IsLower(r):
			c.kinds, letters = append(c.kinds, "small"), true
		case unicode.IsUpper(r):
			c.kinds, letters = append(c.kinds, "capital"), true
		default:
			c.kinds, letters = append(c.kinds, ""), true
		}
	}
	if !letters {
		c.kinds = nil
	}
	c.pinNote = w.s("pinNote", len(c.pin))

	minLen := max(l.MinPINLength, PINLengthMin)
	use := section{title: w.s("use.title"), paras: []string{w.s("use.1"), w.s("use.2"), w.s("use.3"), w.s("use.4")}}
	change := section{title: w.s("change.title"), paras: []string{w.s("change.kept", minLen)}}
	if l.ChangeForced {
		change.paras = []string{w.s("change.forced", minLen)}
	}
	keep := section{title: w.s("keep.title"), paras: []string{w.s("keep.1"), w.s("keep.2"), w.s("keep.3")}}
	if l.LiveAtOnce {
		keep.paras = append(keep.paras, w.s("keep.live"))
	}
	c.sections = []section{use, change, keep}

	var foot []string
	if b := clean(l.Batch, maxBatch); b != "" {
		foot = append(foot, w.s("footer.batch", b))
	}
	if !l.Time.IsZero() {
		foot = append(foot, w.s("footer.staged", l.Time.Format("2006-01-02 15:04 MST")))
	}
	c.footer = strings.Join(foot, ", ")
	return c
}

// textWidth fits A4 at 10-12 characters an inch with room for margins.
const textWidth = 72

// textPINPerLine is how many spaced-out PIN characters go on one line.
const textPINPerLine = 16

// renderText lays out a plain-text letter: the PIN spaced out so each
// character stands alone, with a row naming digit, small or capital letter
// under it when the PIN has letters (0/O and 1/l cannot occur in random
// PINs, but a typed one may hold them).
func renderText(l Letter) string {
	c := l.content()
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	if c.org != "" {
		line(c.org)
		line("")
	}
	line(c.title)
	line(strings.Repeat("=", utf8.RuneCountInString(c.title)))
	line("")
	// The labels' column fits the longest label in the letter's language.
	lw := 12
	for _, d := range c.details {
		lw = max(lw, utf8.RuneCountInString(d[0])+3)
	}
	for _, d := range c.details {
		for i, w := range wrap(d[1], textWidth-lw) {
			label := ""
			if i == 0 {
				label = d[0] + ":"
			}
			line(label + strings.Repeat(" ", lw-utf8.RuneCountInString(label)) + w)
		}
	}
	line("")
	line(c.w.s("yourPIN"))
	line(strings.Repeat("-", utf8.RuneCountInString(c.w.s("yourPIN"))))
	line("")
	symbol := map[string]string{"digit": "9", "small": "a", "capital": "A", "": "-"}
	for i := 0; i < len(c.pin); i += textPINPerLine {
		end := min(i+textPINPerLine, len(c.pin))
		line("    " + strings.Join(c.pin[i:end], "   "))
		if c.kinds != nil {
			var k []string
			for _, kind := range c.kinds[i:end] {
				k = append(k, symbol[kind])
			}
			line("    " + strings.Join(k, "   "))
		}
		line("")
	}
	line(c.pinNote)
	if c.kinds != nil {
		line(c.w.s("kindsNote"))
	}
	for _, s := range c.sections {
		line("")
		line(s.title)
		line(strings.Repeat("-", utf8.RuneCountInString(s.title)))
		for _, p := range s.paras {
			for _, w := range wrap(p, textWidth) {
				line(w)
			}
		}
	}
	if c.footer != "" {
		line("")
		line(c.footer)
	}
	return b.String()
}

// wrap breaks s into lines of at most width characters at spaces (a word
// longer than width stands on its own line).
func wrap(s string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// inCP1252 reports whether every rune of s has a byte in Windows-1252, the
// code page of fpdf's core fonts.
func inCP1252(s string) bool {
	for _, r := range s {
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
			return false
		}
	}
	return true
}

// noDecomposition are Latin letters outside cp1252 that Unicode does not
// split into a base letter and a mark, with the letter a reader expects.
var noDecomposition = map[rune]string{'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'ı': "i", 'Ħ': "H", 'ħ': "h"}

// toCP1252 readies a name for the PDF's core fonts: characters cp1252 has
// stay (Å, Ö, é, ß, €), other accented letters lose the accent (ř → r,
// Ł → L), and what is left (Cyrillic, CJK, emoji) becomes "?", so a name
// is visibly incomplete rather than silently garbled. The text format keeps
// every name whole.
func toCP1252(s string) string {
	var b strings.Builder
	for _, r := range s {
		if inCP1252(string(r)) {
			b.WriteRune(r)
			continue
		}
		if t, ok := noDecomposition[r]; ok {
			b.WriteString(t)
			continue
		}
		base := ""
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, d) && inCP1252(string(d)) {
				base += string(d)
			}
		}
		if base == "" {
			base = "?"
		}
		b.WriteString(base)
	}
	return b.String()
}

// PDF layout, in millimetres on A4.
const (
	pageMargin = 20.0
	pageWidth  = 210.0 - 2*pageMargin
	labelWidth = 28.0
	boxMax     = 13.0 // a PIN box at its largest
	boxMin     = 8.5  // and smallest, so 63 characters fit in four rows
	footerY    = 297 - pageMargin
)

// renderPDF lays out the letter on one A4 page with fpdf's core fonts
// (nothing to embed). The PIN is in large Courier Bold, one character to a
// box, so a reader counts the characters and never wonders whether a gap
// is part of the PIN.
func renderPDF(l Letter) ([]byte, error) {
	c := l.content()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetAutoPageBreak(false, 0)
	if !l.Time.IsZero() {
		pdf.SetCreationDate(l.Time)
		pdf.SetModificationDate(l.Time)
	}
	pdf.SetTitle(c.title, false)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	enc := func(s string) string { return tr(toCP1252(s)) }
	pdf.AddPage()

	if c.org != "" {
		pdf.SetFont("Helvetica", "", 11)
		pdf.SetTextColor(90, 90, 90)
		pdf.MultiCell(pageWidth, 5, enc(c.org), "", "L", false)
		pdf.SetTextColor(0, 0, 0)
		pdf.Ln(3)
	}
	pdf.SetFont("Helvetica", "B", 22)
	pdf.CellFormat(pageWidth, 11, enc(c.title), "", 1, "L", false, 0, "")
	pdf.Ln(4)
	for _, d := range c.details {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(labelWidth, 6, enc(d[0]), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 11)
		pdf.MultiCell(pageWidth-labelWidth, 6, enc(d[1]), "", "L", false)
	}
	pdf.Ln(6)

	pdf.SetFont("Helvetica", "B", 13)
	pdf.CellFormat(pageWidth, 7, enc(c.w.s("yourPIN")), "", 1, "L", false, 0, "")
	pdf.Ln(2)
	box := min(boxMax, max(boxMin, pageWidth/float64(len(c.pin))))
	perRow := int(pageWidth / box)
	for i := 0; i < len(c.pin); i += perRow {
		end := min(i+perRow, len(c.pin))
		pdf.SetFont("Courier", "B", box*2.2)
		pdf.SetX(pageMargin)
		for _, ch := range c.pin[i:end] {
			pdf.CellFormat(box, box*1.25, enc(ch), "1", 0, "C", false, 0, "")
		}
		pdf.Ln(-1)
		if c.kinds != nil {
			pdf.SetFont("Helvetica", "", 6.5)
			pdf.SetX(pageMargin)
			for _, k := range c.kinds[i:end] {
				if k != "" {
					k = c.w.s("kind." + k)
				}
				pdf.CellFormat(box, 4, enc(k), "", 0, "C", false, 0, "")
			}
			pdf.Ln(-1)
		}
		pdf.Ln(2)
	}
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(pageWidth, 5, enc(c.pinNote), "", "L", false)

	for _, s := range c.sections {
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 12)
		pdf.CellFormat(pageWidth, 6, enc(s.title), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10.5)
		for _, p := range s.paras {
			pdf.MultiCell(pageWidth, 5, enc(p), "", "L", false)
		}
	}
	// Auto page break is off (a letter is one sheet), so content that ran
	// past the footer would be cut off silently: refuse it instead.
	if pdf.GetY() > footerY {
		return nil, errors.New("the letter does not fit on one page")
	}
	if c.footer != "" {
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(90, 90, 90)
		pdf.SetXY(pageMargin, footerY)
		pdf.MultiCell(pageWidth, 4, enc(c.footer), "", "L", false)
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
