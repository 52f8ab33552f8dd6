package store

import (
	"context"
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
	_, err := s.w().ExecContext(ctx, s.q(`INSERT INTO audit(at, request_id, actor_type, actor, action, target, result, reason, details_json, group_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_key) WHERE group_key IS NOT NULL DO UPDATE SET repeats = audit.repeats + 1`),
		ms(e.At), e.RequestID, e.ActorType, e.Actor, e.Action, e.Target, string(e.Result), e.Reason, string(details), group)
	return mapErr(err)
}

func (s *SQL) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Target != "" {
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
	query := `SELECT id, at, request_id, actor_type, actor, action, target, result, reason, details_json, COALESCE(group_key, ''), repeats FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// The limit is a parameter, so the query texts are one per set of
	// filters and each connection's statement cache holds them all.
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.RequestID, &e.ActorType, &e.Actor, &e.Action, &e.Target, &e.Result, &e.Reason, &details, &e.Group, &e.Repeats); err != nil {
			return nil, mapErr(err)
		}
		e.At = fromMS(at)
		_ = json.Unmarshal([]byte(details), &e.Details)
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}
