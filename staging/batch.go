package staging

import "github.com/tapkiosk/tapkiosk/api"

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
