package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// csvOf is a CSV with header and n rows made by row(i).
func csvOf(header string, n int, row func(i int) string) string {
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		b.WriteString(row(i))
	}
	return b.String()
}

// TestImportRowLimit: a user import past MaxImportRows is 413
// tooManyRows and keeps nothing; one at the limit is read whole.
func TestImportRowLimit(t *testing.T) {
	e := newEnv(t, "sqlite")
	good := func(i int) string { return fmt.Sprintf("u%d@example.com,U\n", i) }
	over := csvOf("userPrincipalName,displayName\n", recovery.MaxImportRows+1, good)
	_, err := e.admin.ImportUsers(bg, strings.NewReader(over), true)
	if ae := code(t, err, 413, api.CodeTooManyRows); !strings.Contains(ae.Message, fmt.Sprint(recovery.MaxImportRows)) {
		t.Fatal(ae.Message)
	}
	if us, err := e.admin.ListUsers(bg); err != nil || len(us) != 0 {
		t.Fatalf("after a refused import: %d users, %v", len(us), err)
	}
	// At the limit, every row bad: the answer lists 100 and counts all.
	atLimit := csvOf("userPrincipalName,displayName\n", recovery.MaxImportRows, func(int) string { return "a,b\n" })
	_, err = e.admin.ImportUsers(bg, strings.NewReader(atLimit), false)
	ae := code(t, err, 400, api.CodeImportFailed)
	if len(ae.Rows) != recovery.MaxRowErrors || ae.RowsFailed != recovery.MaxImportRows || ae.Rows[0].Row != 2 || ae.Rows[99].Row != 101 {
		t.Fatalf("%d rows listed (first %+v), %d counted", len(ae.Rows), ae.Rows[0], ae.RowsFailed)
	}
}

// TestImportListsFirstProblems: good rows before bad ones are not written
// by default (one bad row imports nothing); with partial they are, and
// either way the answer lists the first 100 problems with the count.
func TestImportListsFirstProblems(t *testing.T) {
	e := newEnv(t, "sqlite")
	body := csvOf("userPrincipalName,displayName\n", 253, func(i int) string {
		if i < 3 {
			return fmt.Sprintf("ok%d@example.com,Ok\n", i)
		}
		return fmt.Sprintf("bad %d,Bad\n", i)
	})
	_, err := e.admin.ImportUsers(bg, strings.NewReader(body), false)
	ae := code(t, err, 400, api.CodeImportFailed)
	if len(ae.Rows) != 100 || ae.RowsFailed != 250 || ae.Rows[0].Row != 5 || !strings.Contains(ae.Message, "250 row(s)") {
		t.Fatalf("%d rows listed (first %+v), %d counted: %s", len(ae.Rows), ae.Rows[0], ae.RowsFailed, ae.Message)
	}
	if us, _ := e.admin.ListUsers(bg); len(us) != 0 {
		t.Fatalf("a refused import wrote %d users", len(us))
	}
	res, err := e.admin.ImportUsers(bg, strings.NewReader(body), true)
	if err != nil || res.Created != 3 || len(res.Failed) != 100 || res.FailedCount != 250 {
		t.Fatalf("partial: created %d, %d listed, %d counted, %v", res.Created, len(res.Failed), res.FailedCount, err)
	}
}

// TestStagingImportLimits: a staging CSV past MaxStagingRows is 413
// tooManyRows; a refused one lists the first 100 problems and counts all;
// neither makes a batch.
func TestStagingImportLimits(t *testing.T) {
	e := newEnv(t, "sqlite")
	over := csvOf("", recovery.MaxStagingRows+1, func(int) string { return "x\n" })
	_, err := e.admin.ImportStagingBatch(bg, "big", strings.NewReader(over))
	code(t, err, 413, api.CodeTooManyRows)
	unknown := csvOf("upn,displayName,keyName\n", 150, func(i int) string { return fmt.Sprintf("nobody%d@example.com,,\n", i) })
	_, err = e.admin.ImportStagingBatch(bg, "unknown", strings.NewReader(unknown))
	ae := code(t, err, 400, api.CodeImportFailed)
	if len(ae.Rows) != 100 || ae.RowsFailed != 150 || ae.Rows[0].Row != 2 || !strings.Contains(ae.Rows[0].Message, "no such user") {
		t.Fatalf("%d rows listed (first %+v), %d counted", len(ae.Rows), ae.Rows[0], ae.RowsFailed)
	}
	if bs, err := e.admin.ListStagingBatches(bg); err != nil || len(bs) != 0 {
		t.Fatalf("batches after refusals: %+v %v", bs, err)
	}
}

// TestImportLongFieldNotEchoed: a bad row's UPN comes back cut to the
// longest a UPN may be, not as sent.
func TestImportLongFieldNotEchoed(t *testing.T) {
	e := newEnv(t, "sqlite")
	_, err := e.admin.ImportUsers(bg, strings.NewReader("userPrincipalName,displayName\n"+strings.Repeat("é", 50000)+",x\n"), false)
	ae := code(t, err, 400, api.CodeImportFailed)
	if got := ae.Rows[0].UserPrincipalName; len(got) > 120 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "éé") {
		t.Fatalf("echoed %d bytes: %.40q", len(got), got)
	}
}
