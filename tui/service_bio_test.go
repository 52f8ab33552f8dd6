package tui

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// TestLiveFingerSample runs the kiosk's sensor calls through real
// libfido2 against the virtual key: the token from the first sample
// carries the rest, a timeout keeps the finger begun, a cancel drops it.
func TestLiveFingerSample(t *testing.T) {
	path, k := hidroute.PlugNew(t, virtualkey.Options{Bio: true, BioSamples: 2, TouchDelay: 10 * time.Millisecond})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := &Live{}
	if _, err := l.FingerSample(ctx, path, "", false); !errors.Is(err, errNoFinger) {
		t.Fatalf("go on with nothing begun: %v", err)
	}
	k.QueueSamples(virtualkey.SamplePoorQuality, virtualkey.SampleTimeout)
	for i, w := range []struct {
		begin bool
		pin   string
		s     fido.Sample
		err   error
	}{
		{true, "2468", fido.Sample{Feedback: fido.FeedbackPoorQuality, Remaining: 2}, nil},
		{false, "", fido.Sample{}, fido.ErrTouchTimeout},
		{false, "", fido.Sample{Remaining: 1}, nil},
		{false, "", fido.Sample{Remaining: 0}, nil},
	} {
		if s, err := l.FingerSample(ctx, path, w.pin, w.begin); s != w.s || !errors.Is(err, w.err) {
			t.Fatalf("sample %d: %+v %v", i, s, err)
		}
	}
	if k.Fingers() != 1 || l.bio != nil {
		t.Fatalf("fingers %d, enrolment held %v", k.Fingers(), l.bio != nil)
	}
	if _, err := l.FingerSample(ctx, path, "2468", true); err != nil {
		t.Fatal(err)
	}
	if err := l.CancelFinger(); err != nil || l.bio != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := l.FingerSample(ctx, path, "", false); !errors.Is(err, errNoFinger) || k.Fingers() != 1 {
		t.Fatalf("after cancel: %v, fingers %d", err, k.Fingers())
	}
}
