package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ---- staging ----

func (s *SQL) CreateStagingBatch(ctx context.Context, b StagingBatch, rows []StagingRow) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO staging_batches(id, name, created_at, created_by) VALUES (?, ?, ?, ?)`),
			b.ID, b.Name, ms(b.CreatedAt), b.CreatedBy); err != nil {
			return err
		}
		for i, r := range rows {
			if r.State == "" {
				r.State = StagingPending
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO staging_rows(id, batch_id, position, upn_key, upn, display_name, key_name, state, reason,
				method_id, aaguid, model, serial_number, credential_id, registered_at, pin_change_forced, updated_at, language)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				r.ID, b.ID, i+1, upnKey(r.UPN), r.UPN, r.DisplayName, r.KeyName, r.State, r.Reason,
				r.MethodID, r.AAGUID, r.Model, r.SerialNumber, r.CredentialID, nullMS(r.RegisteredAt), b2i(r.PINChangeForced), ms(b.CreatedAt), r.Language); err != nil {
				return fmt.Errorf("%s: %w", r.UPN, mapErr(err))
			}
		}
		return nil
	})
}

const batchCols = `b.id, b.name, b.created_at, b.created_by,
	(SELECT COUNT(*) FROM staging_rows r WHERE r.batch_id = b.id AND r.state = 'pending'),
	(SELECT COUNT(*) FROM staging_rows r WHERE r.batch_id = b.id AND r.state = 'registered'),
	(SELECT COUNT(*) FROM staging_rows r WHERE r.batch_id = b.id AND r.state = 'failed'),
	(SELECT COUNT(*) FROM staging_rows r WHERE r.batch_id = b.id AND r.state = 'removed')`

func scanBatch(sc interface{ Scan(...any) error }) (StagingBatch, error) {
	var b StagingBatch
	var created int64
	if err := sc.Scan(&b.ID, &b.Name, &created, &b.CreatedBy, &b.Pending, &b.Registered, &b.Failed, &b.Removed); err != nil {
		return b, mapErr(err)
	}
	b.CreatedAt = fromMS(created)
	return b, nil
}

func (s *SQL) ListStagingBatches(ctx context.Context) ([]StagingBatch, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+batchCols+` FROM staging_batches b ORDER BY b.created_at, b.name`)
	return scanAll(rows, err, scanBatch)
}

const stagingRowCols = `id, batch_id, position, upn, display_name, key_name, state, reason, method_id, aaguid, model, serial_number,
	credential_id, registered_at, pin_change_forced, updated_at, lease_ceremony, lease_operator, lease_until, lease_writing, registered_by, language`

func scanStagingRow(sc interface{ Scan(...any) error }) (StagingRow, error) {
	var r StagingRow
	var reg sql.NullInt64
	var forced int
	var updated, leaseUntil int64
	var writing int
	if err := sc.Scan(&r.ID, &r.BatchID, &r.Position, &r.UPN, &r.DisplayName, &r.KeyName, &r.State, &r.Reason, &r.MethodID, &r.AAGUID,
		&r.Model, &r.SerialNumber, &r.CredentialID, &reg, &forced, &updated, &r.Lease.CeremonyID, &r.Lease.OperatorID, &leaseUntil, &writing, &r.RegisteredBy, &r.Language); err != nil {
		return r, mapErr(err)
	}
	r.RegisteredAt, r.PINChangeForced, r.UpdatedAt = fromNullMS(reg), forced == 1, fromMS(updated)
	if r.Lease.CeremonyID != "" {
		r.Lease.Until, r.Lease.Writing = fromMS(leaseUntil), writing == 1
	}
	return r, nil
}

func (s *SQL) stagingRows(ctx context.Context, q runner, where string, args ...any) ([]StagingRow, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+stagingRowCols+` FROM staging_rows WHERE `+where), args...)
	return scanAll(rows, err, scanStagingRow)
}

func (s *SQL) GetStagingBatch(ctx context.Context, ref string) (StagingBatch, []StagingRow, error) {
	var b StagingBatch
	var rows []StagingRow
	// One snapshot: the counts and the rows agree.
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if b, err = scanBatch(tx.QueryRowContext(ctx, s.q(`SELECT `+batchCols+` FROM staging_batches b WHERE b.id = ? OR b.name = ?`), ref, ref)); err != nil {
			return err
		}
		rows, err = s.stagingRows(ctx, tx, `batch_id = ? ORDER BY position`, b.ID)
		return err
	})
	return b, rows, err
}

func (s *SQL) GetStagingRow(ctx context.Context, batchID, rowID string) (StagingRow, error) {
	return s.stagingRow(ctx, s.r(), batchID, rowID)
}

// stagingRow reads one row on q: the readers, or where writes run (s.w())
// to tell why a conditional UPDATE matched nothing.
func (s *SQL) stagingRow(ctx context.Context, q runner, batchID, rowID string) (StagingRow, error) {
	return scanStagingRow(q.QueryRowContext(ctx, s.q(`SELECT `+stagingRowCols+` FROM staging_rows WHERE batch_id = ? AND id = ?`), batchID, rowID))
}

func (s *SQL) MarkStagingRow(ctx context.Context, r StagingRow) error {
	// The state changes only while the row is not registered: under
	// concurrent registrations the second UPDATE waits for the first and
	// then matches nothing.
	// A lease survives only a state change that is not a registration
	// while it is writing.
	keep := `CASE WHEN lease_writing = 1 AND ? <> 'registered' THEN %s ELSE %s END`
	leaseSet := fmt.Sprintf(`lease_ceremony = `+keep+`, lease_operator = `+keep+`, lease_until = `+keep+`, lease_writing = `+keep,
		"lease_ceremony", "''", "lease_operator", "''", "lease_until", "0", "lease_writing", "0")
	err := affected(s.w().ExecContext(ctx, s.q(`UPDATE staging_rows SET state = ?, reason = ?, key_name = ?, method_id = ?, aaguid = ?, model = ?, serial_number = ?,
		credential_id = ?, registered_at = ?, pin_change_forced = ?, updated_at = ?, registered_by = ?, `+leaseSet+` WHERE batch_id = ? AND id = ? AND state NOT IN ('registered', 'removed')`),
		r.State, r.Reason, r.KeyName, r.MethodID, r.AAGUID, r.Model, r.SerialNumber, r.CredentialID, nullMS(r.RegisteredAt), b2i(r.PINChangeForced), ms(r.UpdatedAt), r.RegisteredBy,
		r.State, r.State, r.State, r.State, r.BatchID, r.ID))
	if err != ErrNotFound {
		return mapErr(err)
	}
	cur, err := s.stagingRow(ctx, s.w(), r.BatchID, r.ID)
	if err != nil {
		return err
	}
	if r.State != StagingRegistered || cur.State != StagingRegistered || r.MethodID != cur.MethodID {
		return ErrRegistered
	}
	// Registered already, the same key: only what the kiosk learns after
	// the registration (the serial, a forced PIN change) may be added.
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE staging_rows SET serial_number = ?, pin_change_forced = ?, updated_at = ?
		WHERE batch_id = ? AND id = ? AND state = 'registered' AND method_id = ?`),
		r.SerialNumber, b2i(r.PINChangeForced), ms(r.UpdatedAt), r.BatchID, r.ID, cur.MethodID)))
}

func (s *SQL) ActiveStagingRows(ctx context.Context, upn string) ([]StagingRow, error) {
	return s.stagingRows(ctx, s.r(), `upn_key = ? AND state IN ('pending', 'registered') ORDER BY updated_at, id`, upnKey(upn))
}

// leaseUpdate runs a conditional UPDATE of a row's lease. Matching
// nothing, it reads the row to say why: no row, a registered one, or a
// lease it may not take (ErrLeased, with the row). The UPDATE's own WHERE
// decides, so two racing callers cannot both pass.
func (s *SQL) leaseUpdate(ctx context.Context, batchID, rowID, set, cond string, args ...any) (StagingRow, error) {
	args = append(args, batchID, rowID)
	err := affected(s.w().ExecContext(ctx, s.q(`UPDATE staging_rows SET `+set+` WHERE `+cond+` AND batch_id = ? AND id = ? AND state NOT IN ('registered', 'removed')`), args...))
	if err != nil && err != ErrNotFound {
		return StagingRow{}, mapErr(err)
	}
	cur, rerr := s.stagingRow(ctx, s.w(), batchID, rowID)
	switch {
	case rerr != nil:
		return cur, rerr
	case err == nil:
		return cur, nil
	case cur.State == StagingRegistered || cur.State == StagingRemoved:
		return cur, ErrRegistered
	}
	return cur, ErrLeased
}

func (s *SQL) LeaseStagingRow(ctx context.Context, batchID, rowID string, l StagingLease, now time.Time) (StagingRow, error) {
	return s.leaseUpdate(ctx, batchID, rowID, `lease_ceremony = ?, lease_operator = ?, lease_until = ?, lease_writing = 0`,
		`(lease_ceremony = '' OR lease_until <= ? OR (lease_operator = ? AND lease_writing = 0))`,
		l.CeremonyID, l.OperatorID, ms(l.Until), ms(now), l.OperatorID)
}

func (s *SQL) ClaimStagingRow(ctx context.Context, batchID, rowID, ceremonyID string, until, now time.Time) (StagingRow, error) {
	return s.leaseUpdate(ctx, batchID, rowID, `lease_writing = 1, lease_until = ?`,
		`lease_ceremony = ? AND lease_ceremony <> '' AND lease_writing = 0 AND lease_until > ?`, ms(until), ceremonyID, ms(now))
}

func (s *SQL) ReleaseStagingRow(ctx context.Context, batchID, rowID, ceremonyID string) error {
	_, err := s.w().ExecContext(ctx, s.q(`UPDATE staging_rows SET lease_ceremony = '', lease_operator = '', lease_until = 0, lease_writing = 0
		WHERE batch_id = ? AND id = ? AND lease_ceremony = ? AND lease_ceremony <> ''`), batchID, rowID, ceremonyID)
	return mapErr(err)
}

func (s *SQL) StagedKeyRemoved(ctx context.Context, upn, methodID string, now time.Time) (int, error) {
	if methodID == "" {
		return 0, nil
	}
	res, err := s.w().ExecContext(ctx, s.q(`UPDATE staging_rows SET state = 'removed', updated_at = ?
		WHERE upn_key = ? AND method_id = ? AND state = 'registered'`), ms(now), upnKey(upn), methodID)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

// freeRow is the condition of a row nobody holds: no key registered with
// it, and no station's lease binding at the given time.
const freeRow = `state <> 'registered' AND (lease_ceremony = '' OR lease_until <= ?)`

// whyNotFree says why a row did not match freeRow.
func whyNotFree(r StagingRow) error {
	if r.State == StagingRegistered {
		return ErrRegistered
	}
	return ErrLeased
}

func (s *SQL) DeleteStagingBatch(ctx context.Context, batchID string, now time.Time) (StagingRow, error) {
	var held StagingRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.stagingBatchByID(ctx, tx, batchID); err != nil {
			return err
		}
		// The rows go first, each only if free: what stays tells why the
		// batch must stay, and the transaction then keeps every row.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM staging_rows WHERE batch_id = ? AND `+freeRow), batchID, ms(now)); err != nil {
			return mapErr(err)
		}
		left, err := s.stagingRows(ctx, tx, `batch_id = ? ORDER BY position`, batchID)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			held = left[0]
			return whyNotFree(held)
		}
		return mapErr(affected(tx.ExecContext(ctx, s.q(`DELETE FROM staging_batches WHERE id = ?`), batchID)))
	})
	return held, err
}

func (s *SQL) stagingBatchByID(ctx context.Context, q runner, id string) (StagingBatch, error) {
	return scanBatch(q.QueryRowContext(ctx, s.q(`SELECT `+batchCols+` FROM staging_batches b WHERE b.id = ?`), id))
}

func (s *SQL) DeleteStagingRow(ctx context.Context, batchID, rowID string, now time.Time) (StagingRow, error) {
	var cur StagingRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if cur, err = s.stagingRow(ctx, tx, batchID, rowID); err != nil {
			return err
		}
		err = affected(tx.ExecContext(ctx, s.q(`DELETE FROM staging_rows WHERE batch_id = ? AND id = ? AND `+freeRow), batchID, rowID, ms(now)))
		if err == ErrNotFound {
			return whyNotFree(cur)
		}
		return mapErr(err)
	})
	return cur, err
}

func (s *SQL) ReissueStagingRow(ctx context.Context, batchID, rowID, methodID string, now time.Time) error {
	return mapErr(affected(s.w().ExecContext(ctx, s.q(`UPDATE staging_rows SET state = 'pending', reason = '', method_id = '', aaguid = '', model = '',
		serial_number = '', credential_id = '', registered_at = NULL, pin_change_forced = 0, registered_by = '', updated_at = ?,
		lease_ceremony = '', lease_operator = '', lease_until = 0, lease_writing = 0
		WHERE batch_id = ? AND id = ? AND method_id = ? AND state IN ('registered', 'removed')`), ms(now), batchID, rowID, methodID)))
}
