package recovery

import (
	"fmt"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Bulk input (a CSV import of users, a staging batch) is checked row by
// row as it is read, and only what will be written is kept: the rows that
// passed, and the first MaxRowErrors problems with a count of all. So a
// file's cost is bounded by its row limit, not by how many of its rows
// are bad, and the answer that lists the problems stays small.

// MaxImportRows bounds a user import's data rows (the header aside); a
// file with more is refused whole (413 tooManyRows) without being read
// further.
const MaxImportRows = 10000

// MaxRowErrors is how many problems a refusal or a partial import lists;
// the count covers all of them.
const MaxRowErrors = 100

// rowProblems keeps the first MaxRowErrors problems and counts them all.
type rowProblems struct {
	list  []api.RowError
	count int
}

// add keeps a problem; a UPN as typed is cut to its longest valid length
// (ending in "..."), so one huge field is not echoed back.
func (p *rowProblems) add(row int, upn, format string, args ...any) {
	p.count++
	if len(upn) > tap.MaxUPNLength {
		upn = strings.ToValidUTF8(upn[:tap.MaxUPNLength], "") + "..."
	}
	if len(p.list) < MaxRowErrors {
		p.list = append(p.list, api.RowError{Row: row, UserPrincipalName: upn, Message: fmt.Sprintf(format, args...)})
	}
}

// listed is the kept problems, never nil (the JSON has [] for none).
func (p *rowProblems) listed() []api.RowError {
	if p.list == nil {
		return []api.RowError{}
	}
	return p.list
}

// refusal is the importFailed error for the problems: message, the first
// rows and the count.
func (p *rowProblems) refusal(format string, args ...any) *api.Error {
	e := api.E(api.CodeImportFailed, format, args...)
	e.Rows, e.RowsFailed = p.listed(), p.count
	return e
}

// tooManyRows refuses input past a row limit.
func tooManyRows(what string, limit int) *api.Error {
	return api.E(api.CodeTooManyRows, "The file has more than %d %s; nothing was imported. Split it into files of at most %d.", limit, what, limit)
}
