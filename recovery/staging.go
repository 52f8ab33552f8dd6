package recovery

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Staging: IT registers keys for people before handing them out. The
// operator drives the ceremony (an admin token, not a kiosk session), the
// key's record names them, and a batch row, when given, is recorded with
// the key in the same unit so that nobody is registered twice.

// MaxStagingRows bounds a batch.
const MaxStagingRows = 5000

// stagingTarget is the person a staging route names, if the caller may
// manage them.
func (s *Service) stagingTarget(ctx context.Context, c *Caller, rawUPN string) (directory.User, error) {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return u, err
	}
	return u, s.canManageUser(ctx, c, u)
}

func errRowRegistered(r store.StagingRow) *api.Error {
	return api.Conflict(api.CodeStagingRowRegistered, "%s has a key from this batch already (method %s); nobody is registered twice.", r.UPN, r.MethodID)
}

// stagedRow is the row a staged registration names, checked against the
// person: nil when none is named. A registered row is a 409.
func (s *Service) stagedRow(ctx context.Context, u directory.User, batchID, rowID string) (*store.StagingRow, error) {
	if batchID == "" && rowID == "" {
		return nil, nil
	}
	if batchID == "" || rowID == "" {
		return nil, api.Invalid("stagingRowId", "stagingBatchId and stagingRowId go together.")
	}
	b, r, err := s.stagingRowOf(ctx, batchID, rowID)
	if err != nil {
		return nil, err
	}
	if tap.UPNKey(r.UPN) != tap.UPNKey(u.UPN) {
		return nil, api.Invalid("stagingRowId", "This row is for %s, not %s.", r.UPN, u.UPN)
	}
	switch r.State {
	case store.StagingRegistered:
		return nil, errRowRegistered(r)
	case store.StagingRemoved:
		return nil, api.Conflict(api.CodeStagingRowRegistered, "The key %s had from batch %s was removed; to stage them anew, re-issue the row (tapctl staging reissue %s %s).",
			r.UPN, b.Name, b.Name, r.UPN)
	}
	return &r, nil
}

// StagingWriteWindow is how long a registration with a staging row may
// take to write its key to the directory once it has claimed the row: the
// write is cut off at its end, so the claim always outlives the write.
// Graph's client gives up on a write before: a key write is retried only
// when throttled, at most four attempts of a minute each with two minutes
// of Retry-After waits by default (--graph-max-retry-after can raise that;
// the cut-off then wins). A write whose outcome never came back keeps its
// row this long, since the key may be in Entra.
const StagingWriteWindow = 10 * time.Minute

func errRowBusy(r store.StagingRow, now time.Time) *api.Error {
	secs := max(1, int(math.Ceil(r.Lease.Until.Sub(now).Seconds())))
	return api.Conflict(api.CodeStagingRowBusy, "A key for %s is being registered with this row elsewhere until %s UTC; take another row, or try this one then.",
		r.UPN, r.Lease.Until.UTC().Format("15:04:05")).RetryAfter(secs)
}

// leaseError turns a lease the store refused into the client's error.
func leaseError(r store.StagingRow, err error, now time.Time) error {
	switch {
	case errors.Is(err, store.ErrLeased):
		return errRowBusy(r, now)
	case errors.Is(err, store.ErrRegistered):
		return errRowRegistered(r)
	case errors.Is(err, store.ErrNotFound):
		return api.NotFound("That staging row no longer exists.")
	}
	return err
}

// UserCreationOptions begins a registration the operator makes for
// someone. With a batch row, a row that has its key already is refused
// before anyone touches a key, and the row is leased to this ceremony
// until its challenge ends: another admin token asking meanwhile gets 409
// stagingRowBusy, and the same token asking again (a kiosk restarted
// mid-row) takes the lease over, so a restart never waits.
func (s *Service) UserCreationOptions(ctx context.Context, c *Caller, rawUPN, batchID, rowID string) (api.CreationOptions, error) {
	u, err := s.stagingTarget(ctx, c, rawUPN)
	if err != nil {
		return api.CreationOptions{}, err
	}
	row, err := s.stagedRow(ctx, u, batchID, rowID)
	if err != nil {
		return api.CreationOptions{}, err
	}
	o := operatorOwner(c, u.UPN)
	if row == nil {
		return s.creationOptions(ctx, c, o, nil)
	}
	// A row someone else holds is refused before the directory is asked
	// for a challenge; the lease itself decides, in the store.
	if now, l := s.now(), row.Lease; l.Held(now) && (l.OperatorID != o.operatorID || l.Writing) {
		return api.CreationOptions{}, errRowBusy(*row, now)
	}
	return s.creationOptions(ctx, c, o, func(st store.Store, ceremonyID string, until time.Time) error {
		now := s.now()
		r, err := st.LeaseStagingRow(ctx, row.BatchID, row.ID, store.StagingLease{CeremonyID: ceremonyID, OperatorID: o.operatorID, Until: until}, now)
		if err == nil && row.Lease.Held(now) {
			c.Log.Info("staging row taken over by its operator", "batch", row.BatchID, "row", row.ID)
		}
		return leaseError(r, err, now)
	})
}

// RegisterForUser finishes a registration the operator made for someone:
// verified and judged as the kiosk's own, kept by the directory with the
// operator named on the key's record, and, with a batch row, the row
// marked registered in the same transaction (local directory). With
// Entra the key is written to Graph first and the row after, since no
// transaction spans both; what keeps two stations from writing two keys
// for one row there is the row's lease, which the registration claims
// before the directory write, and only the ceremony holding it may.
func (s *Service) RegisterForUser(ctx context.Context, c *Caller, rawUPN string, req api.StagedFIDO2Request) (api.FIDO2Method, error) {
	u, err := s.stagingTarget(ctx, c, rawUPN)
	if err != nil {
		return api.FIDO2Method{}, err
	}
	target := tap.UPNKey(u.UPN)
	details := map[string]string{"staged": "true"}
	if req.StagingBatchID != "" || req.StagingRowID != "" {
		details["stagingBatchId"], details["stagingRowId"] = req.StagingBatchID, req.StagingRowID
	}
	var row *store.StagingRow
	if req.SerialNumber = strings.TrimSpace(req.SerialNumber); req.SerialNumber != "" {
		if bad := badName("serialNumber", req.SerialNumber); bad != nil {
			err = bad
		}
	}
	if err == nil {
		row, err = s.stagedRow(ctx, u, req.StagingBatchID, req.StagingRowID)
	}
	if err != nil {
		// The challenge an answer names is used up first, as on the
		// kiosk's route: an answer is taken once, whatever else the body
		// gets wrong, and one whose challenge is not waiting says so. A
		// body naming no challenge gets what is wrong with it.
		if ch := challengeOf(req.PublicKeyCredential); ch != "" {
			_, cerr := s.takeCeremony(context.WithoutCancel(ctx), operatorOwner(c, u.UPN), ch, ceremonyRegistration, "")
			var ae *api.Error
			if errors.As(cerr, &ae) {
				return api.FIDO2Method{}, s.refuse(ctx, c, api.ActionRegisterFIDO2, target, string(ae.Code), cerr, details)
			}
			if cerr != nil {
				return api.FIDO2Method{}, cerr
			}
		}
		if isCode(err, api.CodeStagingRowRegistered) {
			return api.FIDO2Method{}, s.refuse(ctx, c, api.ActionRegisterFIDO2, target, string(api.CodeStagingRowRegistered), err, details)
		}
		return api.FIDO2Method{}, err
	}
	if row == nil {
		m, err := s.register(ctx, c, operatorOwner(c, u.UPN), req.RegisterFIDO2Request, details, nil)
		return fido2Out(m), err
	}
	if strings.TrimSpace(req.DisplayName) == "" {
		req.DisplayName = row.KeyName
	}
	claim := func(ctx context.Context, challenge string) (time.Duration, error) {
		now := s.now()
		until := now.Add(StagingWriteWindow)
		r, err := s.st.ClaimStagingRow(ctx, row.BatchID, row.ID, challenge, until, now)
		if !errors.Is(err, store.ErrLeased) {
			return StagingWriteWindow, leaseError(r, err, now)
		}
		switch l := r.Lease; {
		case l.CeremonyID == challenge && !l.Held(now):
			return StagingWriteWindow, api.E(api.CodeChallengeExpired, "This row's hold ended with its challenge before the key answered. Start the row again.")
		case l.Held(now):
			return StagingWriteWindow, errRowBusy(r, now)
		}
		return StagingWriteWindow, api.E(api.CodeChallengeInvalid,
			"This answer's challenge was not issued for this row: ask for creation options with stagingBatchId and stagingRowId, then register with the same row.")
	}
	keep := func(un unit, m store.Method, audit map[string]string) error {
		now := ms(s.now())
		r := *row
		r.State, r.Reason, r.MethodID, r.AAGUID, r.Model = store.StagingRegistered, "", m.ID, m.AAGUID, m.Model
		// The row names the key as the directory does, defaulted or not.
		r.KeyName = m.DisplayName
		r.SerialNumber, r.CredentialID, r.RegisteredAt, r.PINChangeForced, r.UpdatedAt, r.RegisteredBy =
			req.SerialNumber, base64.RawURLEncoding.EncodeToString(m.CredentialID), &now, req.PINChangeForced, now, c.Admin.ID
		err := un.st.MarkStagingRow(ctx, r)
		switch {
		case err == nil:
			return nil
		case !un.tx:
			// The key is in the directory already: say so loudly rather
			// than report a failure that did not happen.
			c.Log.Error("staging row not recorded after the key was registered", "batch", r.BatchID, "row", r.ID, "method_id", m.ID, "err", err)
			audit["stagingRow"] = "notRecorded"
			return nil
		case errors.Is(err, store.ErrRegistered):
			cur, _ := un.st.GetStagingRow(ctx, r.BatchID, r.ID)
			return &directory.Failed{Result: store.AuditFailure, Reason: string(api.CodeStagingRowRegistered), Err: errRowRegistered(cur)}
		}
		return err
	}
	release := func(ctx context.Context, challenge string) {
		if err := s.st.ReleaseStagingRow(ctx, row.BatchID, row.ID, challenge); err != nil {
			c.Log.Warn("staging row not released after a failed registration; it frees itself when the hold ends", "batch", row.BatchID, "row", row.ID, "err", err)
		}
	}
	m, err := s.register(ctx, c, operatorOwner(c, u.UPN), req.RegisterFIDO2Request, details, &staged{claim: claim, keep: keep, release: release})
	if err != nil {
		return api.FIDO2Method{}, err
	}
	return fido2Out(m), nil
}

// StagingInput is one person of a new batch as given: its number (the
// list position from 1, or the CSV line), the person, or why the CSV row
// could not be read.
type StagingInput struct {
	Row    int
	Person api.StagingPerson
	Err    string
}

func batchName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if err := badName("name", name); err != nil {
		return "", err
	}
	return name, nil
}

// CreateStagingBatch checks every person first (known to the directory,
// manageable by the caller, not in another batch's pending or registered
// rows, once only) and keeps the batch only when all pass.
func (s *Service) CreateStagingBatch(ctx context.Context, c *Caller, name string, in []StagingInput) (api.StagingBatch, error) {
	return s.createStagingBatch(ctx, c, name, in, map[string]string{})
}

// CreateStagingBatchFromGroup stages everyone the directory has in the
// group: each member becomes a row, in UPN order, and goes through the
// same checks as a person listed by name, so a group holding someone the
// caller may not manage is refused whole, like a list would be. A group
// the directory does not know, or one with nobody in it, is refused and
// audited.
func (s *Service) CreateStagingBatchFromGroup(ctx context.Context, c *Caller, name, group string) (api.StagingBatch, error) {
	name, err := batchName(name)
	if err != nil {
		return api.StagingBatch{}, err
	}
	group = strings.TrimSpace(group)
	if err := badName("group", group); err != nil {
		return api.StagingBatch{}, err
	}
	details := map[string]string{"name": name, "group": group}
	g, upns, err := s.dir.GroupMembers(ctx, group)
	switch {
	case isCode(err, api.CodeNotFound):
		return api.StagingBatch{}, s.refuse(ctx, c, api.ActionCreateStagingBatch, "", "groupNotFound", err, details)
	case isCode(err, api.CodeInvalidValue):
		return api.StagingBatch{}, s.refuse(ctx, c, api.ActionCreateStagingBatch, "", "groupAmbiguous", err, details)
	case err != nil:
		return api.StagingBatch{}, err
	}
	details["group"], details["groupId"] = g.DisplayName, g.ID
	if len(upns) == 0 {
		return api.StagingBatch{}, s.refuse(ctx, c, api.ActionCreateStagingBatch, "", "groupEmpty",
			api.Invalid("group", "Group %s has no users, so there is nobody to stage.", g.DisplayName), details)
	}
	if len(upns) > MaxStagingRows {
		return api.StagingBatch{}, s.refuse(ctx, c, api.ActionCreateStagingBatch, "", "groupTooLarge",
			api.Invalid("group", "Group %s has %d users and a batch holds at most %d; stage a smaller group.", g.DisplayName, len(upns), MaxStagingRows), details)
	}
	slices.SortFunc(upns, func(a, b string) int { return strings.Compare(tap.UPNKey(a), tap.UPNKey(b)) })
	in := make([]StagingInput, len(upns))
	for i, upn := range upns {
		in[i] = StagingInput{Row: i + 1, Person: api.StagingPerson{UserPrincipalName: upn}}
	}
	return s.createStagingBatch(ctx, c, name, in, details)
}

// createStagingBatch is CreateStagingBatch with what the audit should
// say of where the people came from.
func (s *Service) createStagingBatch(ctx context.Context, c *Caller, name string, in []StagingInput, details map[string]string) (api.StagingBatch, error) {
	sb, err := s.startStagingBatch(c, name, details)
	if err != nil {
		return api.StagingBatch{}, err
	}
	if len(in) > MaxStagingRows {
		return api.StagingBatch{}, api.Invalid("users", "A batch holds at most %d people; split the list.", MaxStagingRows)
	}
	for _, r := range in {
		if err := sb.Add(ctx, r); err != nil {
			return api.StagingBatch{}, err
		}
	}
	return sb.Finish(ctx)
}

// heldBy says which batch holds the person (a pending row, or a
// registered one whose key is still registered), or "" when none does.
func (s *Service) heldBy(ctx context.Context, c *Caller, upn string) (string, error) {
	active, err := s.st.ActiveStagingRows(ctx, upn)
	if err != nil {
		return "", err
	}
	if active, err = s.settle(ctx, c, active); err != nil {
		return "", err
	}
	for _, r := range active {
		if r.State == store.StagingRemoved {
			continue
		}
		name := r.BatchID
		if b, _, err := s.st.GetStagingBatch(ctx, r.BatchID); err == nil {
			name = b.Name
		}
		return fmt.Sprintf("already %s in staging batch %s", r.State, name), nil
	}
	return "", nil
}

func batchOut(b store.StagingBatch) api.StagingBatch {
	return api.StagingBatch{ID: b.ID, Name: b.Name, CreatedDateTime: b.CreatedAt, CreatedBy: b.CreatedBy,
		PendingCount: b.Pending, RegisteredCount: b.Registered, FailedCount: b.Failed, RemovedCount: b.Removed}
}

// languageTag is the shape of a BCP 47 language tag, as a letter's
// language is given: a language and optional subtags (sv, sv-SE).
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$`)

func stagingRowOut(r store.StagingRow) api.StagingRow {
	return api.StagingRow{ID: r.ID, UserPrincipalName: r.UPN, DisplayName: r.DisplayName, KeyName: r.KeyName, PreferredLanguage: r.Language, State: r.State,
		FailureReason: r.Reason, MethodID: r.MethodID, AAGUID: r.AAGUID, Model: r.Model, SerialNumber: r.SerialNumber,
		CredentialID: r.CredentialID, RegisteredDateTime: r.RegisteredAt, PINChangeForced: r.PINChangeForced, LastModifiedDateTime: r.UpdatedAt}
}

// ListStagingBatches lists the batches with their counts.
func (s *Service) ListStagingBatches(ctx context.Context) ([]api.StagingBatch, error) {
	bs, err := s.st.ListStagingBatches(ctx)
	out := []api.StagingBatch{}
	for _, b := range bs {
		out = append(out, batchOut(b))
	}
	return out, err
}

func (s *Service) stagingBatch(ctx context.Context, ref string) (store.StagingBatch, []store.StagingRow, error) {
	b, rows, err := s.st.GetStagingBatch(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return b, nil, api.NotFound("No staging batch %s.", ref)
	}
	return b, rows, err
}

// StagingBatch is one batch, by id or name, with its rows.
func (s *Service) StagingBatch(ctx context.Context, ref string) (api.StagingBatch, error) {
	b, rows, err := s.stagingBatch(ctx, ref)
	if err != nil {
		return api.StagingBatch{}, err
	}
	out := batchOut(b)
	out.Rows = []api.StagingRow{}
	for _, r := range rows {
		out.Rows = append(out.Rows, stagingRowOut(r))
	}
	return out, nil
}

// UpdateStagingRow records what the kiosk reports of a row outside a
// registration: a failure and its reason, a failed row back to pending,
// or the serial and forced PIN change of a registered one.
func (s *Service) UpdateStagingRow(ctx context.Context, c *Caller, ref, rowID string, p api.StagingRowPatch) (api.StagingRow, error) {
	b, r, err := s.stagingRowOf(ctx, ref, rowID)
	if err != nil {
		return api.StagingRow{}, err
	}
	if p.State == nil && p.FailureReason == nil && p.SerialNumber == nil && p.PINChangeForced == nil {
		return api.StagingRow{}, api.E(api.CodeBadRequest, "Say what changed: state, failureReason, serialNumber or pinChangeForced.")
	}
	if err := s.mayTouchRow(ctx, c, r); err != nil {
		return api.StagingRow{}, err
	}
	if r.State == store.StagingRegistered && (p.SerialNumber != nil || p.PINChangeForced != nil) && !privileged(c) && c.Admin.ID != r.RegisteredBy {
		return api.StagingRow{}, s.refuse(ctx, c, api.ActionUpdateStagingRow, tap.UPNKey(r.UPN), "notRegistrant",
			api.E(api.CodeForbidden, "%s's key in batch %s was registered with another admin token; only that token or a privileged authentication administrator may set its facts.", r.UPN, b.Name),
			map[string]string{"stagingBatchId": b.ID, "stagingRowId": r.ID})
	}
	if p.State != nil {
		switch *p.State {
		case api.StagingPending, api.StagingFailed:
		case api.StagingRegistered:
			return api.StagingRow{}, api.Invalid("state", "A row becomes registered only by registering its key with it (POST /v1/users/{upn}/fido2Methods with stagingBatchId and stagingRowId).")
		default:
			return api.StagingRow{}, api.Invalid("state", `state must be "pending" or "failed".`)
		}
		if r.State == store.StagingRegistered {
			return api.StagingRow{}, s.refuse(ctx, c, api.ActionUpdateStagingRow, tap.UPNKey(r.UPN), string(api.CodeStagingRowRegistered), errRowRegistered(r),
				map[string]string{"stagingBatchId": b.ID, "stagingRowId": r.ID, "state": *p.State})
		}
		r.State = *p.State
		if r.State == store.StagingPending {
			r.Reason = ""
		}
	}
	if p.FailureReason != nil {
		reason := strings.TrimSpace(*p.FailureReason)
		if err := badName("failureReason", reason); reason != "" && err != nil {
			return api.StagingRow{}, err
		}
		if r.State != store.StagingFailed && reason != "" {
			return api.StagingRow{}, api.Invalid("failureReason", "Only a failed row has a failureReason.")
		}
		r.Reason = reason
	}
	if p.SerialNumber != nil {
		sn := strings.TrimSpace(*p.SerialNumber)
		if err := badName("serialNumber", sn); sn != "" && err != nil {
			return api.StagingRow{}, err
		}
		r.SerialNumber = sn
	}
	if p.PINChangeForced != nil {
		r.PINChangeForced = *p.PINChangeForced
	}
	r.UpdatedAt = ms(s.now())
	details := map[string]string{"stagingBatchId": b.ID, "stagingRowId": r.ID, "state": r.State, "reason": r.Reason,
		"serialNumber": r.SerialNumber, "pinChangeForced": strconv.FormatBool(r.PINChangeForced)}
	err = s.inStore(ctx, func(u unit) error {
		if err := u.st.MarkStagingRow(ctx, r); err != nil {
			if errors.Is(err, store.ErrRegistered) {
				return errRowRegistered(r)
			}
			return err
		}
		return s.done(ctx, c, u, api.ActionUpdateStagingRow, tap.UPNKey(r.UPN), details)
	})
	return stagingRowOut(r), err
}
