// The Entra directory's passes: creating a Temporary Access Pass in Graph
// with its hash kept in the store and the local user row it refers to,
// and listing, judging and deleting passes.

package entra

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// ---- passes ----

func passOf(g graph.TAPMethod) directory.Pass {
	return directory.Pass{ID: g.ID, CreatedAt: g.CreatedDateTime, StartAt: startOf(g.StartDateTime, g.CreatedDateTime), LifetimeMinutes: g.LifetimeInMinutes,
		IsUsableOnce: g.IsUsableOnce, IsUsable: g.IsUsable, Reason: g.MethodUsabilityReason}
}

// startOf is a pass's start. startDateTime is optional on create ("If not
// specified, the Temporary Access Pass is available to use immediately
// after it's created", authentication-post-temporaryaccesspassmethods.md)
// and the docs do not promise it in the answer, so a pass without one
// starts when it was created: the zero time would have made it start in
// year 1 and expire at once.
func startOf(start, created time.Time) time.Time {
	if start.IsZero() {
		return created
	}
	return start
}

// CreatePass creates the pass in Entra, which replaces any pass the
// person had there, and keeps its hash under Entra's method id. The answer
// is Entra's own, so isUsable is Entra's verdict. When the hash cannot be
// kept the Entra pass is deleted again, so no pass exists that the kiosk
// cannot check, and the audit trail says so either way.
//
// The start is sent only when the admin gave one: "now" is Entra's to
// decide, so a clock behind Entra's cannot make a start in the past.
func (d *Directory) CreatePass(ctx context.Context, u directory.User, req directory.PassRequest) (directory.NewPass, error) {
	body := graph.CreateTAP{LifetimeInMinutes: &req.LifetimeMinutes, IsUsableOnce: &req.IsUsableOnce}
	if req.StartGiven {
		start := req.Start
		body.StartDateTime = &start
	}
	gp, res, err := d.g.CreateTAP(ctx, u.UPN, body)
	if err != nil {
		f := writeFailed("create the pass", res, err, nil)
		if graphMessage(err) == api.ExternalGuestMessage {
			f.Err = api.E(api.CodeExternalGuest, "%s", api.ExternalGuestMessage).Because(err)
		}
		return directory.NewPass{}, f
	}
	if gp.TemporaryAccessPass == nil || *gp.TemporaryAccessPass == "" {
		return directory.NewPass{}, &directory.Failed{Result: store.AuditFailure, Reason: "noValueFromDirectory",
			Trace: trace(directory.Trace{"passId": gp.ID}, res),
			Err:   api.E(api.CodeDirectoryError, "Microsoft Entra ID created pass %s but did not return its value; delete it in Entra and try again.", gp.ID)}
	}
	if gp.CreatedDateTime.IsZero() {
		gp.CreatedDateTime = d.now()
	}
	if gp.StartDateTime.IsZero() && req.StartGiven {
		gp.StartDateTime = req.Start // what tapd asked for, when Entra does not repeat it
	}
	out := directory.NewPass{Pass: passOf(gp), Value: *gp.TemporaryAccessPass, Trace: trace(nil, res)}
	p := store.Pass{ID: gp.ID, UPN: u.UPN, CreatedAt: out.CreatedAt.UTC().Truncate(time.Millisecond), StartAt: out.StartAt.UTC().Truncate(time.Millisecond),
		LifetimeMinutes: gp.LifetimeInMinutes, IsUsableOnce: gp.IsUsableOnce, CreatedBy: req.CreatedBy}
	p.Hash, err = tap.HashPass(out.Value, d.argon2)
	if err == nil {
		err = d.mirror(ctx, u)
	}
	if err == nil {
		out.Replaced, err = d.st.ReplacePass(ctx, p)
	}
	if err == nil {
		return out, nil
	}
	// Undo in Entra so that no pass exists which nobody can use here.
	dres, derr := d.g.DeleteMethod(ctx, u.UPN, directory.KindTAP, gp.ID)
	t := trace(directory.Trace{"passId": gp.ID, "createRequestId": res.RequestID}, dres)
	if derr != nil {
		t["undo"] = "failed"
		return directory.NewPass{}, &directory.Failed{Result: store.AuditFailure, Reason: "savedInEntraOnly", Trace: t,
			Err: api.E(api.CodeInternal, "tapd created pass %s in Entra but could not keep its check value, and could not delete it again: delete it in the Entra admin centre.", gp.ID).Because(errors.Join(err, derr))}
	}
	t["undo"] = "deleted"
	return directory.NewPass{}, &directory.Failed{Result: store.AuditFailure, Reason: "notSaved", Trace: t, Err: err}
}

// mirror makes sure the person has a local row for passes and sessions to
// refer to.
func (d *Directory) mirror(ctx context.Context, u directory.User) error {
	err := d.st.CreateUser(ctx, store.User{UPN: u.UPN, DisplayName: u.DisplayName, UserType: u.UserType, GuestKind: u.GuestKind, CreatedAt: d.now().UTC()})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil
	}
	return err
}

// Passes lists the person's pass as Entra reports it.
func (d *Directory) Passes(ctx context.Context, u directory.User) ([]directory.Pass, error) {
	ps, res, err := d.g.ListTAP(ctx, u.UPN)
	if err != nil {
		return nil, failure("list the passes", res, err)
	}
	out := []directory.Pass{}
	for _, p := range ps {
		out = append(out, passOf(p))
	}
	return out, nil
}

// ErrPassGone is a pass Entra no longer has: deleted, or replaced by a
// pass made elsewhere.
var ErrPassGone = api.E(api.CodePassDeleted, "This pass was deleted or replaced in Microsoft Entra ID. Ask IT for a new one.")

// JudgePass asks Entra about the pass (its isUsable and reason), the
// tenant's policy and the person's groups for its targets. A pass Entra
// no longer has is forgotten here too.
func (d *Directory) JudgePass(ctx context.Context, p store.Pass) (directory.Judgement, error) {
	var j directory.Judgement
	ps, res, err := d.g.ListTAP(ctx, p.UPN)
	if err != nil && status(err) != http.StatusNotFound {
		return j, failure("check the pass", res, err)
	}
	found := false
	for _, gp := range ps {
		if gp.ID == p.ID {
			found = true
			if !gp.IsUsable {
				j.Reason = gp.MethodUsabilityReason
			}
		}
	}
	if !found {
		if derr := d.st.DeletePass(ctx, p.UPN, p.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			d.log.Warn("stale pass not deleted", "pass_id", p.ID, "err", derr)
		}
		return j, ErrPassGone
	}
	if j.Policy, err = d.TAPPolicy(ctx); err != nil {
		return j, err
	}
	j.Member.UPN = p.UPN
	j.Member.Groups, err = d.groups(ctx, p.UPN)
	return j, err
}

// HasPassElsewhere reports whether Entra holds a pass for upn: when tapd
// has no hash for it, it was made elsewhere and the kiosk cannot check it.
func (d *Directory) HasPassElsewhere(ctx context.Context, upn string) bool {
	ps, _, err := d.g.ListTAP(ctx, upn)
	return err == nil && len(ps) > 0
}

// DeletePass deletes a pass in Entra, then here (which ends its sessions).
// A pass already gone from Entra is deleted here all the same; one in
// neither place is store.ErrNotFound.
func (d *Directory) DeletePass(ctx context.Context, upn, id string) (directory.Trace, error) {
	res, err := d.g.DeleteMethod(ctx, upn, directory.KindTAP, id)
	t := trace(nil, res)
	if err != nil && status(err) != http.StatusNotFound {
		return t, writeFailed("delete the pass", res, err, t)
	}
	goneThere := err != nil
	if goneThere {
		t["inEntra"] = "alreadyGone"
	}
	switch lerr := d.st.DeletePass(ctx, upn, id); {
	case errors.Is(lerr, store.ErrNotFound) && goneThere:
		return t, lerr // in neither place: there is no such pass
	case lerr != nil && !errors.Is(lerr, store.ErrNotFound):
		return t, &directory.Failed{Result: store.AuditFailure, Reason: "deletedInEntraOnly", Trace: t, Err: lerr}
	}
	return t, nil
}
