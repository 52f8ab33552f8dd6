package local

import (
	"context"
	"errors"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// The policies are stored as the store's own records, not as JSON of the
// API or rules types, so renaming a field on the wire cannot break stored
// data. These convert at the edge.

// TAPPolicy is the stored policy, or the default one before any change.
func (d *Directory) TAPPolicy(ctx context.Context) (tap.Policy, error) {
	p, err := d.st.GetTAPPolicy(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return tap.DefaultPolicy(), nil
	}
	if err != nil {
		return tap.Policy{}, err
	}
	state := "disabled"
	if p.Enabled {
		state = "enabled"
	}
	return tap.Policy{State: state, IncludeTargets: targetsFromStore(p.IncludeTargets), ExcludeTargets: targetsFromStore(p.ExcludeTargets),
		MinimumLifetimeInMinutes: p.MinimumLifetimeMinutes, MaximumLifetimeInMinutes: p.MaximumLifetimeMinutes,
		DefaultLifetimeInMinutes: p.DefaultLifetimeMinutes, IsUsableOnce: p.IsUsableOnce, DefaultLength: p.DefaultLength}, nil
}

// PutTAPPolicy stores a policy the caller has validated.
func (d *Directory) PutTAPPolicy(ctx context.Context, p tap.Policy) error {
	return d.st.PutTAPPolicy(ctx, store.TAPPolicy{Enabled: p.State == "enabled",
		IncludeTargets: targetsToStore(p.IncludeTargets), ExcludeTargets: targetsToStore(p.ExcludeTargets),
		MinimumLifetimeMinutes: p.MinimumLifetimeInMinutes, MaximumLifetimeMinutes: p.MaximumLifetimeInMinutes,
		DefaultLifetimeMinutes: p.DefaultLifetimeInMinutes, IsUsableOnce: p.IsUsableOnce, DefaultLength: p.DefaultLength})
}

func targetsFromStore(ts []store.PolicyTarget) []tap.Target {
	out := []tap.Target{}
	for _, t := range ts {
		out = append(out, tap.Target{TargetType: t.Type, ID: t.ID})
	}
	return out
}

func targetsToStore(ts []tap.Target) []store.PolicyTarget {
	out := []store.PolicyTarget{}
	for _, t := range ts {
		out = append(out, store.PolicyTarget{Type: t.TargetType, ID: t.ID})
	}
	return out
}

// DefaultFIDO2Policy is a fresh tapd's: nothing enforced.
func DefaultFIDO2Policy() directory.FIDO2Policy {
	return directory.FIDO2Policy{KeyRestrictions: directory.KeyRestrictions{EnforcementType: "block", AAGUIDs: []string{}}}
}

// FIDO2Policy is the stored policy, or the default one: the same rules for
// everyone, so upn does not matter.
func (d *Directory) FIDO2Policy(ctx context.Context, _ string) (directory.FIDO2Policy, error) {
	p, err := d.st.GetFIDO2Policy(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultFIDO2Policy(), nil
	}
	if err != nil {
		return directory.FIDO2Policy{}, err
	}
	return directory.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictions: directory.KeyRestrictions{
		IsEnforced: p.KeyRestrictionsEnforced, EnforcementType: p.KeyEnforcementType, AAGUIDs: append([]string{}, p.AAGUIDs...)}}, nil
}

// PutFIDO2Policy stores a policy the caller has validated.
func (d *Directory) PutFIDO2Policy(ctx context.Context, p directory.FIDO2Policy) error {
	kr := p.KeyRestrictions
	return d.st.PutFIDO2Policy(ctx, store.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictionsEnforced: kr.IsEnforced,
		KeyEnforcementType: kr.EnforcementType, AAGUIDs: append([]string{}, kr.AAGUIDs...)})
}
