package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// ---- TAP policy ----

// GetTAPPolicy reads the policy row and its targets in one statement: one
// statement reads one snapshot on both stores, so the record is never half
// old and half new, and it is one round trip where a read transaction was
// four (BEGIN, two queries, COMMIT). Every session poll reads the policy.
// Inside Atomically it reads the transaction, so it sees its writes.
func (s *SQL) GetTAPPolicy(ctx context.Context) (TAPPolicy, error) {
	p := TAPPolicy{IncludeTargets: []PolicyTarget{}, ExcludeTargets: []PolicyTarget{}}
	rows, err := s.r().QueryContext(ctx, `SELECT p.enabled, p.minimum_lifetime_minutes, p.maximum_lifetime_minutes, p.default_lifetime_minutes,
		p.is_usable_once, p.default_length, t.list, t.target_type, t.target_id
		FROM tap_policy p LEFT JOIN tap_policy_targets t ON 1 = 1 WHERE p.id = 1 ORDER BY t.list, t.position`)
	if err != nil {
		return p, mapErr(err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var enabled, once int
		var list, typ, id sql.NullString
		if err := rows.Scan(&enabled, &p.MinimumLifetimeMinutes, &p.MaximumLifetimeMinutes, &p.DefaultLifetimeMinutes, &once, &p.DefaultLength,
			&list, &typ, &id); err != nil {
			return p, mapErr(err)
		}
		found = true
		p.Enabled, p.IsUsableOnce = enabled == 1, once == 1
		if !list.Valid {
			continue
		}
		t := PolicyTarget{Type: typ.String, ID: id.String}
		if list.String == "include" {
			p.IncludeTargets = append(p.IncludeTargets, t)
		} else {
			p.ExcludeTargets = append(p.ExcludeTargets, t)
		}
	}
	if err := rows.Err(); err != nil {
		return p, mapErr(err)
	}
	if !found {
		return p, ErrNotFound
	}
	return p, nil
}

func (s *SQL) PutTAPPolicy(ctx context.Context, p TAPPolicy) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.putTAPPolicy(ctx, tx, p) })
}

// putTAPPolicy replaces the TAP policy within tx. The policy row is written
// first: its row lock makes a concurrent Put on PostgreSQL wait before it
// touches the targets, so two Puts never mix their lists.
func (s *SQL) putTAPPolicy(ctx context.Context, tx *sql.Tx, p TAPPolicy) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tap_policy(id, enabled, minimum_lifetime_minutes, maximum_lifetime_minutes,
		default_lifetime_minutes, is_usable_once, default_length) VALUES (1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET enabled = excluded.enabled, minimum_lifetime_minutes = excluded.minimum_lifetime_minutes,
			maximum_lifetime_minutes = excluded.maximum_lifetime_minutes, default_lifetime_minutes = excluded.default_lifetime_minutes,
			is_usable_once = excluded.is_usable_once, default_length = excluded.default_length`),
		b2i(p.Enabled), p.MinimumLifetimeMinutes, p.MaximumLifetimeMinutes, p.DefaultLifetimeMinutes, b2i(p.IsUsableOnce), p.DefaultLength); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tap_policy_targets`); err != nil {
		return err
	}
	for _, l := range []struct {
		name    string
		targets []PolicyTarget
	}{{"include", p.IncludeTargets}, {"exclude", p.ExcludeTargets}} {
		for i, t := range l.targets {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tap_policy_targets(list, position, target_type, target_id) VALUES (?, ?, ?, ?)`),
				l.name, i, t.Type, t.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- FIDO2 policy ----

func (s *SQL) GetFIDO2Policy(ctx context.Context) (FIDO2Policy, error) {
	p := FIDO2Policy{AAGUIDs: []string{}}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var attest, enforced int
		if err := tx.QueryRowContext(ctx, `SELECT is_attestation_enforced, key_restrictions_enforced, key_enforcement_type FROM fido2_policy WHERE id = 1`).
			Scan(&attest, &enforced, &p.KeyEnforcementType); err != nil {
			return err
		}
		p.IsAttestationEnforced, p.KeyRestrictionsEnforced = attest == 1, enforced == 1
		return eachRow(ctx, tx, `SELECT aaguid FROM fido2_policy_aaguids ORDER BY position`, func(rows *sql.Rows) error {
			var a string
			err := rows.Scan(&a)
			p.AAGUIDs = append(p.AAGUIDs, a)
			return err
		})
	})
	return p, err
}

func (s *SQL) PutFIDO2Policy(ctx context.Context, p FIDO2Policy) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.putFIDO2Policy(ctx, tx, p) })
}

// putFIDO2Policy replaces the FIDO2 policy within tx, policy row first for
// the same reason as putTAPPolicy.
func (s *SQL) putFIDO2Policy(ctx context.Context, tx *sql.Tx, p FIDO2Policy) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO fido2_policy(id, is_attestation_enforced, key_restrictions_enforced, key_enforcement_type)
		VALUES (1, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET is_attestation_enforced = excluded.is_attestation_enforced,
			key_restrictions_enforced = excluded.key_restrictions_enforced, key_enforcement_type = excluded.key_enforcement_type`),
		b2i(p.IsAttestationEnforced), b2i(p.KeyRestrictionsEnforced), p.KeyEnforcementType); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM fido2_policy_aaguids`); err != nil {
		return err
	}
	for i, a := range p.AAGUIDs {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO fido2_policy_aaguids(position, aaguid) VALUES (?, ?)`), i, a); err != nil {
			return err
		}
	}
	return nil
}

// eachRow runs query within tx and calls fn for each row.
func eachRow(ctx context.Context, tx *sql.Tx, query string, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ---- migration 4: legacy JSON settings ----

// The settings rows that held the policies before migration 4, and the JSON
// shapes they were written in (tap.Policy and api.FIDO2Policy as of
// migration 3). These copies are frozen: they describe data written by old
// binaries and must not follow later changes to the API types.
const (
	legacyTAPPolicySetting   = "temporaryAccessPassPolicy"
	legacyFIDO2PolicySetting = "fido2Policy"
)

type legacyTarget struct {
	TargetType string `json:"targetType"`
	ID         string `json:"id"`
}

type legacyTAPPolicy struct {
	State                    string         `json:"state"` // "enabled" or "disabled"
	IncludeTargets           []legacyTarget `json:"includeTargets"`
	ExcludeTargets           []legacyTarget `json:"excludeTargets"`
	MinimumLifetimeInMinutes int            `json:"minimumLifetimeInMinutes"`
	MaximumLifetimeInMinutes int            `json:"maximumLifetimeInMinutes"`
	DefaultLifetimeInMinutes int            `json:"defaultLifetimeInMinutes"`
	IsUsableOnce             bool           `json:"isUsableOnce"`
	DefaultLength            int            `json:"defaultLength"`
}

type legacyFIDO2Policy struct {
	IsAttestationEnforced bool `json:"isAttestationEnforced"`
	KeyRestrictions       struct {
		IsEnforced      bool     `json:"isEnforced"`
		EnforcementType string   `json:"enforcementType"`
		AAGUIDs         []string `json:"aaGuids"`
	} `json:"keyRestrictions"`
}

func legacyTargets(ts []legacyTarget) []PolicyTarget {
	out := []PolicyTarget{}
	for _, t := range ts {
		out = append(out, PolicyTarget{Type: t.TargetType, ID: t.ID})
	}
	return out
}

// convertLegacyPolicies is migration 4's Go step: it writes the policies
// kept as JSON in settings into their tables and drops settings, which
// nothing else used. A row that does not decode fails the migration, which
// then leaves everything as it was, rather than dropping an admin's policy.
func convertLegacyPolicies(ctx context.Context, s *SQL, tx *sql.Tx) error {
	read := func(name string, into any) (bool, error) {
		var raw string
		err := tx.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal([]byte(raw), into); err != nil {
			return false, fmt.Errorf("setting %s is not a policy (%v); fix or delete that row of settings and migrate again", name, err)
		}
		return true, nil
	}

	var tp legacyTAPPolicy
	if ok, err := read(legacyTAPPolicySetting, &tp); err != nil {
		return err
	} else if ok {
		if err := s.putTAPPolicy(ctx, tx, TAPPolicy{
			Enabled:                tp.State == "enabled",
			IncludeTargets:         legacyTargets(tp.IncludeTargets),
			ExcludeTargets:         legacyTargets(tp.ExcludeTargets),
			MinimumLifetimeMinutes: tp.MinimumLifetimeInMinutes,
			MaximumLifetimeMinutes: tp.MaximumLifetimeInMinutes,
			DefaultLifetimeMinutes: tp.DefaultLifetimeInMinutes,
			IsUsableOnce:           tp.IsUsableOnce,
			DefaultLength:          tp.DefaultLength,
		}); err != nil {
			return err
		}
	}

	// tapd read this setting over its default policy, so a field missing
	// from the JSON kept the default: enforcement type "block".
	var fp legacyFIDO2Policy
	fp.KeyRestrictions.EnforcementType = "block"
	if ok, err := read(legacyFIDO2PolicySetting, &fp); err != nil {
		return err
	} else if ok {
		if err := s.putFIDO2Policy(ctx, tx, FIDO2Policy{
			IsAttestationEnforced:   fp.IsAttestationEnforced,
			KeyRestrictionsEnforced: fp.KeyRestrictions.IsEnforced,
			KeyEnforcementType:      fp.KeyRestrictions.EnforcementType,
			AAGUIDs:                 nonNil(fp.KeyRestrictions.AAGUIDs),
		}); err != nil {
			return err
		}
	}

	_, err := tx.ExecContext(ctx, `DROP TABLE settings`)
	return err
}
