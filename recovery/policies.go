package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/tap"
)

func policyAdmin(d directory.Directory) (directory.PolicyAdmin, error) {
	if pa, ok := d.(directory.PolicyAdmin); ok {
		return pa, nil
	}
	return nil, ErrManagedElsewhere
}

// asPolicyAdmin runs a policy change, with its audit entry naming the new
// policy, as one unit (as asUserAdmin does for people).
func (s *Service) asPolicyAdmin(ctx context.Context, c *Caller, action string, policy []byte, change func(directory.PolicyAdmin) error) error {
	return s.inDirectory(ctx, func(u unit) error {
		pa, err := policyAdmin(u.dir)
		if err == nil {
			err = change(pa)
		}
		if err != nil {
			return err
		}
		return s.done(ctx, c, u, action, "", map[string]string{"policy": string(policy)})
	})
}

// TAPPolicy is the Temporary Access Pass policy in force, labelled with
// who manages it.
func (s *Service) TAPPolicy(ctx context.Context) (api.Policy, error) {
	p, err := s.dir.TAPPolicy(ctx)
	return api.Policy{Policy: p, ManagedBy: s.dir.ManagedBy()}, err
}

// PatchTAPPolicy applies a partial change, validated whole, so nothing is
// half-saved.
func (s *Service) PatchTAPPolicy(ctx context.Context, c *Caller, patch tap.PolicyPatch) (tap.Policy, error) {
	if _, err := policyAdmin(s.dir); err != nil {
		return tap.Policy{}, err
	}
	old, err := s.dir.TAPPolicy(ctx)
	if err != nil {
		return tap.Policy{}, err
	}
	p, err := old.Apply(patch)
	if err != nil {
		return p, s.refuse(ctx, c, api.ActionUpdatePolicy, "", "invalidValue", fieldError(err), nil)
	}
	raw, _ := json.Marshal(p)
	return p, s.asPolicyAdmin(ctx, c, api.ActionUpdatePolicy, raw, func(pa directory.PolicyAdmin) error { return pa.PutTAPPolicy(ctx, p) })
}

// fido2Out is the FIDO2 policy in the API's shape: where tapd judges
// attestation it says which roots it loaded.
func (s *Service) fido2Out(p directory.FIDO2Policy) api.FIDO2Policy {
	apiKR := func(k directory.KeyRestrictions) api.KeyRestrictions {
		return api.KeyRestrictions{IsEnforced: k.IsEnforced, EnforcementType: k.EnforcementType, AAGUIDs: k.AAGUIDs}
	}
	out := api.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictions: apiKR(p.KeyRestrictions),
		IsSelfServiceRegistrationAllowed: p.SelfServiceSetup, ManagedBy: s.dir.ManagedBy()}
	for _, pp := range p.Profiles {
		out.PasskeyProfiles = append(out.PasskeyProfiles, api.PasskeyProfile{ID: pp.ID, Name: pp.Name, AttestationEnforcement: pp.AttestationEnforcement,
			KeyRestrictions: apiKR(pp.KeyRestrictions), PasskeyTypes: pp.PasskeyTypes})
	}
	if p.ProfilesInUse {
		out.DefaultPasskeyProfile = p.DefaultProfile
		for _, t := range p.Targets {
			ids := t.Profiles
			if ids == nil {
				ids = []string{}
			}
			out.IncludeTargets = append(out.IncludeTargets, api.PasskeyTarget{TargetType: t.TargetType, ID: t.ID, AllowedPasskeyProfiles: ids})
		}
	}
	if !p.JudgesAttestation {
		out.TrustedRootSources = s.cfg.Trust.Sources()
		if out.TrustedRootSources == nil {
			out.TrustedRootSources = []string{}
		}
	}
	return out
}

// FIDO2Policy is the FIDO2 policy in force.
func (s *Service) FIDO2Policy(ctx context.Context) (api.FIDO2Policy, error) {
	p, err := s.dir.FIDO2Policy(ctx, "")
	return s.fido2Out(p), err
}

// PatchFIDO2Policy applies a partial change to the FIDO2 policy.
func (s *Service) PatchFIDO2Policy(ctx context.Context, c *Caller, patch api.FIDO2PolicyPatch) (api.FIDO2Policy, error) {
	if _, err := policyAdmin(s.dir); err != nil {
		return api.FIDO2Policy{}, err
	}
	p, err := s.dir.FIDO2Policy(ctx, "")
	if err != nil {
		return api.FIDO2Policy{}, err
	}
	if patch.IsAttestationEnforced != nil {
		p.IsAttestationEnforced = *patch.IsAttestationEnforced
	}
	if kr := patch.KeyRestrictions; kr != nil {
		bad := func(field, msg string) error {
			return api.Invalid("keyRestrictions."+field, "keyRestrictions.%s %s.", field, msg)
		}
		if kr.EnforcementType != "allow" && kr.EnforcementType != "block" {
			return api.FIDO2Policy{}, bad("enforcementType", `must be "allow" or "block"`)
		}
		if len(kr.AAGUIDs) > 500 {
			return api.FIDO2Policy{}, bad("aaGuids", "has more than 500 entries")
		}
		ids := []string{}
		for _, a := range kr.AAGUIDs {
			u, err := uuid.Parse(strings.TrimSpace(a))
			if err != nil {
				return api.FIDO2Policy{}, bad("aaGuids", fmt.Sprintf("holds %q, which is not an AAGUID (like cb69481e-8ff7-4039-93ec-0a2729a154a8)", a))
			}
			if !slices.Contains(ids, u.String()) {
				ids = append(ids, u.String())
			}
		}
		p.KeyRestrictions = directory.KeyRestrictions{IsEnforced: kr.IsEnforced, EnforcementType: kr.EnforcementType, AAGUIDs: ids}
	}
	out := s.fido2Out(p)
	raw, _ := json.Marshal(api.FIDO2Policy{IsAttestationEnforced: out.IsAttestationEnforced, KeyRestrictions: out.KeyRestrictions})
	return out, s.asPolicyAdmin(ctx, c, api.ActionUpdateFIDO2Policy, raw, func(pa directory.PolicyAdmin) error { return pa.PutFIDO2Policy(ctx, p) })
}
