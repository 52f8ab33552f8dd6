// Package auditlog exports the audit trail as JSON lines, one per entry as
// it is kept, to stdout (the journal, under systemd) or a file, for a SIEM
// or a log shipper. It is a recovery.Observer; the database's trail stays
// the record, and this is a copy that outlives its retention.
package auditlog

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// Writer writes audit lines. Safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	f    *os.File // when writing to a file
	path string
	// failed is set after a write fails, so the error is reported once.
	failed bool
	onErr  func(error)
}

// Open writes to "-" (stdout) or appends to the file at target (made 0600
// if new). onErr hears the first failed write after a good one.
func Open(target string, onErr func(error)) (*Writer, error) {
	w := &Writer{path: target, onErr: onErr}
	if target == "-" {
		w.w = os.Stdout
		return w, nil
	}
	return w, w.Reopen()
}

// Reopen opens the file afresh (after logrotate moved it: SIGHUP).
func (w *Writer) Reopen() error {
	if w.path == "-" {
		return nil
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--audit-log: %w", err)
	}
	w.mu.Lock()
	old := w.f
	w.f, w.w, w.failed = f, f, false
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		return w.f.Close()
	}
	return nil
}

// line is an exported entry: the API's shape (as tapctl audit --json),
// marked as audit for a reader that mixes it with tapd's log. Its id is
// the database's: a crash may write an entry again (never lose one), so
// a reader keeps the last line of each id (a grouped entry is written
// again each time its repeats grow).
type line struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
	api.AuditEntry
}

// write writes the entries as lines, in one write, and syncs a file, so
// that what it reports written survives a crash.
func (w *Writer) write(es []store.AuditEntry) error {
	var b []byte
	for _, e := range es {
		j, err := json.Marshal(line{Time: e.At, Msg: "audit", AuditEntry: recovery.AuditOut(e)})
		if err != nil {
			return err
		}
		b = append(append(b, j...), '\n')
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.w.Write(b)
	if err == nil && w.f != nil {
		err = w.f.Sync()
	}
	if err != nil {
		if !w.failed && w.onErr != nil {
			w.onErr(err)
		}
		w.failed = true
		return err
	}
	w.failed = false
	return nil
}
