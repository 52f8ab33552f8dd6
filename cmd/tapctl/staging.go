package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/internal/cli"
)

// ---- staging ----

func (a *app) showBatches(bs []api.StagingBatch) error {
	if a.json {
		return a.printJSON(bs)
	}
	var rows [][]string
	for _, b := range bs {
		rows = append(rows, []string{b.Name, strconv.Itoa(b.PendingCount), strconv.Itoa(b.RegisteredCount), strconv.Itoa(b.FailedCount),
			strconv.Itoa(b.RemovedCount), b.CreatedBy, when(b.CreatedDateTime), b.ID})
	}
	a.table("NAME\tPENDING\tREGISTERED\tFAILED\tREMOVED\tCREATED BY\tCREATED\tID", rows)
	return nil
}

func (a *app) showBatch(b api.StagingBatch) error {
	if a.json {
		return a.printJSON(b)
	}
	fmt.Fprintf(a.out, "Batch %s: %d pending, %d registered, %d failed, %d removed (made by %s, %s)\n\n", clean(b.Name),
		b.PendingCount, b.RegisteredCount, b.FailedCount, b.RemovedCount, clean(b.CreatedBy), when(b.CreatedDateTime))
	var rows [][]string
	for _, r := range b.Rows {
		state := r.State
		if r.FailureReason != "" {
			state += ": " + r.FailureReason
		}
		pin := "-"
		if r.PINChangeForced {
			pin = "forced"
		}
		rows = append(rows, []string{r.UserPrincipalName, r.DisplayName, r.KeyName, state, r.Model, r.SerialNumber, pin, whenPtr(r.RegisteredDateTime), r.ID})
	}
	a.table("UPN\tDISPLAY NAME\tKEY NAME\tSTATE\tMODEL\tSERIAL\tPIN CHANGE\tREGISTERED\tROW ID", rows)
	return nil
}

func (a *app) stagingCreate(ctx context.Context, args []string) error {
	fs := a.flags("staging create")
	users := fs.String("users", "", "comma-separated UPNs")
	file := fs.String("csv", "", "CSV file: upn,displayName,keyName (header optional)")
	group := fs.String("group", "", "a directory group whose members to stage: its name, or in Entra its object id")
	name := fs.String("name", "", "the batch's name, instead of NAME")
	pos, err := a.parseRange(fs, args, 0, 1, "NAME (--users U1,U2 | --csv FILE | --group G)")
	if err != nil {
		return err
	}
	if (len(pos) == 1) == (*name != "") {
		return usagef("staging create takes the batch's name once: NAME or --name NAME")
	}
	if len(pos) == 1 {
		*name = pos[0]
	}
	given := 0
	for _, v := range []string{*users, *file, *group} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return usagef("staging create takes one of --users U1,U2, --csv FILE or --group G")
	}
	var b api.StagingBatch
	switch {
	case *file != "":
		f, err := os.Open(*file)
		if err != nil {
			return usageError{err}
		}
		defer f.Close()
		b, err = a.client.ImportStagingBatch(ctx, *name, f)
		if err != nil {
			return err
		}
	case *group != "":
		if b, err = a.client.CreateStagingBatch(ctx, api.CreateStagingBatchRequest{Name: *name, Group: *group}); err != nil {
			return err
		}
	default:
		req := api.CreateStagingBatchRequest{Name: *name}
		for _, u := range strings.Split(*users, ",") {
			if u = strings.TrimSpace(u); u != "" {
				req.Users = append(req.Users, api.StagingPerson{UserPrincipalName: u})
			}
		}
		if b, err = a.client.CreateStagingBatch(ctx, req); err != nil {
			return err
		}
	}
	return a.showBatch(b)
}

func (a *app) stagingList(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("staging list"), args, 0, ""); err != nil {
		return err
	}
	bs, err := a.client.ListStagingBatches(ctx)
	if err != nil {
		return err
	}
	return a.showBatches(bs)
}

func (a *app) stagingShow(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("staging show"), args, 1, "NAME")
	if err != nil {
		return err
	}
	b, err := a.client.GetStagingBatch(ctx, pos[0])
	if err != nil {
		return err
	}
	return a.showBatch(b)
}

// stagingExport writes the manifest as tapd makes it, to stdout or a file
// (made private: it lists people and their keys). --json alone means
// --format json.
func (a *app) stagingExport(ctx context.Context, args []string) error {
	fs := a.flags("staging export")
	format := fs.String("format", "", "csv or json")
	out := fs.String("out", "", "file to write (default: standard output)")
	pos, err := a.parse(fs, args, 1, "NAME --format csv|json [--out FILE]")
	if err != nil {
		return err
	}
	if *format == "" && a.json {
		*format = "json"
	}
	var data []byte
	switch *format {
	case "csv":
		if data, err = a.client.StagingManifestCSV(ctx, pos[0]); err != nil {
			return err
		}
	case "json":
		ms, err := a.client.StagingManifest(ctx, pos[0])
		if err != nil {
			return err
		}
		if data, err = json.MarshalIndent(ms, "", "  "); err != nil {
			return err
		}
		data = append(data, '\n')
	default:
		return usagef("staging export needs --format csv or --format json")
	}
	if *out == "" {
		_, err := a.out.Write(data)
		return err
	}
	if err := cli.WritePrivate(*out, data); err != nil {
		return err
	}
	return a.done("Wrote the manifest of " + clean(pos[0]) + " to " + *out + ".")
}

// stagingRow finds the person's row in the batch (by its name or id).
func (a *app) stagingRow(ctx context.Context, batch, upn string) (api.StagingBatch, api.StagingRow, error) {
	b, err := a.client.GetStagingBatch(ctx, batch)
	if err != nil {
		return b, api.StagingRow{}, err
	}
	for _, r := range b.Rows {
		if strings.EqualFold(r.UserPrincipalName, strings.TrimSpace(upn)) {
			return b, r, nil
		}
	}
	return b, api.StagingRow{}, fmt.Errorf("batch %s has no row for %s", clean(b.Name), clean(upn))
}

func (a *app) stagingRemove(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("staging remove"), args, 2, "NAME UPN")
	if err != nil {
		return err
	}
	b, r, err := a.stagingRow(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if err := a.client.RemoveStagingRow(ctx, b.ID, r.ID); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Removed %s from batch %s.", clean(r.UserPrincipalName), clean(b.Name)))
}

// stagingReissue removes a lost staged key's registration and stages the
// person anew. The key stops working at once, so without --yes it only
// says whose key it would remove and how to confirm.
func (a *app) stagingReissue(ctx context.Context, args []string) error {
	fs := a.flags("staging reissue")
	yes := fs.Bool("yes", false, "confirm: remove the lost key's registration now")
	pos, err := a.parse(fs, args, 2, "NAME UPN [--yes]")
	if err != nil {
		return err
	}
	b, r, err := a.stagingRow(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if !*yes {
		what := "Its key's registration is gone already"
		if r.State == api.StagingRegistered {
			what = fmt.Sprintf("This removes the registration of %s's key %q (serial %s, method %s): it stops working at once", clean(r.UserPrincipalName),
				clean(r.KeyName), orDash(clean(r.SerialNumber)), clean(r.MethodID))
		}
		return usagef("%s; %s's row in batch %s then waits for a new key. Run it again with --yes to confirm", what, clean(r.UserPrincipalName), clean(b.Name))
	}
	out, err := a.client.ReissueStagingRow(ctx, b.ID, r.ID)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(out)
	}
	return a.done(fmt.Sprintf("%s is %s in batch %s again: stage a new key for them (kiosk --staging --batch %s).",
		clean(out.UserPrincipalName), out.State, clean(b.Name), clean(b.Name)))
}

func (a *app) stagingDelete(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("staging delete"), args, 1, "NAME")
	if err != nil {
		return err
	}
	b, err := a.client.GetStagingBatch(ctx, pos[0])
	if err != nil {
		return err
	}
	if err := a.client.DeleteStagingBatch(ctx, b.ID); err != nil {
		return err
	}
	return a.done(fmt.Sprintf("Deleted batch %s (%d rows).", clean(b.Name), len(b.Rows)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
