// The virtual key's fingerprint sensor: authenticatorBioEnrollment (CTAP
// 2.1 §6.7, command 0x09, and the prototype 0x40 that libfido2 1.12's
// fido_bio_* functions send) with a scriptable sensor, so every step of an
// enrolment runs through real libfido2 in tests and in the demo.

package virtualkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Command bytes and the pinUvAuthToken permission of bio enrollment.
const (
	cmdBioEnroll        = 0x09
	cmdBioEnrollPreview = 0x40
	permBioEnroll       = 0x08
	// maxTemplates is how many fingers the sensor keeps (a YubiKey Bio
	// keeps five).
	maxTemplates = 5
	// maxFriendlyName is getFingerprintSensorInfo's
	// maxTemplateFriendlyName, in bytes.
	maxFriendlyName = 64
	// defaultBioSamples is maxCaptureSamplesRequiredForEnroll.
	defaultBioSamples = 4
)

// Sample is what the simulated sensor makes of the next touch during an
// enrolment: a lastEnrollSampleStatus (CTAP 2.1 §6.7.3, good or one of
// the feedback codes) or SampleTimeout, which answers the capture with
// CTAP2_ERR_USER_ACTION_TIMEOUT as a sensor nobody touched does.
type Sample int

// The lastEnrollSampleStatus codes of CTAP 2.1 §6.7.3, and the timeout.
const (
	SampleGood           Sample = 0x00
	SampleTooHigh        Sample = 0x01
	SampleTooLow         Sample = 0x02
	SampleTooLeft        Sample = 0x03
	SampleTooRight       Sample = 0x04
	SampleTooFast        Sample = 0x05
	SampleTooSlow        Sample = 0x06
	SamplePoorQuality    Sample = 0x07
	SampleTooSkewed      Sample = 0x08
	SampleTooShort       Sample = 0x09
	SampleMergeFailure   Sample = 0x0a
	SampleExists         Sample = 0x0b
	SampleNoUserActivity Sample = 0x0d
	SampleNoUpTransition Sample = 0x0e
	SampleTimeout        Sample = -1
)

// sampleNames are the words the control channel (and ParseSamples) takes.
var sampleNames = map[string]Sample{
	"good": SampleGood, "high": SampleTooHigh, "low": SampleTooLow, "left": SampleTooLeft,
	"right": SampleTooRight, "fast": SampleTooFast, "slow": SampleTooSlow, "poor": SamplePoorQuality,
	"skewed": SampleTooSkewed, "short": SampleTooShort, "merge": SampleMergeFailure,
	"exists": SampleExists, "idle": SampleNoUserActivity, "noup": SampleNoUpTransition,
	"timeout": SampleTimeout,
}

// ParseSamples reads a sensor script such as "poor,timeout,good": the
// outcomes of the next touches, in order.
func ParseSamples(s string) ([]Sample, error) {
	var out []Sample
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, ok := sampleNames[f]
		if !ok {
			return nil, fmt.Errorf("virtualkey: %q is not a sensor sample (good, poor, high, low, left, right, fast, slow, skewed, short, merge, exists, idle, noup or timeout)", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// QueueSamples scripts the sensor: the next touches during an enrolment
// give these outcomes, in order; once they are used up, every touch is a
// good sample.
func (k *Key) QueueSamples(s ...Sample) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.samples = append(k.samples, s...)
}

// bioTemplate is one enrolled finger.
type bioTemplate struct {
	ID   []byte `json:"id"`
	Name string `json:"name,omitempty"`
}

// bioEnrolment is the enrolment in progress (per power cycle).
type bioEnrolment struct {
	id        []byte
	remaining int
}

type bioRequest struct {
	Modality          *uint64         `cbor:"1,keyasint"`
	SubCommand        *uint64         `cbor:"2,keyasint"`
	SubCommandParams  cbor.RawMessage `cbor:"3,keyasint"`
	PinUvAuthProtocol *uint64         `cbor:"4,keyasint"`
	PinUvAuthParam    []byte          `cbor:"5,keyasint"`
	GetModality       *bool           `cbor:"6,keyasint"`
}

type bioParams struct {
	TemplateID   []byte  `cbor:"1,keyasint"`
	FriendlyName *string `cbor:"2,keyasint"`
	TimeoutMS    *uint64 `cbor:"3,keyasint"`
}

// Bio enrollment subcommands (CTAP 2.1 §6.7.1).
const (
	bioEnrollBegin       = 0x01
	bioEnrollNext        = 0x02
	bioEnrollCancel      = 0x03
	bioEnumerate         = 0x04
	bioSetFriendlyName   = 0x05
	bioRemoveEnrollment  = 0x06
	bioGetSensorInfo     = 0x07
	bioModalityFinger    = 0x01
	fingerprintKindTouch = 0x01
)

// bioUV reports whether the key can verify its user with a finger: it has
// a sensor and at least one enrolled finger. Called with k.mu held.
func (k *Key) bioUV() bool { return k.opts.Bio && len(k.st.Templates) > 0 }

// bioEnroll implements authenticatorBioEnrollment.
func (k *Key) bioEnroll(ctx context.Context, params []byte, ka func(byte)) (any, error) {
	var r bioRequest
	if err := decodeParams(params, &r); err != nil {
		return nil, err
	}
	if r.GetModality != nil && *r.GetModality {
		return map[int]any{1: bioModalityFinger}, nil
	}
	if r.Modality == nil || r.SubCommand == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	if *r.Modality != bioModalityFinger {
		return nil, statusError(ctap2ErrUnsupportedOption)
	}
	var p bioParams
	if len(r.SubCommandParams) > 0 {
		if err := decodeParams(r.SubCommandParams, &p); err != nil {
			return nil, err
		}
	}
	sub := *r.SubCommand
	switch sub {
	case bioGetSensorInfo:
		return map[int]any{1: bioModalityFinger, 2: fingerprintKindTouch, 3: k.bioSamples(), 8: maxFriendlyName}, nil
	case bioEnrollCancel:
		k.mu.Lock()
		defer k.mu.Unlock()
		k.enrolment = nil
		return nil, nil
	case bioEnrollBegin, bioEnrollNext, bioEnumerate, bioSetFriendlyName, bioRemoveEnrollment:
	default:
		return nil, statusError(ctap2ErrInvalidSubcommand)
	}
	k.mu.Lock()
	if r.PinUvAuthParam == nil {
		k.mu.Unlock()
		return nil, statusError(ctap2ErrPUATRequired)
	}
	// The signed message: modality ‖ subCommand ‖ subCommandParams.
	msg := append([]byte{bioModalityFinger, byte(sub)}, r.SubCommandParams...)
	if err := k.checkToken(r.PinUvAuthParam, r.PinUvAuthProtocol, msg, permBioEnroll, ""); err != nil {
		k.mu.Unlock()
		return nil, err
	}
	switch sub {
	case bioEnrollBegin:
		if len(k.st.Templates) >= maxTemplates {
			k.mu.Unlock()
			return nil, statusError(ctap2ErrKeyStoreFull)
		}
		id := make([]byte, 16)
		rand.Read(id)
		e := &bioEnrolment{id: id, remaining: k.bioSamples()}
		k.enrolment = e
		k.mu.Unlock()
		st, err := k.capture(ctx, ka, e)
		if err != nil {
			k.mu.Lock()
			if k.enrolment == e {
				k.enrolment = nil // no template id reached the platform
			}
			k.mu.Unlock()
			return nil, err
		}
		return map[int]any{4: id, 5: st, 6: e.remaining}, nil
	case bioEnrollNext:
		e := k.enrolment
		k.mu.Unlock()
		if p.TemplateID == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		if e == nil || !bytes.Equal(e.id, p.TemplateID) {
			return nil, statusError(ctap2ErrInvalidOption)
		}
		// A timeout leaves the enrolment open: the platform may ask for
		// the next sample again.
		st, err := k.capture(ctx, ka, e)
		if err != nil {
			return nil, err
		}
		return map[int]any{5: st, 6: e.remaining}, nil
	}
	defer k.mu.Unlock()
	switch sub {
	case bioEnumerate:
		if len(k.st.Templates) == 0 {
			// CTAP 2.1 §6.7.6: no enrollments is CTAP2_ERR_INVALID_OPTION.
			return nil, statusError(ctap2ErrInvalidOption)
		}
		list := make([]map[int]any, 0, len(k.st.Templates))
		for _, t := range k.st.Templates {
			m := map[int]any{1: t.ID}
			if t.Name != "" {
				m[2] = t.Name
			}
			list = append(list, m)
		}
		return map[int]any{7: list}, nil
	case bioSetFriendlyName:
		if p.TemplateID == nil || p.FriendlyName == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		if len(*p.FriendlyName) > maxFriendlyName {
			return nil, statusError(ctap1ErrInvalidParameter)
		}
		t := k.template(p.TemplateID)
		if t == nil {
			return nil, statusError(ctap2ErrInvalidOption)
		}
		t.Name = *p.FriendlyName
		return nil, k.save()
	case bioRemoveEnrollment:
		if p.TemplateID == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		for i, t := range k.st.Templates {
			if bytes.Equal(t.ID, p.TemplateID) {
				k.st.Templates = append(k.st.Templates[:i], k.st.Templates[i+1:]...)
				return nil, k.save()
			}
		}
		return nil, statusError(ctap2ErrInvalidOption)
	}
	return nil, statusError(ctap2ErrInvalidSubcommand)
}

// capture waits for a finger on the sensor (a touch, as Presence says),
// then takes the scripted outcome. A good sample counts down the samples
// still needed; at zero the finger is enrolled and the key can verify
// its user with it.
func (k *Key) capture(ctx context.Context, ka func(byte), e *bioEnrolment) (int, error) {
	if st := k.waitPresence(ctx, ka); st != ctap1Success {
		return 0, statusError(st)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.enrolment != e {
		return 0, statusError(ctap2ErrKeepaliveCancel) // cancelled meanwhile
	}
	s := SampleGood
	if len(k.samples) > 0 {
		s, k.samples = k.samples[0], k.samples[1:]
	}
	if s == SampleTimeout {
		return 0, statusError(ctap2ErrUserActionTimeout)
	}
	if s != SampleGood {
		return int(s), nil
	}
	e.remaining--
	if e.remaining > 0 {
		return int(s), nil
	}
	k.enrolment = nil
	k.st.Templates = append(k.st.Templates, bioTemplate{ID: e.id})
	return int(s), k.save()
}

func (k *Key) bioSamples() int {
	if k.opts.BioSamples > 0 {
		return k.opts.BioSamples
	}
	return defaultBioSamples
}

// template finds an enrolled finger. Called with k.mu held.
func (k *Key) template(id []byte) *bioTemplate {
	for i := range k.st.Templates {
		if bytes.Equal(k.st.Templates[i].ID, id) {
			return &k.st.Templates[i]
		}
	}
	return nil
}

// Fingers is how many fingers the key has enrolled.
func (k *Key) Fingers() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.st.Templates)
}
