package recovery

import (
	"context"
	"strconv"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// ImportRow is one CSV row as read: its line number and its fields.
type ImportRow struct {
	Row  int
	User api.User
	// Err, when set, is why the row could not be read as CSV.
	Err string
}

// UserImport is a CSV import of users under way: each row is checked as
// it is read (Add), and the import is written or refused at the end
// (Finish). Unless partial is set, one bad row stops the import and
// nothing is written; with partial the good rows are written together, in
// one transaction. Either way nothing is written before the whole file is
// read: a write transaction is never held open on a client's upload.
type UserImport struct {
	s        *Service
	c        *Caller
	partial  bool
	mode     string
	now      time.Time
	rows     int
	good     []store.User
	problems rowProblems
	seen     map[string]int
}

// StartUserImport begins an import; mode is what the audit records of it.
func (s *Service) StartUserImport(ctx context.Context, c *Caller, partial bool, mode string) (*UserImport, error) {
	if _, err := userAdmin(s.dir); err != nil {
		return nil, err
	}
	return &UserImport{s: s, c: c, partial: partial, mode: mode, now: s.now().UTC(), seen: map[string]int{}}, nil
}

// Add checks one row. A bad row is kept as a problem; the error is the
// file's end (past MaxImportRows) or the directory's trouble.
func (im *UserImport) Add(ctx context.Context, r ImportRow) error {
	if im.rows++; im.rows > MaxImportRows {
		return tooManyRows("rows", MaxImportRows)
	}
	if r.Err != "" {
		im.problems.add(r.Row, "", "%s", r.Err)
		return nil
	}
	u, apiErr := validUser(r.User)
	if apiErr != nil {
		im.problems.add(r.Row, r.User.UserPrincipalName, "%s", apiErr.Message)
		return nil
	}
	key := tap.UPNKey(u.UPN)
	if first, dup := im.seen[key]; dup {
		im.problems.add(r.Row, u.UPN, "repeats row %d", first)
		return nil
	}
	im.seen[key] = r.Row
	if u.AdminRole != "" && !privileged(im.c) {
		im.problems.add(r.Row, u.UPN, "only a privileged authentication administrator may add users with an admin role")
		return nil
	}
	if _, err := im.s.dir.User(ctx, u.UPN); err == nil {
		im.problems.add(r.Row, u.UPN, "a user with this userPrincipalName already exists")
		return nil
	} else if !isCode(err, api.CodeUserNotFound) {
		return err
	}
	u.CreatedAt = im.now
	im.good = append(im.good, u)
	return nil
}

// Finish writes the good rows with the audit entry, or refuses the import
// (audited) when a row was bad and partial is not set.
func (im *UserImport) Finish(ctx context.Context) (api.ImportResult, error) {
	s, c := im.s, im.c
	details := map[string]string{"rowsOk": strconv.Itoa(len(im.good)), "rowsFailed": strconv.Itoa(im.problems.count), "mode": im.mode}
	if im.problems.count > 0 && !im.partial {
		e := im.problems.refusal("%d row(s) failed, so nothing was imported. Fix them, or import the good rows with `tapctl user import FILE --partial`.", im.problems.count)
		return api.ImportResult{}, s.refuse(ctx, c, api.ActionImportUsers, "", "badRows", e, details)
	}
	if err := s.asUserAdmin(ctx, c, api.ActionImportUsers, "", details, func(ua directory.UserAdmin) error {
		if len(im.good) == 0 {
			return nil
		}
		return ua.CreateUsers(ctx, im.good)
	}); err != nil {
		return api.ImportResult{}, err
	}
	return api.ImportResult{Created: len(im.good), Failed: im.problems.listed(), FailedCount: im.problems.count}, nil
}
