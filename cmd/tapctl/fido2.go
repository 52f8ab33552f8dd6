package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

func (a *app) methodsList(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("methods list"), args, 1, "UPN")
	if err != nil {
		return err
	}
	ms, err := a.client.UserMethods(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(ms)
	}
	if len(ms) == 0 {
		fmt.Fprintf(a.out, "%s has no authentication methods.\n", pos[0])
		return nil
	}
	var rows [][]string
	for _, m := range ms {
		kind := strings.TrimSuffix(strings.TrimPrefix(m.Type, "#microsoft.graph."), "AuthenticationMethod")
		detail := m.Model
		if m.Type == api.TypeFIDO2 {
			detail = fmt.Sprintf("%s, %s, AAGUID %s", m.Model, m.AttestationLevel, m.AAGUID)
		}
		if m.Type == api.TypeTAP {
			detail = m.MethodUsabilityReason
		}
		rows = append(rows, []string{m.ID, kind, m.DisplayName, when(m.CreatedDateTime), whenPtr(m.LastUsedDateTime), detail})
	}
	a.table("ID\tKIND\tNAME\tADDED\tLAST USED\tDETAIL", rows)
	return nil
}

func (a *app) methodsDelete(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("methods delete"), args, 2, "UPN ID")
	if err != nil {
		return err
	}
	if err := a.client.DeleteUserMethod(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Removed method %s from %s.", pos[1], pos[0]))
}

func (a *app) showFIDO2Policy(p api.FIDO2Policy) error {
	if a.json {
		return a.printJSON(p)
	}
	restrictions := func(k api.KeyRestrictions) string {
		if !k.IsEnforced {
			return "off"
		}
		return k.EnforcementType + " " + strings.Join(k.AAGUIDs, ", ")
	}
	legacy := ""
	if len(p.PasskeyProfiles) > 0 {
		legacy = " (deprecated; the profiles decide)"
	}
	rows := [][]string{
		{"isAttestationEnforced" + legacy, strconv.FormatBool(p.IsAttestationEnforced)},
		{"keyRestrictions" + legacy, restrictions(p.KeyRestrictions)},
	}
	for _, pp := range p.PasskeyProfiles {
		name := pp.Name
		if pp.ID == p.DefaultPasskeyProfile {
			name += " (default)"
		}
		rows = append(rows,
			[]string{"passkeyProfile " + pp.ID, name},
			[]string{"  passkeyTypes", strings.Join(pp.PasskeyTypes, ", ")},
			[]string{"  attestationEnforcement", pp.AttestationEnforcement},
			[]string{"  keyRestrictions", restrictions(pp.KeyRestrictions)})
	}
	for _, t := range p.IncludeTargets {
		ids := strings.Join(t.AllowedPasskeyProfiles, ", ")
		if ids == "" {
			ids = "the default profile"
		}
		rows = append(rows, []string{"includeTarget " + t.TargetType + " " + t.ID, ids})
	}
	for _, s := range p.TrustedRootSources {
		rows = append(rows, []string{"trusted", s})
	}
	if p.ManagedBy == "entra" {
		self := p.IsSelfServiceRegistrationAllowed != nil && *p.IsSelfServiceRegistrationAllowed
		rows = append(rows, []string{"isSelfServiceRegistrationAllowed", strconv.FormatBool(self)})
		a.table("SETTING\tVALUE", rows)
		fmt.Fprintln(a.out, "\nThis is your Entra tenant's FIDO2 policy, which Entra enforces; change it in the Entra admin centre.")
		if !self {
			fmt.Fprintln(a.out, `The kiosk cannot register keys until "Allow self-service setup" is on.`)
		}
		return nil
	}
	if len(p.TrustedRootSources) == 0 {
		rows = append(rows, []string{"trusted", "(nothing: start tapd with --attestation-roots or --mds-blob)"})
	}
	a.table("SETTING\tVALUE", rows)
	return nil
}

func (a *app) fido2PolicyShow(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("fido2-policy show"), args, 0, ""); err != nil {
		return err
	}
	p, err := a.client.GetFIDO2Policy(ctx)
	if err != nil {
		return err
	}
	return a.showFIDO2Policy(p)
}

func (a *app) fido2PolicySet(ctx context.Context, args []string) error {
	fs := a.flags("fido2-policy set")
	enforced := fs.String("attestation-enforced", "", "true accepts only keys whose attestation chains to a trusted root")
	mode := fs.String("restrictions", "", "off, allow (only the listed AAGUIDs) or block (all but the listed)")
	aaguids := fs.String("aaguids", "", "comma-separated AAGUIDs for --restrictions")
	if _, err := a.parse(fs, args, 0, ""); err != nil {
		return err
	}
	changed := false
	fs.Visit(func(f *flag.Flag) { changed = changed || f.Name != "json" })
	if !changed {
		return usagef("fido2-policy set needs at least one setting, e.g. --attestation-enforced=true")
	}
	var patch api.FIDO2PolicyPatch
	if *enforced != "" {
		b, err := strconv.ParseBool(*enforced)
		if err != nil {
			return usagef("--attestation-enforced takes true or false")
		}
		patch.IsAttestationEnforced = &b
	}
	if *mode != "" || *aaguids != "" {
		cur, err := a.client.GetFIDO2Policy(ctx)
		if err != nil {
			return err
		}
		kr := cur.KeyRestrictions
		switch *mode {
		case "":
		case "off":
			kr.IsEnforced = false
		case "allow", "block":
			kr.IsEnforced, kr.EnforcementType = true, *mode
		default:
			return usagef("--restrictions takes off, allow or block")
		}
		if *aaguids != "" {
			kr.AAGUIDs = strings.Split(*aaguids, ",")
		}
		if kr.EnforcementType == "" {
			kr.EnforcementType = "block"
		}
		patch.KeyRestrictions = &kr
	}
	p, err := a.client.UpdateFIDO2Policy(ctx, patch)
	if err != nil {
		return err
	}
	return a.showFIDO2Policy(p)
}
