package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tapkiosk/tapkiosk/api"
)

// parseMinutes reads a lifetime: plain minutes ("60"), a Go duration
// ("90m", "8h") or days ("2d").
func parseMinutes(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil {
			return n * 24 * 60, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Minute != 0 {
		return 0, fmt.Errorf("%q is not a whole number of minutes, like 60, 90m, 8h or 2d", s)
	}
	return int(d / time.Minute), nil
}

// parseWhen reads an instant: RFC 3339, or a delay from now ("2h") for
// --start, or a time ago for --since ("24h" means the last 24 hours).
func parseWhen(s string, now time.Time, ago bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	m, err := parseMinutes(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-23T09:00:00Z) nor a duration (2h)", s)
	}
	d := time.Duration(m) * time.Minute
	if ago {
		d = -d
	}
	return now.Add(d), nil
}

// clean makes server text safe for a terminal: control characters become
// '?', so a hostile name cannot move the cursor or retitle the window.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '?'
		}
		return r
	}, s)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04 MST")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}

// table prints a table wrapped by column to the terminal's width
// (layoutTable).
func (a *app) table(header string, rows [][]string) {
	for _, r := range rows {
		for i := range r {
			r[i] = clean(r[i])
		}
	}
	fmt.Fprint(a.out, layoutTable(header, rows, a.width))
}

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

// ---- users ----

func (a *app) showUsers(us []api.User) error {
	if a.json {
		return a.printJSON(us)
	}
	var rows [][]string
	for _, u := range us {
		kind := u.UserType
		if u.GuestKind != "" {
			kind += " (" + u.GuestKind + ")"
		}
		rows = append(rows, []string{u.UserPrincipalName, u.DisplayName, kind, strings.Join(u.Groups, ";"), u.AdminRole, when(u.CreatedDateTime)})
	}
	a.table("UPN\tDISPLAY NAME\tTYPE\tGROUPS\tADMIN ROLE\tCREATED", rows)
	return nil
}

func (a *app) userAdd(ctx context.Context, args []string) error {
	fs := a.flags("user add")
	name := fs.String("name", "", "display name")
	guest := fs.String("guest", "", "internal or external, for a guest")
	groups := fs.String("groups", "", "comma-separated group names")
	role := fs.String("admin-role", "", "admin role the user holds, if any")
	pos, err := a.parse(fs, args, 1, "UPN --name NAME")
	if err != nil {
		return err
	}
	u := api.User{UserPrincipalName: pos[0], DisplayName: *name, UserType: "Member", AdminRole: *role}
	if *guest != "" {
		u.UserType, u.GuestKind = "Guest", *guest
	}
	if *groups != "" {
		u.Groups = strings.Split(*groups, ",")
	}
	out, err := a.client.CreateUser(ctx, u)
	if err != nil {
		return err
	}
	return a.showUsers([]api.User{out})
}

func (a *app) userGet(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("user get"), args, 1, "UPN")
	if err != nil {
		return err
	}
	u, err := a.client.GetUser(ctx, pos[0])
	if err != nil {
		return err
	}
	return a.showUsers([]api.User{u})
}

func (a *app) userList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("user list"), args, 0, ""); err != nil {
		return err
	}
	us, err := a.client.ListUsers(ctx)
	if err != nil {
		return err
	}
	return a.showUsers(us)
}

func (a *app) userDelete(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("user delete"), args, 1, "UPN")
	if err != nil {
		return err
	}
	if err := a.client.DeleteUser(ctx, pos[0]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Deleted %s, with their pass and sessions.", pos[0]))
}

func (a *app) userUnlock(ctx context.Context, args []string) error {
	fs := a.flags("user unlock")
	revoke := fs.Bool("revoke-kiosk", false, "also revoke the kiosks that caused the locks (needs the kiosk permission)")
	pos, err := a.parse(fs, args, 1, "UPN")
	if err != nil {
		return err
	}
	l, err := a.client.Unlock(ctx, pos[0], *revoke)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(l)
	}
	defer func() {
		for _, lc := range l.LockedBy {
			where := "at that kiosk"
			if lc.Scope == "account" {
				where = "at every kiosk"
			}
			fmt.Fprintf(a.out, "The lock %s was started by kiosk %s (%s) from %s.\n", where, lc.Kiosk, lc.KioskID, orNone(lc.ClientAddress))
		}
		for _, k := range l.RevokedKiosks {
			fmt.Fprintf(a.out, "Revoked kiosk %s.\n", k)
		}
		if len(l.LockedBy) > 0 && !*revoke {
			fmt.Fprintf(a.out, "If that kiosk is not one of yours, or a stranger is at it, run again with --revoke-kiosk.\n")
		}
	}()
	switch {
	case !l.WasLocked && l.FailedAttempts == 0:
		fmt.Fprintf(a.out, "%s was not locked.\n", l.UserPrincipalName)
		return nil
	case !l.WasLocked:
		fmt.Fprintf(a.out, "%s was not locked; the %d wrong pass(es) counted toward a lock are forgotten.\n", l.UserPrincipalName, l.FailedAttempts)
		return nil
	}
	fmt.Fprintf(a.out, "Unlocked %s: the lock would have lasted until %s. They can sign in with their pass again.\n",
		l.UserPrincipalName, l.LockedUntil.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

func (a *app) done(msg string) error {
	if a.json {
		return a.printJSON(map[string]string{"result": msg})
	}
	fmt.Fprintln(a.out, msg)
	return nil
}

func (a *app) userImport(ctx context.Context, args []string) error {
	fs := a.flags("user import")
	partial := fs.Bool("partial", false, "import the good rows even if some fail")
	pos, err := a.parse(fs, args, 1, "FILE.csv [--partial]")
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	res, err := a.client.ImportUsers(ctx, f, *partial)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.out, "Imported %d user(s).\n", res.Created)
	if len(res.Failed) > 0 {
		fmt.Fprintf(a.out, "%d row(s) were skipped:\n", max(res.FailedCount, len(res.Failed)))
		for _, r := range res.Failed {
			fmt.Fprintf(a.out, "  row %d %s: %s\n", r.Row, clean(r.UserPrincipalName), clean(r.Message))
		}
		if more := res.FailedCount - len(res.Failed); more > 0 {
			fmt.Fprintf(a.out, "  ... and %d more\n", more)
		}
	}
	return nil
}

// ---- passes ----

func (a *app) showPasses(upn string, ps []api.TemporaryAccessPassMethod) error {
	if a.json {
		return a.printJSON(ps)
	}
	if len(ps) == 0 {
		fmt.Fprintf(a.out, "%s has no Temporary Access Pass.\n", upn)
		return nil
	}
	var rows [][]string
	for _, p := range ps {
		end := p.StartDateTime.Add(time.Duration(p.LifetimeInMinutes) * time.Minute)
		rows = append(rows, []string{p.ID, when(p.StartDateTime), when(end), strconv.FormatBool(p.IsUsableOnce), strconv.FormatBool(p.IsUsable), p.MethodUsabilityReason})
	}
	a.table("ID\tSTART\tEND\tONE-TIME\tUSABLE\tREASON", rows)
	return nil
}

func (a *app) tapCreate(ctx context.Context, args []string) error {
	fs := a.flags("tap create")
	start := fs.String("start", "", "when the pass starts: RFC 3339 or a delay like 2h")
	lifetime := fs.String("lifetime", "", "how long it lasts: 60, 90m, 8h, 2d")
	once := fs.Bool("once", false, "the pass works for one sign-in only")
	pos, err := a.parse(fs, args, 1, "UPN [--start T] [--lifetime D] [--once]\n\nMakes a pass and prints it once. It replaces the person's pass, if they have one:\nthe old one stops working and any kiosk session open with it ends.")
	if err != nil {
		return err
	}
	var req api.CreatePassRequest
	if *start != "" {
		t, err := parseWhen(*start, a.now(), false)
		if err != nil {
			return usageError{err}
		}
		req.StartDateTime = &t
	}
	if *lifetime != "" {
		n, err := parseMinutes(*lifetime)
		if err != nil {
			return usageError{err}
		}
		req.LifetimeInMinutes = &n
	}
	if *once {
		req.IsUsableOnce = once
	}
	p, err := a.client.CreatePass(ctx, pos[0], req)
	if err != nil {
		return err
	}
	warning := ""
	if p.ReplacedPassID != "" {
		warning = fmt.Sprintf("This replaced %s's previous pass (%s): it no longer works, and any kiosk session open with it has ended.", pos[0], p.ReplacedPassID)
	}
	if a.json {
		return a.printJSON(struct {
			api.TemporaryAccessPassMethod
			Warning string `json:"warning,omitempty"`
		}{p, warning})
	}
	if warning != "" {
		fmt.Fprintf(a.out, "Warning: %s\n\n", clean(warning))
	}
	end := p.StartDateTime.Add(time.Duration(p.LifetimeInMinutes) * time.Minute)
	value := *p.TemporaryAccessPass
	bar := strings.Repeat("─", len(value)+4)
	fmt.Fprintf(a.out, "Temporary Access Pass for %s (shown once; it cannot be shown again):\n\n", clean(pos[0]))
	fmt.Fprintf(a.out, "    ┌%s┐\n    │  %s  │\n    └%s┘\n\n", bar, value, bar)
	fmt.Fprintf(a.out, "Valid from %s until %s (%d minutes)", when(p.StartDateTime), when(end), p.LifetimeInMinutes)
	if p.IsUsableOnce {
		fmt.Fprint(a.out, ", one sign-in only")
	}
	fmt.Fprintln(a.out, ".")
	if !p.IsUsable && p.MethodUsabilityReason != "NotYetValid" {
		fmt.Fprintf(a.out, "Note: it cannot be used yet (%s); see `tapctl policy show`.\n", p.MethodUsabilityReason)
	}
	return nil
}

func (a *app) tapShow(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("tap show"), args, 1, "UPN")
	if err != nil {
		return err
	}
	ps, err := a.client.ListPasses(ctx, pos[0])
	if err != nil {
		return err
	}
	return a.showPasses(pos[0], ps)
}

func (a *app) tapDelete(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("tap delete"), args, 1, "UPN")
	if err != nil {
		return err
	}
	ps, err := a.client.ListPasses(ctx, pos[0])
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return &api.Error{Status: 404, Code: api.CodeNotFound, Message: pos[0] + " has no Temporary Access Pass to delete.", RequestID: "-"}
	}
	for _, p := range ps {
		if err := a.client.DeletePass(ctx, pos[0], p.ID); err != nil {
			return err
		}
	}
	return a.done(fmt.Sprintf("Deleted the Temporary Access Pass of %s; sessions made with it have ended.", pos[0]))
}

// ---- kiosks and tokens ----

func (a *app) kioskAdd(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("kiosk add"), args, 1, "NAME")
	if err != nil {
		return err
	}
	k, err := a.client.CreateKiosk(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(k)
	}
	fmt.Fprintf(a.out, "Kiosk %q registered. Its token is shown once; put it in the kiosk's token file:\n\n  %s\n", clean(k.Name), k.Token)
	return nil
}

func (a *app) kioskList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("kiosk list"), args, 0, ""); err != nil {
		return err
	}
	ks, err := a.client.ListKiosks(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(ks)
	}
	var rows [][]string
	for _, k := range ks {
		rows = append(rows, []string{k.Name, k.ID, when(k.CreatedDateTime), whenPtr(k.RevokedDateTime)})
	}
	a.table("NAME\tID\tCREATED\tREVOKED", rows)
	return nil
}

func (a *app) kioskRevoke(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("kiosk revoke"), args, 1, "NAME")
	if err != nil {
		return err
	}
	if err := a.client.RevokeKiosk(ctx, pos[0]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Revoked kiosk %q; its sessions have ended.", pos[0]))
}

func (a *app) tokenAdd(ctx context.Context, args []string) error {
	fs := a.flags("token add")
	role := fs.String("role", "", "the token's role")
	expires := fs.String("expires", "", "lifetime, e.g. 30d (default: never)")
	pos, err := a.parse(fs, args, 1, "NAME --role ROLE [--expires D]")
	if err != nil {
		return err
	}
	if *role == "" {
		return usagef("token add needs --role (one of %s)", strings.Join(api.Roles, ", "))
	}
	req := api.CreateAdminTokenRequest{Name: pos[0], Role: *role}
	if *expires != "" {
		t, err := parseWhen(*expires, a.now(), false)
		if err != nil {
			return usageError{err}
		}
		req.ExpiresDateTime = &t
	}
	t, err := a.client.CreateAdminToken(ctx, req)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(t)
	}
	fmt.Fprintf(a.out, "Admin token %q (%s) created. It is shown once:\n\n  %s\n", clean(t.Name), t.Role, t.Token)
	return nil
}

func (a *app) tokenList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("token list"), args, 0, ""); err != nil {
		return err
	}
	ts, err := a.client.ListAdminTokens(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(ts)
	}
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.Name, t.Role, when(t.CreatedDateTime), whenPtr(t.ExpiresDateTime), whenPtr(t.RevokedDateTime)})
	}
	a.table("NAME\tROLE\tCREATED\tEXPIRES\tREVOKED", rows)
	return nil
}

func (a *app) tokenRevoke(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("token revoke"), args, 1, "NAME")
	if err != nil {
		return err
	}
	if err := a.client.RevokeAdminToken(ctx, pos[0]); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Revoked admin token %q.", pos[0]))
}

// ---- audit ----

func (a *app) audit(ctx context.Context, args []string) error {
	fs := a.flags("audit")
	var q api.AuditQuery
	fs.StringVar(&q.User, "user", "", "only entries about this user")
	fs.StringVar(&q.Action, "action", "", "only this action, e.g. signIn, sessionDenied, createPass")
	fs.StringVar(&q.Actor, "actor", "", "only this admin token or kiosk name")
	fs.StringVar(&q.Result, "result", "", "success or failure")
	since := fs.String("since", "", "RFC 3339 time, or a span like 24h for the last 24 hours")
	until := fs.String("until", "", "RFC 3339 time")
	fs.IntVar(&q.Top, "top", 50, "how many entries at most (up to 1000)")
	if _, err := a.parse(fs, args, 0, ""); err != nil {
		return err
	}
	if q.Action != "" && !slices.Contains(api.AuditActions, q.Action) {
		return usagef("--action %q is not an audit action; use one of %s", q.Action, strings.Join(api.AuditActions, ", "))
	}
	var err error
	if *since != "" {
		if q.Since, err = parseWhen(*since, a.now(), true); err != nil {
			return usageError{err}
		}
	}
	if *until != "" {
		if q.Until, err = parseWhen(*until, a.now(), true); err != nil {
			return usageError{err}
		}
	}
	es, err := a.client.Audit(ctx, q)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(es)
	}
	var rows [][]string
	for _, e := range es {
		rows = append(rows, []string{when(e.ActivityDateTime), e.Actor.Type + ":" + e.Actor.Name, e.Action, e.Target, e.Result, e.ResultReason, e.RequestID})
	}
	a.table("TIME\tACTOR\tACTION\tTARGET\tRESULT\tREASON\tREQUEST", rows)
	return nil
}

// orNone is s, or "an unknown address".
func orNone(s string) string {
	if s == "" {
		return "an unknown address"
	}
	return s
}
