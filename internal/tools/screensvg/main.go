// Command screensvg turns a text screen (tmux capture-pane -p) into an SVG
// picture of a terminal, so the README can show real screens of the kiosk.
//
//	tmux capture-pane -p -t demo | go run ./internal/tools/screensvg -title "Welcome" > welcome.svg
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"os"
	"strings"
)

func main() {
	title := flag.String("title", "", "caption above the screen")
	cols := flag.Int("cols", 80, "terminal width")
	rows := flag.Int("rows", 24, "terminal height")
	flag.Parse()
	var lines []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && len(lines) < *rows {
		lines = append(lines, strings.TrimRight(sc.Text(), " "))
	}
	const cw, lh, pad, top = 8.4, 17.0, 16.0, 34.0
	w := float64(*cols)*cw + 2*pad
	h := float64(*rows)*lh + top + pad
	fmt.Printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", w, h, w, h)
	fmt.Printf(`<rect width="100%%" height="100%%" rx="8" fill="#1e1e2e"/>` + "\n")
	fmt.Printf(`<circle cx="18" cy="16" r="5" fill="#f38ba8"/><circle cx="34" cy="16" r="5" fill="#f9e2af"/><circle cx="50" cy="16" r="5" fill="#a6e3a1"/>` + "\n")
	fmt.Printf(`<text x="%.0f" y="20" fill="#a6adc8" font-family="sans-serif" font-size="12" text-anchor="middle">%s</text>`+"\n", w/2, html.EscapeString(*title))
	fmt.Printf(`<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" fill="#cdd6f4" xml:space="preserve">` + "\n")
	for i, l := range lines {
		if l == "" {
			continue
		}
		fmt.Printf(`<text x="%.0f" y="%.1f" textLength="%.1f" lengthAdjust="spacingAndGlyphs">%s</text>`+"\n",
			pad, top+float64(i+1)*lh-4, float64(len([]rune(l)))*cw, html.EscapeString(l))
	}
	fmt.Println("</g></svg>")
}
