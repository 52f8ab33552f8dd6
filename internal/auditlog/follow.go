package auditlog

import (
	"context"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// Exporter follows the store's committed audit entries into a Writer. It
// reads the store's export queue (each entry is queued in the transaction
// that keeps it), writes and syncs the lines, and only then removes
// exactly the queue rows it wrote. So the position lives in the store:
// an entry committed late with a smaller id (PostgreSQL hands ids out
// before commit) is still queued for the next pass, a crash between the
// write and the removal writes those entries again, and nothing committed
// is ever skipped. It is a recovery.Observer only to hear that something
// was audited, so it exports at once rather than at the next tick.
type Exporter struct {
	st    store.Audit
	w     *Writer
	poke  chan struct{}
	every time.Duration
	onErr func(error)
}

// batch is how many entries one pass writes at most.
const batch = 500

// NewExporter exports st's audit entries to w; onErr hears a pass that
// failed (the entries stay queued and are tried again).
func NewExporter(st store.Audit, w *Writer, onErr func(error)) *Exporter {
	if onErr == nil {
		onErr = func(error) {}
	}
	return &Exporter{st: st, w: w, poke: make(chan struct{}, 1), every: 2 * time.Second, onErr: onErr}
}

// Run exports until ctx ends: at once when told of an entry, and every
// few seconds in any case (entries kept by another tapd instance, or
// left queued by a failed pass).
func (x *Exporter) Run(ctx context.Context) {
	t := time.NewTicker(x.every)
	defer t.Stop()
	for {
		if err := x.Drain(ctx); err != nil && ctx.Err() == nil {
			x.onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-x.poke:
		case <-t.C:
		}
	}
}

// Drain exports every queued entry now.
func (x *Exporter) Drain(ctx context.Context) error {
	for {
		xs, err := x.st.AuditToExport(ctx, batch)
		if err != nil || len(xs) == 0 {
			return err
		}
		es := make([]store.AuditEntry, len(xs))
		seqs := make([]int64, len(xs))
		for i, q := range xs {
			es[i], seqs[i] = q.Entry, q.Seq
		}
		if err := x.w.write(es); err != nil {
			return err
		}
		if err := x.st.AuditExported(ctx, seqs); err != nil {
			return err
		}
		if len(xs) < batch {
			return nil
		}
	}
}

// Audited asks for a pass soon; it never blocks.
func (x *Exporter) Audited(store.AuditEntry) {
	select {
	case x.poke <- struct{}{}:
	default:
	}
}

// Locked and HashSlots are not audit entries.
func (x *Exporter) Locked(string, time.Duration) {}
func (x *Exporter) HashSlots(int, int, bool)     {}
