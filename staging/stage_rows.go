package staging

import (
	"context"
	"encoding/json"
	"path/filepath"

	"github.com/tapkiosk/tapkiosk/api"
)

// A row's life cycle after Stage: marked failed (skipped), retried, and
// the batch's manifest.

// Fail records that the row's key could not be staged, with a reason
// the manifest and `tapctl staging show` give, and removes the person's
// letter: its PIN will never be on a key of theirs.
func (s *Stager) Fail(ctx context.Context, row api.StagingRow, reason string) error {
	// tapd first: a row it will not fail (registered after all) keeps its
	// letter, which holds the PIN on that person's key.
	failed := api.StagingFailed
	if _, err := s.Client.UpdateStagingRow(ctx, s.Batch.ID, row.ID, api.StagingRowPatch{State: &failed, FailureReason: &reason}); err != nil {
		return err
	}
	if s.Opts.PINs == RandomPINs {
		return RemoveLetter(s.pendingDir(), row.UserPrincipalName)
	}
	return nil
}

// Retry puts the batch's failed rows back to pending, for another round.
func (s *Stager) Retry(ctx context.Context, rows []api.StagingRow) error {
	pending := api.StagingPending
	empty := ""
	for _, r := range rows {
		if r.State != api.StagingFailed {
			continue
		}
		if _, err := s.Client.UpdateStagingRow(ctx, s.Batch.ID, r.ID, api.StagingRowPatch{State: &pending, FailureReason: &empty}); err != nil {
			return err
		}
	}
	return nil
}

// WriteManifest writes the batch's manifest, as tapd keeps it, into dir
// as <batch>-manifest.csv and .json (0600, replaced whole), and returns
// the two paths.
func (s *Stager) WriteManifest(ctx context.Context, dir string) ([]string, error) {
	csv, err := s.Client.StagingManifestCSV(ctx, s.Batch.ID)
	if err != nil {
		return nil, err
	}
	entries, err := s.Client.StagingManifest(ctx, s.Batch.ID)
	if err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, safeName(s.Batch.Name)+"-manifest")
	var out []string
	for _, f := range []struct {
		path string
		data []byte
	}{{base + ".csv", csv}, {base + ".json", append(js, '\n')}} {
		if err := writeAtomic(f.path, f.data); err != nil {
			return out, err
		}
		out = append(out, f.path)
	}
	return out, nil
}
