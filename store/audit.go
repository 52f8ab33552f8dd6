package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
)

func (s *SQL) AppendAudit(ctx context.Context, e AuditEntry) error {
	details, _ := json.Marshal(e.Details)
	if e.Details == nil {
		details = []byte("{}")
	}
	var group any
	if e.Group != "" {
		group = e.Group
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO audit(at, request_id, actor_type, actor, action, target, result, reason, details_json, group_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_key) WHERE group_key IS NOT NULL DO UPDATE SET repeats = audit.repeats + 1 RETURNING id`),
			ms(e.At), e.RequestID, e.ActorType, e.Actor, e.Action, e.Target, string(e.Result), e.Reason, string(details), group).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_export(audit_id) VALUES (?)`), id)
		return err
	})
}

const auditCols = `a.id, a.at, a.request_id, a.actor_type, a.actor, a.action, a.target, a.result, a.reason, a.details_json, COALESCE(a.group_key, ''), a.repeats`

func scanAudit(sc interface{ Scan(...any) error }, e *AuditEntry, extra ...any) error {
	var at int64
	var details string
	if err := sc.Scan(append([]any{&e.ID, &at, &e.RequestID, &e.ActorType, &e.Actor, &e.Action, &e.Target, &e.Result, &e.Reason, &details,
		&e.Group, &e.Repeats}, extra...)...); err != nil {
		return err
	}
	e.At = fromMS(at)
	_ = json.Unmarshal([]byte(details), &e.Details)
	return nil
}

func (s *SQL) AuditToExport(ctx context.Context, limit int) ([]AuditExport, error) {
	rows, err := s.r().QueryContext(ctx, s.q(`SELECT `+auditCols+`, q.seq FROM audit_export q JOIN audit a ON a.id = q.audit_id
		ORDER BY q.seq LIMIT ?`), limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []AuditExport
	for rows.Next() {
		var x AuditExport
		if err := scanAudit(rows, &x.Entry, &x.Seq); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, x)
	}
	return out, mapErr(rows.Err())
}

func (s *SQL) AuditExported(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, len(seqs))
	for i, q := range seqs {
		args[i] = q
	}
	_, err := s.w().ExecContext(ctx, s.q(`DELETE FROM audit_export WHERE seq IN (?`+strings.Repeat(", ?", len(seqs)-1)+`)`), args...)
	return mapErr(err)
}

func (s *SQL) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	switch {
	case f.Target != "" && f.OrTarget != "":
		where = append(where, "(LOWER(target) = ? OR target = ?)")
		args = append(args, upnKey(f.Target), f.OrTarget)
	case f.Target != "":
		add("LOWER(target) = ?", upnKey(f.Target))
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Result != "" {
		add("result = ?", f.Result)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ms(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	query := `SELECT ` + auditCols + ` FROM audit a`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// The limit is a parameter, so the query texts are one per set of
	// filters and each connection's statement cache holds them all.
	query += " ORDER BY a.id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := scanAudit(rows, &e); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}
