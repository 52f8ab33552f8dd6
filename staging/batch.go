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
type Owner struct {
	Row   api.StagingRow
	Batch string
}

// FindBySerial looks through tapd's batches for a registered row with
// this serial number: a key staged for someone, plugged in again. Keys
// without a serial cannot be told apart this way.
func (s *Stager) FindBySerial(ctx context.Context, serial string) (*Owner, error) {
	if serial == "" {
		return nil, nil
	}
	bs, err := s.Client.ListStagingBatches(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		if b.RegisteredCount == 0 {
			continue
		}
		full, err := s.Client.GetStagingBatch(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range full.Rows {
			if r.State == api.StagingRegistered && r.SerialNumber == serial {
				return &Owner{Row: r, Batch: full.Name}, nil
			}
		}
	}
	return nil, nil
}
