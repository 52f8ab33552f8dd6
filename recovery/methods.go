package recovery

import (
	"context"
	"errors"
	"maps"
	"strconv"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// methodOut is a method in the API's (Graph's) style.
func methodOut(m directory.Method, thisSession bool) api.AuthenticationMethod {
	a := api.AuthenticationMethod{Type: api.MethodType(m.Kind), ID: m.ID, DisplayName: m.DisplayName, CreatedDateTime: m.CreatedAt,
		AAGUID: m.AAGUID, Model: m.Model, AttestationLevel: m.AttestationLevel, LastUsedDateTime: m.LastUsedAt, RegisteredThisSession: thisSession}
	if p := m.Pass; p != nil {
		start, once, usable := p.StartAt, p.IsUsableOnce, p.IsUsable
		a.StartDateTime, a.LifetimeInMinutes, a.IsUsableOnce, a.IsUsable, a.MethodUsabilityReason = &start, p.LifetimeMinutes, &once, &usable, p.Reason
	}
	return a
}

// methods lists a person's methods; a key registered in sessionID (when
// given) is marked, from tapd's own record of the keys its kiosks made.
func (s *Service) methods(ctx context.Context, upn, sessionID string) ([]api.AuthenticationMethod, error) {
	ms, err := s.dir.Methods(ctx, upn)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	if sessionID != "" {
		local, err := s.st.ListMethods(ctx, upn)
		if err != nil {
			return nil, err
		}
		for _, m := range local {
			mine[m.ID] = m.SessionID == sessionID
		}
	}
	out := []api.AuthenticationMethod{}
	for _, m := range ms {
		out = append(out, methodOut(m, m.Kind == directory.KindFIDO2 && mine[m.ID]))
	}
	return out, nil
}

// SessionMethods lists the signed-in person's methods.
func (s *Service) SessionMethods(ctx context.Context, c *Caller) ([]api.AuthenticationMethod, error) {
	return s.methods(ctx, c.Session.UPN, c.Session.ID)
}

// UserMethods lists a person's methods for an admin.
func (s *Service) UserMethods(ctx context.Context, rawUPN string) ([]api.AuthenticationMethod, error) {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return nil, err
	}
	return s.methods(ctx, u.UPN, "")
}

// DeleteSessionMethod removes one of the signed-in person's lost methods.
// The pass they signed in with and the key they registered just now are
// refused: the first has its own step, and removing the second would
// leave them with nothing.
func (s *Service) DeleteSessionMethod(ctx context.Context, c *Caller, id string) error {
	if id == c.Session.PassID {
		return api.Conflict(api.CodeMethodInUse, "This is the pass you signed in with; delete it with the pass step instead.")
	}
	return s.deleteMethod(ctx, c, c.Session.UPN, id, "You have no method with that id.")
}

// DeleteUserMethod removes a person's method for an admin.
func (s *Service) DeleteUserMethod(ctx context.Context, c *Caller, rawUPN, id string) error {
	u, err := s.user(ctx, rawUPN)
	if err != nil {
		return err
	}
	if err := s.canManageUser(ctx, c, u); err != nil {
		return err
	}
	return s.deleteMethod(ctx, c, u.UPN, id, u.UPN+" has no method with that id (passes are deleted with `tapctl tap delete`).")
}

func (s *Service) deleteMethod(ctx context.Context, c *Caller, upn, id, notFound string) error {
	ms, err := s.dir.Methods(ctx, upn)
	if err != nil {
		return err
	}
	var m *directory.Method
	for i := range ms {
		if ms[i].ID == id {
			m = &ms[i]
		}
	}
	if m == nil {
		return api.NotFound("%s", notFound)
	}
	if m.Kind == directory.KindTAP {
		return api.Conflict(api.CodeMethodInUse, "Passes are deleted with the pass step (or `tapctl tap delete`).")
	}
	target := tap.UPNKey(upn)
	details := map[string]string{"methodId": id, "kind": m.Kind, "aaGuid": m.AAGUID}
	if c.Session != nil {
		lm, err := s.st.GetMethod(ctx, upn, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil && lm.SessionID == c.Session.ID {
			return s.refuse(ctx, c, api.ActionDeleteMethod, target, "registeredThisSession", api.Conflict(api.CodeMethodInUse,
				"This is the key you registered just now, so it cannot be removed here."), details)
		}
	}
	err = s.inDirectory(ctx, func(u unit) error {
		t, err := u.dir.DeleteMethod(ctx, upn, *m)
		if err != nil {
			return err
		}
		d := merge(maps.Clone(details), t)
		// A staged key's row stops holding its person and key with the
		// registration.
		n, err := u.st.StagedKeyRemoved(ctx, upn, m.ID, s.now())
		switch {
		case err != nil && u.tx:
			return err
		case err != nil:
			c.Log.Error("staging row not released after its key was deleted", "method_id", m.ID, "err", err)
		case n > 0:
			d["stagingRowsReleased"] = strconv.Itoa(n)
		}
		return s.done(ctx, c, u, api.ActionDeleteMethod, target, d)
	})
	if err != nil {
		return s.failed(ctx, c, api.ActionDeleteMethod, target, err, details)
	}
	return nil
}
