package recovery

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Staging over weeks: keys come back, people lose them, people are
// skipped. A registered row holds its person (no second batch stages them)
// and its key (no station wipes it) only while the key's registration
// lasts. tapd turns the row removed itself when it deletes the method (the
// admin route, a walk-up kiosk's clean-up, a re-issue); a method deleted
// in Entra is noticed when tapd next looks at the person for a staging
// decision (settle), since reading every registered row's person from
// Graph on every batch read would cost a call per person.

// settle checks rows' registered keys against the directory: a row whose
// key's registration is gone is turned removed, in the store and in
// rows. The person's methods are read once per person.
func (s *Service) settle(ctx context.Context, c *Caller, rows []store.StagingRow) ([]store.StagingRow, error) {
	live := map[string]map[string]bool{}
	for i, r := range rows {
		if r.State != store.StagingRegistered {
			continue
		}
		k := tap.UPNKey(r.UPN)
		ids, ok := live[k]
		if !ok {
			ms, err := s.dir.Methods(ctx, r.UPN)
			// A person the directory no longer knows has no keys either.
			if err != nil && !isCode(err, api.CodeUserNotFound) {
				return rows, err
			}
			ids = map[string]bool{}
			for _, m := range ms {
				ids[m.ID] = true
			}
			live[k] = ids
		}
		if ids[r.MethodID] {
			continue
		}
		if _, err := s.st.StagedKeyRemoved(ctx, r.UPN, r.MethodID, s.now()); err != nil {
			return rows, err
		}
		c.Log.Info("staged key's registration is gone; its row holds nobody now", "batch", r.BatchID, "row", r.ID, "method_id", r.MethodID)
		rows[i].State = store.StagingRemoved
	}
	return rows, nil
}

// stagingRowOf finds a row of a batch (by the batch's id or name) and
// the batch, for errors that name the batch as people know it.
func (s *Service) stagingRowOf(ctx context.Context, ref, rowID string) (store.StagingBatch, store.StagingRow, error) {
	b, _, err := s.stagingBatch(ctx, ref)
	if err != nil {
		return b, store.StagingRow{}, err
	}
	r, err := s.st.GetStagingRow(ctx, b.ID, rowID)
	if errors.Is(err, store.ErrNotFound) {
		return b, r, api.NotFound("Staging batch %s has no row %s.", b.Name, rowID)
	}
	return b, r, err
}

// StagingRow reads one row, settled against the directory first: a
// station asks before it refuses to wipe a key staged for someone.
func (s *Service) StagingRow(ctx context.Context, c *Caller, ref, rowID string) (api.StagingRow, error) {
	_, r, err := s.stagingRowOf(ctx, ref, rowID)
	if err != nil {
		return api.StagingRow{}, err
	}
	rows, err := s.settle(ctx, c, []store.StagingRow{r})
	return stagingRowOut(rows[0]), err
}

// mayTouchRow applies the row's person's role rule: a row is managed as
// its person is. A person the directory no longer knows protects nothing.
func (s *Service) mayTouchRow(ctx context.Context, c *Caller, r store.StagingRow) error {
	u, err := s.dir.User(ctx, r.UPN)
	if isCode(err, api.CodeUserNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.canManageUser(ctx, c, u)
}

func rowDetails(b store.StagingBatch, r store.StagingRow) map[string]string {
	d := map[string]string{"stagingBatchId": b.ID, "stagingBatch": b.Name, "stagingRowId": r.ID, "state": r.State}
	if r.MethodID != "" {
		d["methodId"], d["serialNumber"] = r.MethodID, r.SerialNumber
	}
	return d
}

// errRowHolds is a row that holds a key, or that a station holds now.
func errRowHolds(b store.StagingBatch, r store.StagingRow, err error, now time.Time) error {
	if errors.Is(err, store.ErrLeased) {
		return errRowBusy(r, now)
	}
	return api.Conflict(api.CodeStagingRowRegistered, "%s has a key registered from batch %s (method %s): remove that registration first (tapctl methods delete), or re-issue (tapctl staging reissue).",
		r.UPN, b.Name, r.MethodID)
}

// DeleteStagingBatch deletes a batch that holds no key: none of its rows
// is registered (checked against the directory) or being registered now.
func (s *Service) DeleteStagingBatch(ctx context.Context, c *Caller, ref string) error {
	b, rows, err := s.stagingBatch(ctx, ref)
	if err != nil {
		return err
	}
	if _, err := s.settle(ctx, c, rows); err != nil {
		return err
	}
	details := map[string]string{"stagingBatchId": b.ID, "stagingBatch": b.Name, "rows": strconv.Itoa(len(rows))}
	now := s.now()
	var held store.StagingRow
	err = s.inStore(ctx, func(u unit) error {
		var err error
		if held, err = u.st.DeleteStagingBatch(ctx, b.ID, now); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionDeleteStagingBatch, "", details)
	})
	switch {
	case errors.Is(err, store.ErrRegistered):
		return s.refuse(ctx, c, api.ActionDeleteStagingBatch, "", "keyRegistered", errRowHolds(b, held, err, now), details)
	case errors.Is(err, store.ErrLeased):
		return s.refuse(ctx, c, api.ActionDeleteStagingBatch, "", "rowBusy", errRowHolds(b, held, err, now), details)
	case errors.Is(err, store.ErrNotFound):
		return api.NotFound("No staging batch %s.", b.Name)
	}
	return err
}

// RemoveStagingRow removes one person's row that holds no key, so they
// are no longer part of the batch. The row is managed as its person is.
func (s *Service) RemoveStagingRow(ctx context.Context, c *Caller, ref, rowID string) error {
	b, r, err := s.stagingRowOf(ctx, ref, rowID)
	if err != nil {
		return err
	}
	if err := s.mayTouchRow(ctx, c, r); err != nil {
		return err
	}
	rows, err := s.settle(ctx, c, []store.StagingRow{r})
	if err != nil {
		return err
	}
	r = rows[0] // as settled: the audit gives the state the row is in
	target, details, now := tap.UPNKey(r.UPN), rowDetails(b, r), s.now()
	err = s.inStore(ctx, func(u unit) error {
		var err error
		if r, err = u.st.DeleteStagingRow(ctx, b.ID, r.ID, now); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionRemoveStagingRow, target, details)
	})
	switch {
	case errors.Is(err, store.ErrRegistered):
		return s.refuse(ctx, c, api.ActionRemoveStagingRow, target, "keyRegistered", errRowHolds(b, r, err, now), details)
	case errors.Is(err, store.ErrLeased):
		return s.refuse(ctx, c, api.ActionRemoveStagingRow, target, "rowBusy", errRowHolds(b, r, err, now), details)
	case errors.Is(err, store.ErrNotFound):
		return api.NotFound("Staging batch %s has no row %s.", b.Name, rowID)
	}
	return err
}

// ReissueStagingRow stages a person anew whose staged key was lost: the
// key's registration is removed (if it is still there) and the row goes
// back to pending, in one transaction with the local directory. The
// caller has confirmed: the lost key stops working at once.
func (s *Service) ReissueStagingRow(ctx context.Context, c *Caller, ref, rowID string) (api.StagingRow, error) {
	b, r, err := s.stagingRowOf(ctx, ref, rowID)
	if err != nil {
		return api.StagingRow{}, err
	}
	u, err := s.user(ctx, r.UPN)
	if err != nil {
		return api.StagingRow{}, err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return api.StagingRow{}, err
	}
	target, details := tap.UPNKey(r.UPN), rowDetails(b, r)
	if r.State != store.StagingRegistered && r.State != store.StagingRemoved {
		return api.StagingRow{}, s.refuse(ctx, c, api.ActionReissueStagingRow, target, "noKey",
			api.Invalid("state", "%s's row in batch %s is %s: it has no key to re-issue.", r.UPN, b.Name, r.State), details)
	}
	var lost *directory.Method
	if r.State == store.StagingRegistered {
		ms, err := s.dir.Methods(ctx, u.UPN)
		if err != nil {
			return api.StagingRow{}, err
		}
		for i := range ms {
			if ms[i].ID == r.MethodID {
				lost = &ms[i]
			}
		}
	}
	now := s.now()
	err = s.inDirectory(ctx, func(un unit) error {
		var t directory.Trace
		if lost != nil {
			var err error
			if t, err = un.dir.DeleteMethod(ctx, u.UPN, *lost); err != nil {
				return err
			}
			details["methodDeleted"] = "true"
		}
		if err := un.st.ReissueStagingRow(ctx, b.ID, r.ID, r.MethodID, now); err != nil {
			return err
		}
		return s.done(ctx, c, un, api.ActionReissueStagingRow, target, merge(details, t))
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.StagingRow{}, api.Conflict(api.CodeStagingRowRegistered, "%s's row in batch %s changed meanwhile; look at it again (tapctl staging show %s).", r.UPN, b.Name, b.Name)
	}
	if err != nil {
		return api.StagingRow{}, s.failed(ctx, c, api.ActionReissueStagingRow, target, err, details)
	}
	out, err := s.st.GetStagingRow(ctx, b.ID, r.ID)
	return stagingRowOut(out), err
}

// StagingManifest lists everyone in the batch, in row order: registered
// people with their key, and the others with their state and, for the
// skipped and failed, the reason.
func (s *Service) StagingManifest(ctx context.Context, ref string) ([]api.ManifestEntry, error) {
	_, rows, err := s.stagingBatch(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := []api.ManifestEntry{}
	for _, r := range rows {
		out = append(out, api.ManifestEntry{UserPrincipalName: r.UPN, DisplayName: r.DisplayName, KeyName: r.KeyName, State: r.State,
			FailureReason: r.Reason, MethodID: r.MethodID, AAGUID: r.AAGUID, Model: r.Model, SerialNumber: r.SerialNumber,
			CredentialID: r.CredentialID, RegisteredDateTime: r.RegisteredAt, PINChangeForced: r.PINChangeForced})
	}
	return out, nil
}
