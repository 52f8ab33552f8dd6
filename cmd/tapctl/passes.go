// tapctl's Temporary Access Pass commands: creating, showing and deleting
// a person's pass.

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

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
