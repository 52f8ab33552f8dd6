package fido

/*
#cgo LDFLAGS: -lfido2
#include <fido.h>
#include <fido/bio.h>
#include <stdlib.h>
*/
import "C"

import (
	"context"
	"errors"
	"time"
	"unsafe"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// Fingerprint keys (bio enrollment, CTAP 2.1 §6.7). go-libfido2 wraps
// only a whole enrolment without feedback (BioEnroll) and the list
// (BioList); the kiosk needs each sample's feedback as the person goes,
// so enrolment steps wrap libfido2's fido_bio_* here.

// Feedback is the sensor's word on the last sample (lastEnrollSampleStatus,
// CTAP 2.1 §6.7.3).
type Feedback int

// The lastEnrollSampleStatus codes.
const (
	FeedbackGood           Feedback = 0x00
	FeedbackTooHigh        Feedback = 0x01
	FeedbackTooLow         Feedback = 0x02
	FeedbackTooLeft        Feedback = 0x03
	FeedbackTooRight       Feedback = 0x04
	FeedbackTooFast        Feedback = 0x05
	FeedbackTooSlow        Feedback = 0x06
	FeedbackPoorQuality    Feedback = 0x07
	FeedbackTooSkewed      Feedback = 0x08
	FeedbackTooShort       Feedback = 0x09
	FeedbackMergeFailure   Feedback = 0x0a
	FeedbackExists         Feedback = 0x0b
	FeedbackNoUserActivity Feedback = 0x0d
	FeedbackNoUpTransition Feedback = 0x0e
)

// Sample is what the key says after one touch of the sensor.
type Sample struct {
	Feedback Feedback
	// Remaining is how many more good samples the finger needs; 0 means
	// it is enrolled.
	Remaining int
}

// SensorInfo is getFingerprintSensorInfo.
type SensorInfo struct {
	// Kind is 1 for a touch sensor, 2 for a swipe sensor.
	Kind int
	// Samples is how many good samples enrol a finger.
	Samples int
}

// Fingerprint is one enrolled finger.
type Fingerprint struct {
	ID   string // hex, as go-libfido2 gives it
	Name string
}

// opBio names bio enrollment calls in errors.
const opBio = "bioEnroll"

// GetSensorInfo reads the key's fingerprint sensor facts. Info.Bio says
// whether it has one.
func GetSensorInfo(ctx context.Context, path string) (SensorInfo, error) {
	d, err := openCdev(path, opBio)
	if err != nil {
		return SensorInfo{}, err
	}
	defer d.close()
	bi := C.fido_bio_info_new()
	if bi == nil {
		return SensorInfo{}, errors.New("fido: out of memory")
	}
	defer C.fido_bio_info_free(&bi)
	err = untilDone(ctx, d, func() error { return libfidoErr(C.fido_bio_dev_get_info(d.dev, bi)) })
	if err != nil {
		return SensorInfo{}, mapTouchErr(ctx, path, opBio, err)
	}
	return SensorInfo{Kind: int(C.fido_bio_info_type(bi)), Samples: int(C.fido_bio_info_max_samples(bi))}, nil
}

// Fingerprints lists the fingers the key has enrolled (none is an empty
// list, not an error).
func Fingerprints(path, pin string) ([]Fingerprint, error) {
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return nil, err
	}
	ts, err := dev.BioList(pin)
	if errors.Is(err, libfido2.ErrInvalidOption) {
		return nil, nil // CTAP 2.1 §6.7.6: no enrollments
	}
	if err != nil {
		return nil, keyErr(opBio, path, err)
	}
	out := make([]Fingerprint, 0, len(ts))
	for _, t := range ts {
		out = append(out, Fingerprint{ID: t.ID, Name: t.Name})
	}
	return out, nil
}

// Enrolment is a finger being enrolled. It holds libfido2's template and
// enrolment objects (the latter with the pinUvAuthToken, so later samples
// need no PIN); the key itself is opened afresh for each call. Close
// frees them; an Enrolment is not safe for concurrent use.
type Enrolment struct {
	path string
	t    *C.fido_bio_template_t
	e    *C.fido_bio_enroll_t
}

// BeginEnrolment gets a token with pin and takes the first sample,
// waiting up to timeout for the finger. A timeout (ErrTouchTimeout)
// starts nothing: call BeginEnrolment again.
func BeginEnrolment(ctx context.Context, path, pin string, timeout time.Duration) (*Enrolment, Sample, error) {
	if pin == "" {
		return nil, Sample{}, ErrPINRequired
	}
	d, err := openCdev(path, opBio)
	if err != nil {
		return nil, Sample{}, err
	}
	defer d.close()
	en := &Enrolment{path: path, t: C.fido_bio_template_new(), e: C.fido_bio_enroll_new()}
	if en.t == nil || en.e == nil {
		en.Close()
		return nil, Sample{}, errors.New("fido: out of memory")
	}
	cpin := C.CString(pin)
	defer C.free(unsafe.Pointer(cpin))
	err = untilDone(ctx, d, func() error {
		return libfidoErr(C.fido_bio_dev_enroll_begin(d.dev, en.t, en.e, msTimeout(timeout), cpin))
	})
	if err != nil {
		en.Close()
		return nil, Sample{}, mapTouchErr(ctx, path, opBio, err)
	}
	return en, en.sample(), nil
}

// Next takes the next sample, waiting up to timeout for the finger. A
// timeout (ErrTouchTimeout) leaves the enrolment open: call Next again.
func (en *Enrolment) Next(ctx context.Context, timeout time.Duration) (Sample, error) {
	if en.e == nil {
		return Sample{}, errors.New("fido: enrolment closed")
	}
	d, err := openCdev(en.path, opBio)
	if err != nil {
		return Sample{}, err
	}
	defer d.close()
	err = untilDone(ctx, d, func() error {
		return libfidoErr(C.fido_bio_dev_enroll_continue(d.dev, en.t, en.e, msTimeout(timeout)))
	})
	if err != nil {
		return Sample{}, mapTouchErr(ctx, en.path, opBio, err)
	}
	return en.sample(), nil
}

// Cancel tells the key to drop the enrolment, and closes it.
func (en *Enrolment) Cancel() error {
	defer en.Close()
	d, err := openCdev(en.path, opBio)
	if err != nil {
		return err
	}
	defer d.close()
	return keyErr(opBio, en.path, libfidoErr(C.fido_bio_dev_enroll_cancel(d.dev)))
}

// Close frees the enrolment (and forgets its token). It is safe to call
// more than once.
func (en *Enrolment) Close() {
	if en.t != nil {
		C.fido_bio_template_free(&en.t)
	}
	if en.e != nil {
		C.fido_bio_enroll_free(&en.e)
	}
}

func (en *Enrolment) sample() Sample {
	return Sample{Feedback: Feedback(C.fido_bio_enroll_last_status(en.e)), Remaining: int(C.fido_bio_enroll_remaining_samples(en.e))}
}

// msTimeout is a sensor timeout for libfido2: milliseconds, at least one.
func msTimeout(d time.Duration) C.uint32_t {
	return C.uint32_t(max(d.Milliseconds(), 1))
}
