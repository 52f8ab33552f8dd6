package flows

// Clean-up of the methods the person lost, and the pass at the end.

import (
	"slices"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

func (j *Journey) toCleanup() {
	j.pin = "" // the PIN's last use was the key check
	j.Step = StepCleanup
}

// MethodsLoaded lists the person's methods for clean-up, leaving out the
// new keys and the pass, which clean-up does not offer.
func (j *Journey) MethodsLoaded(ms []api.AuthenticationMethod, err error) {
	if j.Step != StepCleanup {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.PassLoaded(ms)
	j.Methods = nil
	for _, m := range ms {
		if j.isNew(m) || m.Type == api.TypeTAP {
			continue
		}
		j.Methods = append(j.Methods, m)
	}
}

// PassLoaded notes what the methods list says of the pass: when it ends
// and whether it is one-time.
func (j *Journey) PassLoaded(ms []api.AuthenticationMethod) {
	for _, m := range ms {
		if m.Type != api.TypeTAP {
			continue
		}
		if m.StartDateTime != nil {
			j.PassEnds = m.StartDateTime.Add(time.Duration(m.LifetimeInMinutes) * time.Minute)
		}
		j.PassOnce = m.IsUsableOnce != nil && *m.IsUsableOnce
	}
}

// Mark marks or unmarks a method for removal at clean-up.
func (j *Journey) Mark(id string) {
	if j.Step != StepCleanup {
		return
	}
	if j.marked == nil {
		j.marked = map[string]bool{}
	}
	j.marked[id] = !j.marked[id]
}

// IsMarked reports whether the method is marked for removal.
func (j *Journey) IsMarked(id string) bool { return j.marked[id] }

// Marked lists the marked methods, in list order.
func (j *Journey) Marked() []api.AuthenticationMethod {
	var out []api.AuthenticationMethod
	for _, m := range j.Methods {
		if j.marked[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

// MethodRemoved reports one removal. A refusal is kept with the method,
// so each result can be shown; the method stays in the list to try again.
func (j *Journey) MethodRemoved(id string, err error) {
	if j.Step != StepCleanup {
		return
	}
	delete(j.marked, id)
	for i, m := range j.Methods {
		if m.ID != id {
			continue
		}
		j.Failed = slices.DeleteFunc(j.Failed, func(r Removal) bool { return r.Method.ID == id })
		if err != nil {
			j.Failed = append(j.Failed, Removal{m, err})
			return
		}
		j.Removed = append(j.Removed, m)
		j.Methods = append(j.Methods[:i], j.Methods[i+1:]...)
		return
	}
}

// CleanupDone moves to the pass question. Marks not yet removed stay:
// the person must remove or unmark them first.
func (j *Journey) CleanupDone() {
	if j.Step == StepCleanup && len(j.Marked()) == 0 {
		j.Step, j.Problem = StepDeletePass, nil
	}
}

// PassResult reports whether the pass was deleted (or kept, when keep).
func (j *Journey) PassResult(keep bool, err error) {
	if j.Step != StepDeletePass {
		return
	}
	if err != nil {
		j.Problem = err
		return
	}
	j.PassDeleted, j.PassKept = !keep, keep
	j.Step, j.Problem = StepDone, nil
}
