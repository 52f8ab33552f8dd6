package fido_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// bioKey plugs a fingerprint key with a PIN and no finger enrolled.
func bioKey(t *testing.T) (string, *virtualkey.Key) {
	t.Helper()
	path, k := plug(t, virtualkey.Options{Bio: true, BioSamples: 3})
	if err := fido.SetPIN(path, "2468"); err != nil {
		t.Fatal(err)
	}
	return path, k
}

// TestBioEnrolment enrols a finger through real libfido2, with a poor
// sample and a timeout on the way, and then checks the key with the
// finger instead of the PIN.
func TestBioEnrolment(t *testing.T) {
	ctx := context.Background()
	path, k := bioKey(t)
	if i := info(t, path); !i.Bio || i.Fingers || i.BuiltInUV {
		t.Fatalf("fresh bio key: bio %v fingers %v uv %v", i.Bio, i.Fingers, i.BuiltInUV)
	}
	si, err := fido.GetSensorInfo(ctx, path)
	if err != nil || si.Kind != 1 || si.Samples != 3 {
		t.Fatalf("sensor info %+v %v", si, err)
	}
	if fs, err := fido.Fingerprints(path, "2468"); err != nil || len(fs) != 0 {
		t.Fatalf("fingerprints of a fresh key: %v %v", fs, err)
	}
	// A timeout at the first touch starts nothing.
	k.QueueSamples(virtualkey.SampleTimeout, virtualkey.SampleGood, virtualkey.SamplePoorQuality, virtualkey.SampleTimeout, virtualkey.SampleTooHigh)
	if _, _, err := fido.BeginEnrolment(ctx, path, "2468", 5*time.Second); !errors.Is(err, fido.ErrTouchTimeout) {
		t.Fatalf("begin with a timeout: %v", err)
	}
	en, s, err := fido.BeginEnrolment(ctx, path, "2468", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer en.Close()
	if s != (fido.Sample{Feedback: fido.FeedbackGood, Remaining: 2}) {
		t.Fatalf("first sample %+v", s)
	}
	want := []struct {
		s   fido.Sample
		err error
	}{
		{fido.Sample{Feedback: fido.FeedbackPoorQuality, Remaining: 2}, nil},
		{fido.Sample{}, fido.ErrTouchTimeout}, // the enrolment stays open
		{fido.Sample{Feedback: fido.FeedbackTooHigh, Remaining: 2}, nil},
		{fido.Sample{Feedback: fido.FeedbackGood, Remaining: 1}, nil},
		{fido.Sample{Feedback: fido.FeedbackGood, Remaining: 0}, nil},
	}
	for i, w := range want {
		s, err := en.Next(ctx, 5*time.Second)
		if s != w.s || !errors.Is(err, w.err) {
			t.Fatalf("sample %d: %+v %v, want %+v %v", i+2, s, err, w.s, w.err)
		}
	}
	if i := info(t, path); !i.Fingers || !i.BuiltInUV {
		t.Fatalf("after enrolment: fingers %v uv %v", i.Fingers, i.BuiltInUV)
	}
	fs, err := fido.Fingerprints(path, "2468")
	if err != nil || len(fs) != 1 || k.Fingers() != 1 {
		t.Fatalf("fingerprints %v %v", fs, err)
	}
	if n := retries(t, path); n != 8 {
		t.Fatalf("enrolment spent PIN tries: %d left", n)
	}

	// The key check with the finger: no PIN, and the assertion is
	// user-verified.
	rp, u := newRP(t), &rpUser{id: []byte("bio")}
	opts, _ := begin(t, rp, u)
	if _, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"}); err != nil {
		t.Fatal(err)
	}
	a, err := fido.Assert(ctx, path, fido.AssertRequest{Options: protocol.PublicKeyCredentialRequestOptions{
		Challenge: []byte("0123456789abcdef0123456789abcdef"), RelyingPartyID: "example.com", UserVerification: protocol.VerificationPreferred},
		Origin: "https://example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := base64.RawURLEncoding.DecodeString(a.Response.AuthenticatorData)
	if len(ad) < 33 || ad[32]&0x05 != 0x05 {
		t.Fatalf("assertion flags %x: want UP and UV", ad[32])
	}
}

// TestBioEnrolmentRefusals: a wrong PIN costs a try and starts nothing;
// a cancelled enrolment enrols nothing; a key without a sensor says so.
func TestBioEnrolmentRefusals(t *testing.T) {
	ctx := context.Background()
	path, k := bioKey(t)
	var pw *fido.PINWrongError
	if _, _, err := fido.BeginEnrolment(ctx, path, "1111", time.Second); !errors.As(err, &pw) || pw.RetriesLeft != 7 {
		t.Fatalf("wrong PIN: %v", err)
	}
	en, _, err := fido.BeginEnrolment(ctx, path, "2468", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := en.Cancel(); err != nil {
		t.Fatal(err)
	}
	if _, err := en.Next(ctx, time.Second); err == nil {
		t.Fatal("a cancelled enrolment took a sample")
	}
	if k.Fingers() != 0 || info(t, path).Fingers {
		t.Fatal("a cancelled enrolment enrolled a finger")
	}

	plain, _ := plug(t, virtualkey.Options{})
	if err := fido.SetPIN(plain, "2468"); err != nil {
		t.Fatal(err)
	}
	if info(t, plain).Bio {
		t.Fatal("a key without a sensor says Bio")
	}
	var uk *fido.UnsupportedKeyError
	if _, _, err := fido.BeginEnrolment(ctx, plain, "2468", time.Second); !errors.As(err, &uk) || uk.Reason != fido.ReasonNoBio {
		t.Fatalf("enrol on a key without a sensor: %v", err)
	}
}
