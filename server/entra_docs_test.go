package server

import (
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
)

// Tests of what Microsoft's v1.0 reference leaves open or requires, at
// the HTTP level, against the simulator.

// TestEntraPassWithoutStartInAnswer: a create answer without startDateTime
// (optional on create, not promised back) starts the pass at its creation,
// so the first sign-in works instead of answering passExpired.
func TestEntraPassWithoutStartInAnswer(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("ann@contoso.com", "Ann", "Member", false)
	e.sim.OmitCreateStart = true
	p := e.newPass("ann@contoso.com", api.CreatePassRequest{})
	if p.StartDateTime.IsZero() || !p.StartDateTime.Equal(p.CreatedDateTime) {
		t.Fatalf("start %v, created %v", p.StartDateTime, p.CreatedDateTime)
	}
	sp, err := e.st.GetPass(bg, "ann@contoso.com")
	if err != nil || !sp.StartAt.Equal(sp.CreatedAt) {
		t.Fatalf("stored pass %+v %v", sp, err)
	}
	k := e.fresh(e.kiosk)
	if _, err := k.OpenSession(bg, "ann@contoso.com", *p.TemporaryAccessPass); err != nil {
		t.Fatalf("sign-in with a pass whose start Entra did not repeat: %v", err)
	}
}
