// The Entra directory's method policies: the Temporary Access Pass and
// FIDO2 policies read from Graph, with their group targets and key
// restrictions.

package entra

import (
	"context"
	"slices"
	"strings"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/tap"
)

// TAPPolicyOf is the tenant's policy in tapd's terms.
func TAPPolicyOf(g graph.TAPPolicy) tap.Policy {
	targets := func(ts []graph.Target) []tap.Target {
		out := []tap.Target{}
		for _, t := range ts {
			out = append(out, tap.Target{TargetType: t.TargetType, ID: t.ID})
		}
		return out
	}
	p := tap.Policy{State: g.State, IncludeTargets: targets(g.IncludeTargets), ExcludeTargets: targets(g.ExcludeTargets),
		MinimumLifetimeInMinutes: g.MinimumLifetimeInMinutes, MaximumLifetimeInMinutes: g.MaximumLifetimeInMinutes,
		DefaultLifetimeInMinutes: g.DefaultLifetimeInMinutes, IsUsableOnce: g.IsUsableOnce, DefaultLength: g.DefaultLength}
	if p.DefaultLength == 0 {
		p.DefaultLength = tap.MinPassLength
	}
	return p
}

// TAPPolicy reads the tenant's policy, every time: an admin's change in
// Entra applies at once.
func (d *Directory) TAPPolicy(ctx context.Context) (tap.Policy, error) {
	p, res, err := d.g.TAPPolicy(ctx)
	if err != nil {
		return tap.Policy{}, failure("read the Temporary Access Pass policy", res, err)
	}
	return TAPPolicyOf(p), nil
}

// FIDO2Policy reads the tenant's policy. Entra verifies attestation itself
// with its own roots, and takes packed or none attestation only.
//
// In a tenant with passkey profiles, the deprecated top-level
// isAttestationEnforced and keyRestrictions no longer decide: for a
// person (upn given), tapd reads their groups and keeps the profiles of
// every include target they are in (a target that lists none allows the
// default profile); an exclude target that holds them leaves none. A key
// is then acceptable when one of those profiles accepts it. That union is
// our reading of "allowedPasskeyProfiles: list of passkey profiles scoped
// to the targets"; `tapd entra-check` shows what a tenant holds.
func (d *Directory) FIDO2Policy(ctx context.Context, upn string) (directory.FIDO2Policy, error) {
	p, res, err := d.g.FIDO2Policy(ctx)
	if err != nil {
		return directory.FIDO2Policy{}, failure("read the FIDO2 policy", res, err)
	}
	self := p.IsSelfServiceRegistrationAllowed
	out := directory.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictions: restrictionsOf(p.KeyRestrictions), SelfServiceSetup: &self,
		AcceptedFormats: []string{"packed", "none"}, JudgesAttestation: true}
	if len(p.PasskeyProfiles) == 0 {
		return out, nil
	}
	out.ProfilesInUse, out.DefaultProfile = true, p.DefaultPasskeyProfile
	for _, t := range p.IncludeTargets {
		out.Targets = append(out.Targets, directory.ProfileTarget{TargetType: t.TargetType, ID: t.ID, Profiles: t.AllowedPasskeyProfiles})
	}
	all := profilesOf(p)
	if upn == "" {
		out.Profiles = all
		return out, nil
	}
	groups, err := d.groups(ctx, upn)
	if err != nil {
		return directory.FIDO2Policy{}, err
	}
	out.Profiles = profilesFor(p, groups, all)
	return out, nil
}

// profilesOf is the tenant's passkey profiles in tapd's terms.
func profilesOf(p graph.FIDO2Policy) []directory.PasskeyProfile {
	all := []directory.PasskeyProfile{}
	for _, gp := range p.PasskeyProfiles {
		pp := directory.PasskeyProfile{ID: gp.ID, Name: gp.Name, AttestationEnforcement: gp.AttestationEnforcement,
			KeyRestrictions: restrictionsOf(gp.KeyRestrictions), PasskeyTypes: []string{}}
		for _, t := range strings.Split(gp.PasskeyTypes, ",") {
			if t = strings.TrimSpace(t); t != "" {
				pp.PasskeyTypes = append(pp.PasskeyTypes, t)
			}
		}
		all = append(all, pp)
	}
	return all
}

// profilesFor picks the profiles a person in groups may use.
func profilesFor(p graph.FIDO2Policy, groups []string, all []directory.PasskeyProfile) []directory.PasskeyProfile {
	in := func(id string) bool { return id == "all_users" || slices.Contains(groups, id) }
	for _, t := range p.ExcludeTargets {
		if in(t.ID) {
			return []directory.PasskeyProfile{}
		}
	}
	allowed := map[string]bool{}
	for _, t := range p.IncludeTargets {
		if !in(t.ID) {
			continue
		}
		if len(t.AllowedPasskeyProfiles) == 0 {
			allowed[strings.ToLower(p.DefaultPasskeyProfile)] = true
		}
		for _, id := range t.AllowedPasskeyProfiles {
			allowed[strings.ToLower(id)] = true
		}
	}
	out := []directory.PasskeyProfile{}
	for _, pp := range all {
		if allowed[strings.ToLower(pp.ID)] {
			out = append(out, pp)
		}
	}
	return out
}

func restrictionsOf(k graph.KeyRestrictions) directory.KeyRestrictions {
	kr := directory.KeyRestrictions(k)
	if kr.AAGUIDs == nil {
		kr.AAGUIDs = []string{}
	}
	return kr
}
