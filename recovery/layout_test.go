package recovery

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoBackEndImport: nothing in recovery picks a directory back end
// (DESIGN's layout); what both back ends and recovery share lives in
// directory itself.
func TestNoBackEndImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if strings.HasPrefix(p, "github.com/tapkiosk/tapkiosk/directory/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
