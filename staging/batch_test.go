package staging

import (
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
)

func TestNext(t *testing.T) {
	b := api.StagingBatch{Rows: []api.StagingRow{
		{ID: "a", State: api.StagingRegistered}, {ID: "b", State: api.StagingFailed},
		{ID: "c", State: api.StagingPending}, {ID: "d", State: api.StagingPending},
	}}
	if r, pos, ok := Next(b, nil); !ok || r.ID != "c" || pos != 3 {
		t.Fatalf("Next = %v %d %v, want c at 3", r.ID, pos, ok)
	}
	if r, pos, ok := Next(b, map[string]bool{"c": true}); !ok || r.ID != "d" || pos != 4 {
		t.Fatalf("Next skipping c = %v %d %v, want d at 4", r.ID, pos, ok)
	}
	if _, _, ok := Next(b, map[string]bool{"c": true, "d": true}); ok {
		t.Fatal("Next found a row when every pending one is skipped")
	}
}
