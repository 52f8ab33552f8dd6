package tui

import (
	"errors"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/tap"
)

// explain is what the person reads for a problem, in their language.
// tapd's codes each have a sentence ("err."+code); a code the catalogue
// does not know shows tapd's own (English) message, cleaned.
func (m *Model) explain(err error) string {
	var ae *api.Error
	var eu *flows.ErrUPN
	var nk *flows.NotKeysPINError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &eu):
		if eu.Reason == flows.UPNLong {
			return m.t.S("upn.err.long", tap.MaxUPNLength)
		}
		return m.t.S("upn.err." + eu.Reason)
	case errors.As(err, &nk):
		if nk.Policy.Rule == fido.RuleTooShort {
			return m.t.S("pin.enter.short", nk.Policy.MinLen)
		}
		return m.t.S("pin.enter.cannot")
	case errors.Is(err, flows.ErrPINsDiffer):
		return m.t.S("pin.differ")
	case errors.Is(err, flows.ErrPINSame):
		return m.t.S("pin.same")
	case errors.Is(err, flows.ErrSwapKey):
		return m.t.S("key.swap")
	case errors.Is(err, flows.ErrFullNoCleanup):
		return m.t.S("full.noCleanup")
	case errors.Is(err, flows.ErrBackupHoldsYours):
		return m.t.S("backup.holdsYours")
	case errors.Is(err, flows.ErrNotTheRegisteredKey):
		return m.t.S("check.notThisKey")
	case errors.Is(err, errPassShort):
		return m.t.S("pass.short", tap.MinPassLength, tap.MaxPassLength)
	case errors.Is(err, flows.ErrKeyName):
		return m.t.S("name.rule", tap.MaxNameLength)
	case errors.As(err, &ae) && ae.Code == api.CodePassNotYetValid:
		when := "?"
		if ae.StartDateTime != nil {
			when = m.minute(*ae.StartDateTime)
		}
		return m.t.S("err.passNotYetValid", when)
	case errors.As(err, &ae) && ae.Code == api.CodeTooManyAttempts:
		if left := m.lockedTill.Sub(m.cfg.Now()); left > 0 {
			return m.t.S("err.tooManyAttempts", mmss(left))
		}
		return m.t.S("err.tooManyAttempts.over") // not "try again in 0:00"
	}
	return explainFor(m.t, err)
}

// explainFor is the sentence for what every mode of the kiosk can meet:
// tapd out of reach, tapd's codes ("err."+code; a code the catalogue does
// not know shows tapd's own English message, cleaned) and the key's
// problems.
func explainFor(t T, err error) string {
	var ae *api.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, api.ErrUnreachable):
		return t.S("err.unreachable")
	case errors.As(err, &ae):
		if k := "err." + string(ae.Code); t.Has(k) {
			return t.S(k)
		}
		return t.S("err.service", Clean(ae.Message, 200))
	}
	reason, args := fido.Explain(err)
	return t.S("key.err."+reason, args...)
}
