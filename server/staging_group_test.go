package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
)

// TestStagingFromGroup: a batch from a group stages its members, each
// checked as a listed person would be; who may, bad input and the audit.
func TestStagingFromGroup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.addUser(api.User{UserPrincipalName: "cy@example.com", Groups: []string{"Staff"}})
		e.addUser(api.User{UserPrincipalName: "ada@example.com", DisplayName: "Ada Lovelace", Groups: []string{"Staff", "Lab"}})
		e.addUser(api.User{UserPrincipalName: "bob@example.com", Groups: []string{"Lab"}})
		e.addUser(api.User{UserPrincipalName: "boss@example.com", Groups: []string{"Board"}, AdminRole: api.RoleGlobalAdministrator})
		helpdesk := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
		priv := e.tokenClient("secops", api.RolePrivilegedAuthenticationAdministrator)

		for _, c := range []*api.Client{e.tokenClient("ro", api.RoleReader), e.tokenClient("pol", api.RolePolicyAdministrator)} {
			_, err := c.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "g", Group: "Staff"})
			code(t, err, 403, api.CodeForbidden)
		}
		b, err := helpdesk.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "staff", Group: "staff"})
		if err != nil || len(b.Rows) != 2 || b.PendingCount != 2 || b.CreatedBy != "helpdesk" {
			t.Fatalf("batch %+v %v", b, err)
		}
		// In UPN order, with the directory's display names.
		if b.Rows[0].UserPrincipalName != "ada@example.com" || b.Rows[0].DisplayName != "Ada Lovelace" || b.Rows[1].UserPrincipalName != "cy@example.com" {
			t.Fatalf("rows %+v", b.Rows)
		}
		es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionCreateStagingBatch, Result: "success"})
		if len(es) != 1 || es[0].Actor.Name != "helpdesk" || es[0].Details["group"] != "Staff" || es[0].Details["groupId"] != "Staff" ||
			es[0].Details["rows"] != "2" || es[0].Details["batchId"] != b.ID {
			t.Fatalf("audit %+v", es)
		}

		// Members go through the same checks as listed people: Ada is in
		// a batch already, and the helpdesk may not stage an admin.
		_, err = helpdesk.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "lab", Group: "Lab"})
		if ae := code(t, err, 400, api.CodeImportFailed); len(ae.Rows) != 1 || ae.Rows[0].UserPrincipalName != "ada@example.com" ||
			!strings.Contains(ae.Rows[0].Message, "already pending") {
			t.Fatalf("rows %+v", ae.Rows)
		}
		_, err = helpdesk.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "board", Group: "Board"})
		if ae := code(t, err, 400, api.CodeImportFailed); len(ae.Rows) != 1 || !strings.Contains(ae.Rows[0].Message, "privileged") {
			t.Fatalf("rows %+v", ae.Rows)
		}
		if b, err := priv.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "board", Group: "Board"}); err != nil || len(b.Rows) != 1 {
			t.Fatalf("a privileged admin stages the board: %+v %v", b, err)
		}

		// Bad input: both, neither, a bad name, an unknown group.
		tok := e.admin.Token
		for _, c := range []struct {
			body, target string
			code         api.Code
		}{
			{`{"name":"x","group":"Lab","users":[{"userPrincipalName":"bob@example.com"}]}`, "group", api.CodeInvalidValue},
			{`{"name":"x"}`, "users", api.CodeInvalidValue},
			{`{"name":"x","users":[],"group":""}`, "users", api.CodeInvalidValue},
			{`{"name":"x","group":"  "}`, "group", api.CodeInvalidValue},
			{`{"name":"x","group":"a\u001b[2J"}`, "group", api.CodeInvalidValue},
			{`{"name":"","group":"Lab"}`, "name", api.CodeInvalidValue},
			{`{"name":"x","group":["Lab"]}`, "", api.CodeInvalidValue},
			{`{"name":"x","group":"Nobody's group"}`, "", api.CodeNotFound},
		} {
			status, ae, _ := e.raw("POST", "/v1/stagingBatches", tok, "application/json", []byte(c.body))
			if ae == nil || ae.Code != c.code || status != api.StatusOf(c.code) || (c.target != "" && ae.Target != c.target) {
				t.Errorf("%s: %d %+v, want %s on %q", c.body, status, ae, c.code, c.target)
			}
		}
		es, _ = e.admin.Audit(bg, api.AuditQuery{Action: api.ActionCreateStagingBatch, Result: "failure"})
		if len(es) != 3 || es[0].ResultReason != "groupNotFound" || es[0].Details["group"] != "Nobody's group" || es[1].ResultReason != "badRows" {
			t.Fatalf("refusals audited %+v", es)
		}
		if bs, _ := e.admin.ListStagingBatches(bg); len(bs) != 2 {
			t.Fatalf("batches %+v", bs)
		}
	})
}

// TestStagingFromGroupEntra: in Entra mode the group's members come from
// Graph, over pages; an empty group is refused and audited.
func TestStagingFromGroupEntra(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.PageSize(2)
	for _, n := range []string{"dan", "ada", "cy", "bob", "eve"} {
		e.sim.AddUser(n+"@contoso.com", "Person "+n, "Member", false, "Kiosk staging")
	}
	e.sim.AddUser("zed@contoso.com", "Zed", "Member", false)
	empty := e.sim.AddGroup("Nobody yet")
	op := e.tokenClient("secops", api.RolePrivilegedAuthenticationAdministrator)
	b, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "entra", Group: "Kiosk staging"})
	if err != nil || len(b.Rows) != 5 || b.Rows[0].UserPrincipalName != "ada@contoso.com" || b.Rows[0].DisplayName != "Person ada" ||
		b.Rows[4].UserPrincipalName != "eve@contoso.com" {
		t.Fatalf("batch %+v %v", b, err)
	}
	// Roles cannot be seen in Entra: a helpdesk admin stages nobody.
	helpdesk := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
	_, err = helpdesk.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "again", Group: "Kiosk staging"})
	if ae := code(t, err, 400, api.CodeImportFailed); len(ae.Rows) != 5 {
		t.Fatalf("rows %+v", ae.Rows)
	}
	_, err = op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "empty", Group: empty})
	if ae := code(t, err, 400, api.CodeInvalidValue); ae.Target != "group" || !strings.Contains(ae.Message, "Nobody yet has no users") {
		t.Fatalf("empty group: %+v", ae)
	}
	_, err = op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "unknown", Group: "00000000-0000-0000-0000-00000000000a"})
	code(t, err, 404, api.CodeNotFound)
	es := e.audit(api.ActionCreateStagingBatch)
	reasons := []string{}
	for _, en := range es {
		reasons = append(reasons, en.ResultReason)
	}
	if len(es) != 4 || strings.Join(reasons, ",") != "groupNotFound,groupEmpty,badRows," || es[1].Details["groupId"] != empty || es[3].Details["groupId"] == "" {
		t.Fatalf("audit %q %+v", reasons, es)
	}
	// A tenant that granted User.Read.All but not GroupMember.Read.All:
	// the groups cast still answers, /groups does not, and the refusal
	// points at tapd's permissions (the start-up check names it first).
	e.sim.Revoke("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
	if _, err := e.admin.GetUser(bg, "ada@contoso.com"); err != nil {
		t.Fatalf("a user's groups need only User.Read.All: %v", err)
	}
	_, err = op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "denied", Group: "Kiosk staging"})
	if ae := code(t, err, http.StatusBadGateway, api.CodeDirectoryError); !strings.Contains(ae.Message, "application permissions") {
		t.Fatalf("denied: %+v", ae)
	}
}
