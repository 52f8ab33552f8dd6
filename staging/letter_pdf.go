package staging

import (
	"bytes"
	"errors"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// The letter as a PDF (PDF), in the core fonts' Windows-1252.

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
