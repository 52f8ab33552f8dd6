package staging

import (
	"context"

	"github.com/tapkiosk/tapkiosk/api"
)

// Next is the batch's first pending row that is not in skip (rows another
// station holds this run), with its place in the batch counted from 1,
// as "3 of 40" says it. ok is false when no such row is left.
func Next(b api.StagingBatch, skip map[string]bool) (row api.StagingRow, pos int, ok bool) {
	for i, r := range b.Rows {
		if r.State == api.StagingPending && !skip[r.ID] {
			return r, i + 1, true
		}
	}
	return api.StagingRow{}, 0, false
}

// Owner is a key's staged registration: the row and its batch's name.
// A row in state removed no longer holds the key: its registration is
// gone, and the key may be wiped once the operator has seen whose it was.
type Owner struct {
	Row   api.StagingRow
	Batch string
}

// Holds reports whether the key is still registered for the row's
// person, so that wiping it would take their key away.
func (o *Owner) Holds() bool { return o != nil && o.Row.State != api.StagingRemoved }

// Rows tapd keeps a key's facts on: registered, and removed (whose
// registration is gone).
func keyRow(r api.StagingRow) bool {
	return r.State == api.StagingRegistered || r.State == api.StagingRemoved
}

// FindBySerial looks through tapd's batches for the rows staged with this
// serial number: a key staged for someone, plugged in again. A row still
// registered is checked with tapd first (which asks the directory), so a
// key whose registration was removed since, even in Entra, is told as
// removed; one still registered wins over rows of its past. Keys without
// a serial cannot be told apart this way.
func (s *Stager) FindBySerial(ctx context.Context, serial string) (*Owner, error) {
	if serial == "" {
		return nil, nil
	}
	bs, err := s.Client.ListStagingBatches(ctx)
	if err != nil {
		return nil, err
	}
	var past *Owner
	for _, b := range bs {
		if b.RegisteredCount == 0 && b.RemovedCount == 0 {
			continue
		}
		full, err := s.Client.GetStagingBatch(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range full.Rows {
			if !keyRow(r) || r.SerialNumber != serial {
				continue
			}
			if r.State == api.StagingRegistered {
				if r, err = s.Client.GetStagingRow(ctx, full.ID, r.ID); err != nil {
					return nil, err
				}
				if r.State == api.StagingRegistered {
					return &Owner{Row: r, Batch: full.Name}, nil
				}
			}
			if past == nil || later(r, past.Row) {
				past = &Owner{Row: r, Batch: full.Name}
			}
		}
	}
	return past, nil
}

func later(a, b api.StagingRow) bool {
	return a.RegisteredDateTime != nil && (b.RegisteredDateTime == nil || a.RegisteredDateTime.After(*b.RegisteredDateTime))
}
