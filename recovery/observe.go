package recovery

import (
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// Observer hears what the service decided, for metrics and the audit
// export. It is told after the fact (an audit entry only once its
// transaction has committed) and must not block: tapd's implementations
// count or write a line.
type Observer interface {
	// Audited is every audit entry the service keeps: sign-ins and their
	// refusals, ceremonies, admin actions.
	Audited(e store.AuditEntry)
	// Locked is a lock that a wrong guess just started; kind is user,
	// kiosk or address.
	Locked(kind string, length time.Duration)
	// HashSlots is the pass checks running, after one starts or ends, out
	// of capacity; refused says a sign-in found every slot taken.
	HashSlots(inUse, capacity int, refused bool)
}

// Observers tells each of several observers, in order.
type Observers []Observer

func (os Observers) Audited(e store.AuditEntry) {
	for _, o := range os {
		o.Audited(e)
	}
}

func (os Observers) Locked(kind string, d time.Duration) {
	for _, o := range os {
		o.Locked(kind, d)
	}
}

func (os Observers) HashSlots(inUse, capacity int, refused bool) {
	for _, o := range os {
		o.HashSlots(inUse, capacity, refused)
	}
}

// noObserver is the observer when none is given.
type noObserver struct{}

func (noObserver) Audited(store.AuditEntry)     {}
func (noObserver) Locked(string, time.Duration) {}
func (noObserver) HashSlots(int, int, bool)     {}
