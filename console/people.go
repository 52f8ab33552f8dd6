package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// home is the search page, with results when a query was given.
func (c *Console) home(q *req) {
	query := strings.TrimSpace(q.r.URL.Query().Get("q"))
	data := map[string]any{"Query": query}
	if query != "" {
		people, err := c.svc.FindPeople(q.r.Context(), q.who, query)
		if err != nil {
			c.fail(q, err)
			return
		}
		data["People"], data["Searched"] = people, true
	}
	c.page(q, http.StatusOK, "home", "Find a person", data)
}

// person shows one person and the actions on them.
func (c *Console) person(q *req) {
	c.showPerson(q, q.r.URL.Query().Get("upn"), "")
}

func (c *Console) showPerson(q *req, upn, notice string) {
	p, err := c.svc.Person(q.r.Context(), q.who, upn)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.page(q, http.StatusOK, "person", p.User.DisplayName, map[string]any{"P": p, "Checklist": c.svc.Checklist(), "Notice": notice,
		"MayRevokeKiosk": recovery.RoleMay(q.who, recovery.PermKiosks)})
}

// passRequest reads the pass form's lifetime and one-time choice; an
// empty lifetime takes the policy's default.
func passRequest(r *http.Request) (api.CreatePassRequest, error) {
	var pr api.CreatePassRequest
	if v := strings.TrimSpace(r.PostFormValue("lifetime")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return pr, api.Invalid("lifetimeInMinutes", "The lifetime must be a whole number of minutes.")
		}
		pr.LifetimeInMinutes = &n
	}
	if r.PostFormValue("once") == "on" {
		t := true
		pr.IsUsableOnce = &t
	}
	return pr, nil
}

// issuePass issues a pass after the checklist, or, for someone who needs
// four eyes, asks for the approval.
func (c *Console) issuePass(q *req) {
	upn := q.r.PostFormValue("upn")
	pr, err := passRequest(q.r)
	if err != nil {
		c.fail(q, err)
		return
	}
	ticked := q.r.PostForm["check"]
	if q.r.PostFormValue("mode") == "request" {
		if _, err := c.svc.RequestPass(q.r.Context(), q.who, upn, pr, ticked); err != nil {
			c.fail(q, err)
			return
		}
		c.showApprovals(q, "Asked for approval. Another staff member must approve it on the Approvals page; then issue the pass from there.")
		return
	}
	out, err := c.svc.IssueVerifiedPass(q.r.Context(), q.who, upn, pr, ticked)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.showPass(q, upn, out)
}

// showPass is the pass, once: the page is not cached (headers) and the
// value is nowhere else.
func (c *Console) showPass(q *req, upn string, out api.TemporaryAccessPassMethod) {
	ends := out.StartDateTime.Add(time.Duration(out.LifetimeInMinutes) * time.Minute)
	c.page(q, http.StatusOK, "pass", "Temporary Access Pass", map[string]any{"UPN": upn, "Pass": out, "Ends": ends,
		"Instructions": c.cfg.KioskInstructions})
}

func (c *Console) deletePass(q *req) {
	upn := q.r.PostFormValue("upn")
	if !c.may(q, recovery.PermPassesWrite) {
		return
	}
	if err := c.svc.DeletePass(q.r.Context(), q.who, upn, q.r.PostFormValue("id")); err != nil {
		c.fail(q, err)
		return
	}
	c.showPerson(q, upn, "The pass was deleted.")
}

func (c *Console) unlock(q *req) {
	upn := q.r.PostFormValue("upn")
	if !c.may(q, recovery.PermPassesWrite) {
		return
	}
	// Revoking the kiosk that started the lock, in the same step, keeps it
	// from locking the person again a second after the unlock.
	out, err := c.svc.Unlock(q.r.Context(), q.who, upn, q.r.PostFormValue("revokeKiosks") == "on")
	if err != nil {
		c.fail(q, err)
		return
	}
	msg := "The account was not locked."
	if out.WasLocked {
		msg = "Unlocked: the account may sign in with a pass again."
	}
	if len(out.RevokedKiosks) > 0 {
		msg += " Revoked kiosk " + strings.Join(out.RevokedKiosks, ", ") + "."
	}
	c.showPerson(q, upn, msg)
}

func (c *Console) deleteMethod(q *req) {
	upn := q.r.PostFormValue("upn")
	if !c.may(q, recovery.PermPassesWrite) {
		return
	}
	if err := c.svc.DeleteUserMethod(q.r.Context(), q.who, upn, q.r.PostFormValue("id")); err != nil {
		c.fail(q, err)
		return
	}
	c.showPerson(q, upn, "The method was removed.")
}

func (c *Console) approvals(q *req) { c.showApprovals(q, "") }

func (c *Console) showApprovals(q *req, notice string) {
	as, err := c.svc.Approvals(q.r.Context(), q.who)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.page(q, http.StatusOK, "approvals", "Approvals", map[string]any{"Approvals": as, "Me": q.staff.StaffID, "Notice": notice})
}

func (c *Console) approve(q *req) {
	if err := c.svc.ApprovePass(q.r.Context(), q.who, q.r.PostFormValue("id")); err != nil {
		c.fail(q, err)
		return
	}
	c.showApprovals(q, "Approved. The staff member who asked can now issue the pass.")
}

func (c *Console) issueApproved(q *req) {
	id := q.r.PostFormValue("id")
	out, err := c.svc.IssueApprovedPass(q.r.Context(), q.who, id)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.showPass(q, q.r.PostFormValue("upn"), out)
}

// staff lists the staff and their passkeys, for an administrator.
func (c *Console) staff(q *req) { c.showStaff(q, "") }

func (c *Console) showStaff(q *req, notice string) {
	all, err := c.svc.ListStaff(q.r.Context(), q.who)
	if err != nil {
		c.fail(q, err)
		return
	}
	c.page(q, http.StatusOK, "staff", "Staff and passkeys", map[string]any{"All": all, "Notice": notice})
}

func (c *Console) revokePasskey(q *req) {
	if err := c.svc.RevokeStaffPasskey(q.r.Context(), q.who, q.r.PostFormValue("id")); err != nil {
		c.fail(q, err)
		return
	}
	c.showStaff(q, "The passkey was revoked; its sessions have ended.")
}

// may reports whether the staff member's role may act with p (as the
// API's route for the same action demands), rendering the refusal if not.
func (c *Console) may(q *req, p recovery.Permission) bool {
	if err := c.svc.Authorize(q.r.Context(), q.who, p); err != nil {
		c.fail(q, err)
		return false
	}
	return true
}
