// tapctl's policy commands: showing the TAP policy and setting it.

package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

// ---- policy ----

func (a *app) showPolicy(p api.Policy) error {
	if a.json {
		return a.printJSON(p)
	}
	targets := func(ts []api.Target) string {
		var out []string
		for _, t := range ts {
			out = append(out, t.TargetType+":"+t.ID)
		}
		if len(out) == 0 {
			return "(none)"
		}
		return strings.Join(out, ", ")
	}
	a.table("SETTING\tVALUE", [][]string{
		{"state", p.State},
		{"includeTargets", targets(p.IncludeTargets)},
		{"excludeTargets", targets(p.ExcludeTargets)},
		{"minimumLifetimeInMinutes", strconv.Itoa(p.MinimumLifetimeInMinutes)},
		{"maximumLifetimeInMinutes", strconv.Itoa(p.MaximumLifetimeInMinutes)},
		{"defaultLifetimeInMinutes", strconv.Itoa(p.DefaultLifetimeInMinutes)},
		{"isUsableOnce", strconv.FormatBool(p.IsUsableOnce)},
		{"defaultLength", strconv.Itoa(p.DefaultLength)},
	})
	if p.ManagedBy == "entra" {
		fmt.Fprintln(a.out, "\nThis is your Entra tenant's Temporary Access Pass policy: tapd runs with the Entra directory,")
		fmt.Fprintln(a.out, "so its own policy is not used. Change this one in the Entra admin centre. Group targets are object ids.")
	}
	return nil
}

func (a *app) policyShow(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("policy show"), args, 0, ""); err != nil {
		return err
	}
	p, err := a.client.GetPolicy(ctx)
	if err != nil {
		return err
	}
	return a.showPolicy(p)
}

func parseTargets(s string) ([]api.Target, error) {
	out := []api.Target{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kind, id, ok := strings.Cut(part, ":")
		if !ok || (kind != "group" && kind != "user") {
			return nil, fmt.Errorf("target %q must be group:NAME or user:UPN", part)
		}
		out = append(out, api.Target{TargetType: kind, ID: id})
	}
	return out, nil
}

func (a *app) policySet(ctx context.Context, args []string) error {
	fs := a.flags("policy set")
	state := fs.String("state", "", "enabled or disabled")
	minL := fs.String("min-lifetime", "", "minimum pass lifetime")
	maxL := fs.String("max-lifetime", "", "maximum pass lifetime")
	defL := fs.String("default-lifetime", "", "default pass lifetime")
	length := fs.Int("length", 0, "pass length, 8-48")
	once := fs.String("usable-once", "", "true forces every new pass to be one-time")
	include := fs.String("include", "", "include targets")
	exclude := fs.String("exclude", "", "exclude targets")
	if _, err := a.parse(fs, args, 0, ""); err != nil {
		return err
	}
	var patch api.PolicyPatch
	changed := false
	fs.Visit(func(f *flag.Flag) { changed = changed || f.Name != "json" })
	if !changed {
		return usagef("policy set needs at least one setting, e.g. --state enabled")
	}
	if *state != "" {
		patch.State = state
	}
	for _, m := range []struct {
		v   string
		dst **int
	}{{*minL, &patch.MinimumLifetimeInMinutes}, {*maxL, &patch.MaximumLifetimeInMinutes}, {*defL, &patch.DefaultLifetimeInMinutes}} {
		if m.v == "" {
			continue
		}
		n, err := parseMinutes(m.v)
		if err != nil {
			return usageError{err}
		}
		*m.dst = &n
	}
	if *length != 0 {
		patch.DefaultLength = length
	}
	if *once != "" {
		b, err := strconv.ParseBool(*once)
		if err != nil {
			return usagef("--usable-once takes true or false")
		}
		patch.IsUsableOnce = &b
	}
	for _, t := range []struct {
		v   string
		dst **[]api.Target
	}{{*include, &patch.IncludeTargets}, {*exclude, &patch.ExcludeTargets}} {
		if t.v == "" {
			continue
		}
		ts, err := parseTargets(t.v)
		if err != nil {
			return usageError{err}
		}
		*t.dst = &ts
	}
	p, err := a.client.UpdatePolicy(ctx, patch)
	if err != nil {
		return err
	}
	return a.showPolicy(p)
}
