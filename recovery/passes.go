package recovery

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// PassOut is a pass in the API's shape.
func PassOut(p directory.Pass) api.TemporaryAccessPassMethod {
	return api.TemporaryAccessPassMethod{ID: p.ID, CreatedDateTime: p.CreatedAt, StartDateTime: p.StartAt,
		LifetimeInMinutes: p.LifetimeMinutes, IsUsableOnce: p.IsUsableOnce, IsUsable: p.IsUsable, MethodUsabilityReason: p.Reason}
}

// CreatePass makes a pass for the person, within the policy's ranges,
// replacing any old one. The answer holds the value, which is shown once.
func (s *Service) CreatePass(ctx context.Context, c *Caller, rawUPN string, req api.CreatePassRequest) (api.TemporaryAccessPassMethod, error) {
	return s.createPass(ctx, c, rawUPN, req, nil)
}

// createPass is CreatePass with extra audit details: how the console's
// staff verified the person, and who approved.
func (s *Service) createPass(ctx context.Context, c *Caller, rawUPN string, req api.CreatePassRequest, extra map[string]string) (api.TemporaryAccessPassMethod, error) {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	target := tap.UPNKey(u.UPN)
	if u.ExternalGuest() {
		return api.TemporaryAccessPassMethod{}, s.refuse(ctx, c, api.ActionCreatePass, target, "externalGuest",
			api.E(api.CodeExternalGuest, "%s", api.ExternalGuestMessage), nil)
	}
	pol, err := s.dir.TAPPolicy(ctx)
	if err != nil {
		return api.TemporaryAccessPassMethod{}, err
	}
	st, err := tap.ResolvePass(pol, tap.PassRequest{Start: req.StartDateTime, LifetimeMinutes: req.LifetimeInMinutes, IsUsableOnce: req.IsUsableOnce}, s.now().UTC())
	if err != nil {
		return api.TemporaryAccessPassMethod{}, s.refuse(ctx, c, api.ActionCreatePass, target, "invalidValue", fieldError(err), nil)
	}
	_, by := c.Actor()
	var np directory.NewPass
	err = s.inDirectory(ctx, func(un unit) error {
		var err error
		if np, err = un.dir.CreatePass(ctx, u, directory.PassRequest{PassState: st, StartGiven: req.StartDateTime != nil, CreatedBy: by}); err != nil {
			return err
		}
		details := merge(map[string]string{"passId": np.ID, "startDateTime": np.StartAt.Format(time.RFC3339),
			"lifetimeInMinutes": strconv.Itoa(np.LifetimeMinutes), "isUsableOnce": strconv.FormatBool(np.IsUsableOnce)}, np.Trace)
		maps.Copy(details, extra)
		if np.Replaced != "" {
			details["replacedPassId"] = np.Replaced
		}
		// A new pass from IT ends any lock on the account: IT has just
		// decided who may sign in, and a lock someone else caused must not
		// keep the right person out.
		ths, err := clearLock(ctx, un.st, u.UPN)
		if err != nil {
			return err
		}
		if until, _, _ := lockState(ths, s.now()); !until.IsZero() {
			details["clearedLockUntil"] = until.Format(time.RFC3339)
		}
		return s.done(ctx, c, un, api.ActionCreatePass, target, details)
	})
	if err != nil {
		return api.TemporaryAccessPassMethod{}, s.failed(ctx, c, api.ActionCreatePass, target, err, nil)
	}
	out := PassOut(np.Pass)
	out.TemporaryAccessPass = &np.Value
	out.ReplacedPassID = np.Replaced
	return out, nil
}

// Passes lists the person's pass.
func (s *Service) Passes(ctx context.Context, rawUPN string) ([]api.TemporaryAccessPassMethod, error) {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return nil, err
	}
	ps, err := s.dir.Passes(ctx, u)
	if err != nil {
		return nil, err
	}
	out := []api.TemporaryAccessPassMethod{}
	for _, p := range ps {
		out = append(out, PassOut(p))
	}
	return out, nil
}

// DeletePass deletes the person's pass with that id.
func (s *Service) DeletePass(ctx context.Context, c *Caller, rawUPN, id string) error {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return err
	}
	err = s.deletePass(ctx, c, u.UPN, id, map[string]string{"passId": id})
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("%s has no pass with id %q.", u.UPN, id)
	}
	return err
}

// deletePass deletes a pass in the directory and audits it; a pass that
// is not there is store.ErrNotFound, for the caller to word.
func (s *Service) deletePass(ctx context.Context, c *Caller, upn, id string, details map[string]string) error {
	target := tap.UPNKey(upn)
	err := s.inDirectory(ctx, func(u unit) error {
		t, err := u.dir.DeletePass(ctx, upn, id)
		if err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionDeletePass, target, merge(maps.Clone(details), t))
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s.failed(ctx, c, api.ActionDeletePass, target, err, details)
	}
	return err
}

// badName is the 400 for a field that must be a name (tap.ValidName) and
// is not, or nil when v is one.
func badName(field, v string) *api.Error {
	if tap.ValidName(v) == nil {
		return nil
	}
	return api.Invalid(field, "%s must be 1 to %d characters without control or escape characters.", field, tap.MaxNameLength)
}

// fieldError turns a rules error into a 400 naming the field.
func fieldError(err error) error {
	var fe *tap.FieldError
	if errors.As(err, &fe) {
		return api.Invalid(fe.Field, "%s %s.", fe.Field, fe.Message)
	}
	return err
}
