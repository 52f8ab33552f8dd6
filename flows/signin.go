package flows

// The sign-in: the UPN, the pass, and the lockout count.

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/tap"
)

// ErrUPN is a UPN that cannot be sent. Reason is one of the UPN*
// reasons, for the kiosk's catalogue; Detail is tap's English sentence,
// for logs.
type ErrUPN struct{ Reason, Detail string }

func (e *ErrUPN) Error() string { return "your sign-in name " + e.Detail }

// Why a UPN is refused. tap.NormalizeUPN is the judge; these name its
// verdict so that each language can say it.
const (
	UPNEmpty   = "empty"
	UPNLong    = "long"
	UPNControl = "control"
	UPNSpace   = "space"
	UPNForm    = "form"
	UPNDomain  = "domain"
)

// CheckUPN validates as the person types.
func CheckUPN(s string) error {
	if _, err := tap.NormalizeUPN(s); err != nil {
		return &ErrUPN{Reason: upnReason(s), Detail: err.Error()}
	}
	return nil
}

// upnReason names why tap refused s, in the order tap checks.
func upnReason(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return UPNEmpty
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return UPNControl
	case utf8.RuneCountInString(s) > tap.MaxUPNLength:
		return UPNLong
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return UPNSpace
	case strings.Count(s, "@") != 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@"):
		return UPNForm
	}
	return UPNDomain
}

// SubmitUPN moves to the pass step when the UPN is well formed.
func (j *Journey) SubmitUPN(s string) error {
	if j.Step != StepUPN {
		return errWrongStep
	}
	if err := CheckUPN(s); err != nil {
		j.Problem = err
		return err
	}
	upn, _ := tap.NormalizeUPN(s)
	if tap.UPNKey(upn) != tap.UPNKey(j.UPN) {
		j.WrongPasses, j.AfterLock = 0, false // another account's count
	}
	j.UPN, j.Step, j.Problem = upn, StepPass, nil
	return nil
}

var errWrongStep = errors.New("not at that step")

// SignInResult reports tapd's answer to the pass.
func (j *Journey) SignInResult(s api.Session, err error) {
	if j.Step != StepPass {
		return
	}
	if err != nil {
		j.Problem = err // the TUI explains tapd's code: wrong, expired, locked...
		var ae *api.Error
		if errors.As(err, &ae) {
			switch {
			case ae.Code == api.CodeInvalidCredentials && j.AfterLock:
				// After a lock tapd allows one guess per round, and a wrong
				// one locks again (429). A plain "wrong" means tapd no
				// longer holds the lock (an admin's unlock, a new pass):
				// tapd is the truth, so count afresh.
				j.WrongPasses, j.AfterLock = 1, false
			case ae.Code == api.CodeInvalidCredentials:
				j.WrongPasses++
			case ae.Code == api.CodeTooManyAttempts:
				j.WrongPasses, j.AfterLock = 0, true
			}
		}
		return
	}
	j.Session, j.Step, j.Problem = s, StepInsertKey, nil
	j.WrongPasses, j.AfterLock = 0, false // a right pass clears tapd's count
}

// LockThreshold is tapd's published number of wrong passes that lock an
// account's pass sign-in (recovery.DefaultLockout): 10, then a minute.
const LockThreshold = 10

// TriesBeforeLock says how many more wrong passes may lock the account's
// pass sign-in. tapd does not say how many it has counted (that would
// tell whether the account exists), so the kiosk counts this person's own
// wrong tries: others may have tried too, so before a lock the figure is
// an upper bound (exact false). After a lock tapd allows one guess per
// round, so the next wrong try locks again for certain (exact true).
func (j *Journey) TriesBeforeLock() (n int, exact bool) {
	if j.AfterLock {
		return 1, true
	}
	return max(LockThreshold-j.WrongPasses, 0), false
}
