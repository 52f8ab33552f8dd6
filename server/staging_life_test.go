package server

import (
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// stageRow registers a key for the row's person with the row, as the
// staging kiosk does, and returns the method.
func stageRow(t *testing.T, op *api.Client, batch api.StagingBatch, upn, serial string) api.FIDO2Method {
	t.Helper()
	row := rowOf(t, batch, upn)
	path, _ := plugKey(t, virtualkey.Options{})
	raw := stagedAnswer(t, op, upn, path, batch.ID, row.ID)
	m, err := op.RegisterUserFIDO2(bg, upn, api.StagedFIDO2Request{RegisterFIDO2Request: api.RegisterFIDO2Request{PublicKeyCredential: raw},
		StagingBatchID: batch.ID, StagingRowID: row.ID, SerialNumber: serial})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A row obeys its person's role rule, and a registered row's facts are
// its registrant's (or a privileged administrator's) to set.
func TestStagingRowRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.addUser(api.User{UserPrincipalName: "boss@example.com", AdminRole: api.RoleGlobalAdministrator})
		e.addUser(api.User{UserPrincipalName: "staff@example.com"})
		helpdesk := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
		other := e.tokenClient("helpdesk-2", api.RoleAuthenticationAdministrator)
		priv := e.tokenClient("secops", api.RolePrivilegedAuthenticationAdministrator)
		b, err := priv.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "mixed", Users: []api.StagingPerson{
			{UserPrincipalName: "boss@example.com"}, {UserPrincipalName: "staff@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		boss := rowOf(t, b, "boss@example.com")
		failed, why := api.StagingFailed, "no key"
		_, err = helpdesk.UpdateStagingRow(bg, "mixed", boss.ID, api.StagingRowPatch{State: &failed, FailureReason: &why})
		code(t, err, 403, api.CodeForbidden)
		if r, _ := priv.GetStagingRow(bg, "mixed", boss.ID); r.State != api.StagingPending {
			t.Fatalf("a refused patch changed the row: %+v", r)
		}
		err = helpdesk.RemoveStagingRow(bg, "mixed", boss.ID)
		code(t, err, 403, api.CodeForbidden)
		if es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionDenied, Actor: "helpdesk"}); len(es) != 2 || es[0].Target != "boss@example.com" {
			t.Fatalf("refusals audited %+v", es)
		}

		// Staff's key is registered by helpdesk: another helpdesk token may
		// not rewrite its facts; helpdesk and a privileged admin may.
		m := stageRow(t, helpdesk, b, "staff@example.com", "SN-1")
		staff := rowOf(t, b, "staff@example.com")
		forged, off := "FORGED-SERIAL-9", false
		_, err = other.UpdateStagingRow(bg, "mixed", staff.ID, api.StagingRowPatch{SerialNumber: &forged, PINChangeForced: &off})
		ae := code(t, err, 403, api.CodeForbidden)
		if !strings.Contains(ae.Message, "mixed") {
			t.Fatalf("the refusal does not name the batch: %s", ae.Message)
		}
		if es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionUpdateStagingRow, Actor: "helpdesk-2", Result: "failure"}); len(es) != 1 || es[0].ResultReason != "notRegistrant" {
			t.Fatalf("refusal audit %+v", es)
		}
		on := true
		if r, err := helpdesk.UpdateStagingRow(bg, "mixed", staff.ID, api.StagingRowPatch{PINChangeForced: &on}); err != nil || !r.PINChangeForced {
			t.Fatalf("the registrant %+v %v", r, err)
		}
		sn := "SN-2"
		if r, err := priv.UpdateStagingRow(bg, "mixed", staff.ID, api.StagingRowPatch{SerialNumber: &sn}); err != nil || r.SerialNumber != "SN-2" || r.MethodID != m.ID {
			t.Fatalf("a privileged admin %+v %v", r, err)
		}
		man, _ := e.admin.StagingManifest(bg, "mixed")
		if man[1].SerialNumber != "SN-2" || !man[1].PINChangeForced {
			t.Fatalf("manifest %+v", man[1])
		}
	})
}

// The life of a staged row over weeks: a removed key frees its person,
// a lost key is re-issued, a row or a batch holding nothing is deleted;
// each audited with the operator.
func TestStagingLifeCycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.addUser(api.User{UserPrincipalName: "eve@example.com"})
		e.addUser(api.User{UserPrincipalName: "fay@example.com"})
		op := e.tokenClient("helpdesk-anna", api.RoleAuthenticationAdministrator)
		b, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "north", Users: []api.StagingPerson{
			{UserPrincipalName: "eve@example.com"}, {UserPrincipalName: "fay@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		m := stageRow(t, op, b, "eve@example.com", "SN-EVE")
		eve := rowOf(t, b, "eve@example.com")

		// Eve is held while her key is registered; errors name the batch.
		_, err = op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "eve-again", Users: []api.StagingPerson{{UserPrincipalName: "eve@example.com"}}})
		if ae := code(t, err, 400, api.CodeImportFailed); len(ae.Rows) != 1 || ae.Rows[0].Message != "already registered in staging batch north" {
			t.Fatalf("rows %+v", ae.Rows)
		}
		err = op.DeleteStagingBatch(bg, "north")
		if ae := code(t, err, 409, api.CodeStagingRowRegistered); !strings.Contains(ae.Message, "north") {
			t.Fatalf("message %s", ae.Message)
		}
		err = op.RemoveStagingRow(bg, "north", eve.ID)
		code(t, err, 409, api.CodeStagingRowRegistered)
		if r, err := op.GetStagingRow(bg, "north", eve.ID); err != nil || r.State != api.StagingRegistered || r.KeyName == "" || r.KeyName != m.DisplayName {
			t.Fatalf("row %+v %v", r, err)
		}

		// Her key's registration is deleted: the row is removed, keeps the
		// key's facts, and she can be staged again.
		if err := op.DeleteUserMethod(bg, "eve@example.com", m.ID); err != nil {
			t.Fatal(err)
		}
		if es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionDeleteMethod, Actor: "helpdesk-anna"}); len(es) != 1 || es[0].Details["stagingRowsReleased"] != "1" {
			t.Fatalf("delete audit %+v", es)
		}
		r, err := op.GetStagingRow(bg, "north", eve.ID)
		if err != nil || r.State != api.StagingRemoved || r.SerialNumber != "SN-EVE" || r.MethodID != m.ID {
			t.Fatalf("removed row %+v %v", r, err)
		}
		// A removed row is not registered with again: it is re-issued.
		_, err = op.UserCreationOptions(bg, "eve@example.com", b.ID, eve.ID)
		if ae := code(t, err, 409, api.CodeStagingRowRegistered); !strings.Contains(ae.Message, "reissue north") {
			t.Fatalf("message %s", ae.Message)
		}
		again, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "eve-again", Users: []api.StagingPerson{{UserPrincipalName: "eve@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		m2 := stageRow(t, op, again, "eve@example.com", "SN-EVE")

		// Her new key is lost: re-issue removes its registration and puts
		// the row back to pending.
		got, err := op.ReissueStagingRow(bg, "eve-again", again.Rows[0].ID)
		if err != nil || got.State != api.StagingPending || got.MethodID != "" || got.SerialNumber != "" {
			t.Fatalf("reissue %+v %v", got, err)
		}
		if ms, _ := op.UserMethods(bg, "eve@example.com"); len(ms) != 0 {
			t.Fatalf("the lost key is still registered: %+v", ms)
		}
		es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionReissueStagingRow})
		if len(es) != 1 || es[0].Actor.Name != "helpdesk-anna" || es[0].Result != "success" || es[0].Details["methodId"] != m2.ID ||
			es[0].Details["methodDeleted"] != "true" || es[0].Details["stagingBatch"] != "eve-again" {
			t.Fatalf("reissue audit %+v", es)
		}
		_, err = op.ReissueStagingRow(bg, "eve-again", again.Rows[0].ID)
		code(t, err, 400, api.CodeInvalidValue)
		m3 := stageRow(t, op, again, "eve@example.com", "SN-NEW")
		if m3.ID == m2.ID {
			t.Fatal("the re-issued row kept the lost key")
		}
		// The removed row in north is re-issued without a key to delete.
		if got, err := op.ReissueStagingRow(bg, "north", eve.ID); err != nil || got.State != api.StagingPending {
			t.Fatalf("reissue a removed row %+v %v", got, err)
		}
		if ms, _ := op.UserMethods(bg, "eve@example.com"); len(ms) != 1 || ms[0].ID != m3.ID {
			t.Fatalf("re-issuing a removed row touched another key: %+v", ms)
		}

		// Fay's row is removed; then the batch, holding no key, is deleted.
		fay := rowOf(t, b, "fay@example.com")
		if err := op.RemoveStagingRow(bg, "north", fay.ID); err != nil {
			t.Fatal(err)
		}
		err = op.RemoveStagingRow(bg, "north", fay.ID)
		if ae := code(t, err, 404, api.CodeNotFound); !strings.Contains(ae.Message, "north") {
			t.Fatalf("message %s", ae.Message)
		}
		if err := op.DeleteStagingBatch(bg, "north"); err != nil {
			t.Fatal(err)
		}
		_, err = op.GetStagingBatch(bg, "north")
		code(t, err, 404, api.CodeNotFound)
		for _, a := range []string{api.ActionRemoveStagingRow, api.ActionDeleteStagingBatch} {
			es, _ := e.admin.Audit(bg, api.AuditQuery{Action: a, Result: "success"})
			if len(es) != 1 || es[0].Actor.Name != "helpdesk-anna" || es[0].Details["stagingBatch"] != "north" {
				t.Fatalf("%s audit %+v", a, es)
			}
		}
		es, _ = e.admin.Audit(bg, api.AuditQuery{Action: api.ActionDeleteStagingBatch, Result: "failure"})
		if len(es) != 1 || es[0].ResultReason != "keyRegistered" {
			t.Fatalf("refused delete audit %+v", es)
		}
	})
}

// TestStagingKeyDeletedInEntra: a staged key deleted in Entra, behind
// tapd's back, frees its row when tapd next looks at the person: the row
// reads removed, and the person can be staged again.
func TestStagingKeyDeletedInEntra(t *testing.T) {
	forEachEntraBackend(t, func(t *testing.T, e *entraEnv) {
		upn := "eve@contoso.com"
		uid := e.sim.AddUser(upn, "Eve", "Member", false)
		op := e.tokenClient("it-desk", api.RolePrivilegedAuthenticationAdministrator)
		b, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "north", Users: []api.StagingPerson{{UserPrincipalName: upn}}})
		if err != nil {
			t.Fatal(err)
		}
		m := stageRow(t, op, b, upn, "SN-E")
		_, err = op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "again", Users: []api.StagingPerson{{UserPrincipalName: upn}}})
		code(t, err, 400, api.CodeImportFailed)
		if _, err := e.graph.DeleteMethod(bg, uid, "fido2", m.ID); err != nil {
			t.Fatal(err)
		}
		if r, err := op.GetStagingRow(bg, "north", b.Rows[0].ID); err != nil || r.State != api.StagingRemoved || r.SerialNumber != "SN-E" {
			t.Fatalf("row after the key was deleted in Entra: %+v %v", r, err)
		}
		if _, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "again", Users: []api.StagingPerson{{UserPrincipalName: upn}}}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStagingRemoveRowAfterEntraDelete: a row whose key was deleted in
// Entra is settled before it is removed, and the removal's audit entry
// gives the row's state as settled (removed), not as it was read.
func TestStagingRemoveRowAfterEntraDelete(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	upn := "eve@contoso.com"
	uid := e.sim.AddUser(upn, "Eve", "Member", false)
	op := e.tokenClient("it-desk", api.RolePrivilegedAuthenticationAdministrator)
	b, err := op.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: "north", Users: []api.StagingPerson{{UserPrincipalName: upn}}})
	if err != nil {
		t.Fatal(err)
	}
	m := stageRow(t, op, b, upn, "SN-E")
	if _, err := e.graph.DeleteMethod(bg, uid, "fido2", m.ID); err != nil {
		t.Fatal(err)
	}
	if err := op.RemoveStagingRow(bg, "north", b.Rows[0].ID); err != nil {
		t.Fatal(err)
	}
	es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionRemoveStagingRow})
	if len(es) != 1 || es[0].Details["state"] != api.StagingRemoved {
		t.Fatalf("the removal's audit: %+v", es)
	}
}
