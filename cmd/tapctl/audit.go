// tapctl's audit command: reading the audit trail with its filters.

package main

import (
	"context"
	"slices"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

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
