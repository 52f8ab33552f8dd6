package server

import (
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// The local directory's policies are stored as the store's own records, not
// as JSON of the API types, so renaming a field on the wire cannot break
// stored data. These convert at the edge.

func tapPolicyFromStore(p store.TAPPolicy) tap.Policy {
	state := "disabled"
	if p.Enabled {
		state = "enabled"
	}
	return tap.Policy{State: state, IncludeTargets: targetsFromStore(p.IncludeTargets), ExcludeTargets: targetsFromStore(p.ExcludeTargets),
		MinimumLifetimeInMinutes: p.MinimumLifetimeMinutes, MaximumLifetimeInMinutes: p.MaximumLifetimeMinutes,
		DefaultLifetimeInMinutes: p.DefaultLifetimeMinutes, IsUsableOnce: p.IsUsableOnce, DefaultLength: p.DefaultLength}
}

func tapPolicyToStore(p tap.Policy) store.TAPPolicy {
	return store.TAPPolicy{Enabled: p.State == "enabled", IncludeTargets: targetsToStore(p.IncludeTargets), ExcludeTargets: targetsToStore(p.ExcludeTargets),
		MinimumLifetimeMinutes: p.MinimumLifetimeInMinutes, MaximumLifetimeMinutes: p.MaximumLifetimeInMinutes,
		DefaultLifetimeMinutes: p.DefaultLifetimeInMinutes, IsUsableOnce: p.IsUsableOnce, DefaultLength: p.DefaultLength}
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

func fido2PolicyFromStore(p store.FIDO2Policy) api.FIDO2Policy {
	return api.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictions: api.KeyRestrictions{
		IsEnforced: p.KeyRestrictionsEnforced, EnforcementType: p.KeyEnforcementType, AAGUIDs: append([]string{}, p.AAGUIDs...)}}
}

func fido2PolicyToStore(p api.FIDO2Policy) store.FIDO2Policy {
	return store.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictionsEnforced: p.KeyRestrictions.IsEnforced,
		KeyEnforcementType: p.KeyRestrictions.EnforcementType, AAGUIDs: append([]string{}, p.KeyRestrictions.AAGUIDs...)}
}
