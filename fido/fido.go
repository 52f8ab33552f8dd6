// Package fido talks to USB security keys through go-libfido2 and the
// system's libfido2: discovery, key facts, PINs, WebAuthn registration
// with a correctly built attestation object, and IT staging (minimum PIN
// length, forced PIN change, alwaysUv, reset; config.go). Errors are
// typed (errors.go) so the kiosk can explain each to a person.
//
// Every call opens the key afresh, as libfido2 does (CTAPHID INIT and
// getInfo each time). go-libfido2 never frees the C strings it makes, a
// few bytes per call: acceptable for a kiosk, noted here so nobody is
// surprised by a slow RSS creep in a soak test.
package fido

/*
#cgo LDFLAGS: -lfido2
#include <fido.h>
#include <fido/config.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

// tk_open opens the key at path, refusing a U2F-only one (TK_U2F_ONLY).
#define TK_U2F_ONLY -100
static int tk_open(const char *path, fido_dev_t **devp) {
	fido_dev_t *dev = fido_dev_new();
	if (dev == NULL)
		return FIDO_ERR_INTERNAL;
	int r = fido_dev_open(dev, path);
	if (r != FIDO_OK) {
		fido_dev_free(&dev);
		return r;
	}
	if (!fido_dev_is_fido2(dev)) {
		fido_dev_close(dev);
		fido_dev_free(&dev);
		return TK_U2F_ONLY;
	}
	*devp = dev;
	return FIDO_OK;
}

static void tk_close(fido_dev_t **devp) {
	fido_dev_close(*devp);
	fido_dev_free(devp);
}

// tk_info reads the getInfo fields go-libfido2 does not expose; algs gets
// up to maxalgs of the key's COSE algorithms, *nalgs how many.
static int tk_info(const char *path, uint64_t *minpin, int64_t *rkrem, bool *newpin, int *algs, size_t maxalgs, size_t *nalgs) {
	fido_dev_t *dev = NULL;
	int r = tk_open(path, &dev);
	if (r != FIDO_OK)
		return r;
	fido_cbor_info_t *ci = fido_cbor_info_new();
	r = fido_dev_get_cbor_info(dev, ci);
	if (r == FIDO_OK) {
		*minpin = fido_cbor_info_minpinlen(ci);
		*rkrem = fido_cbor_info_rk_remaining(ci);
		*newpin = fido_cbor_info_new_pin_required(ci);
		*nalgs = 0;
		for (size_t i = 0; i < fido_cbor_info_algorithm_count(ci) && *nalgs < maxalgs; i++)
			if (strcmp(fido_cbor_info_algorithm_type(ci, i), "public-key") == 0)
				algs[(*nalgs)++] = fido_cbor_info_algorithm_cose(ci, i);
	}
	fido_cbor_info_free(&ci);
	tk_close(&dev);
	return r;
}

// authenticatorConfig calls (CTAP 2.1 §6.11) and what a key must list in
// getInfo's options for each; go-libfido2 wraps none of them.
#define TK_CFG_MINLEN 1
#define TK_CFG_FORCE 2
#define TK_CFG_ALWAYSUV 3
#define TK_NO_AUTHNRCFG -101
#define TK_NO_SETMINPIN -102
#define TK_NO_ALWAYSUV -103

// tk_option is -1 when getInfo lacks the option, else its value.
static int tk_option(const fido_cbor_info_t *ci, const char *name) {
	char **names = fido_cbor_info_options_name_ptr(ci);
	const bool *values = fido_cbor_info_options_value_ptr(ci);
	for (size_t i = 0; i < fido_cbor_info_options_len(ci); i++)
		if (strcmp(names[i], name) == 0)
			return values[i];
	return -1;
}

// tk_config_supported checks that the open key can take op.
static int tk_config_supported(fido_dev_t *dev, int op) {
	fido_cbor_info_t *ci = fido_cbor_info_new();
	if (ci == NULL)
		return FIDO_ERR_INTERNAL;
	int r = fido_dev_get_cbor_info(dev, ci);
	if (r == FIDO_OK) {
		if (tk_option(ci, "authnrCfg") != 1)
			r = TK_NO_AUTHNRCFG;
		else if (op == TK_CFG_ALWAYSUV && tk_option(ci, "alwaysUv") < 0)
			r = TK_NO_ALWAYSUV;
		else if (op != TK_CFG_ALWAYSUV && tk_option(ci, "setMinPINLength") != 1)
			r = TK_NO_SETMINPIN;
	}
	fido_cbor_info_free(&ci);
	return r;
}

// tk_config runs op on the open key; pin may be NULL (a key without a PIN).
static int tk_config(fido_dev_t *dev, int op, size_t minlen, const char *pin) {
	switch (op) {
	case TK_CFG_MINLEN:
		return fido_dev_set_pin_minlen(dev, minlen, pin);
	case TK_CFG_FORCE:
		return fido_dev_force_pin_change(dev, pin);
	case TK_CFG_ALWAYSUV:
		return fido_dev_toggle_always_uv(dev, pin);
	}
	return FIDO_ERR_INVALID_ARGUMENT;
}
*/
import "C"

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unsafe"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// Key is a plugged-in security key as the HID manifest lists it.
type Key struct {
	Path         string
	Product      string
	Manufacturer string
}

// Keys lists the security keys plugged in now.
func Keys() ([]Key, error) {
	locs, err := libfido2.DeviceLocations()
	if err != nil {
		return nil, fmt.Errorf("list security keys: %w", err)
	}
	out := make([]Key, 0, len(locs))
	for _, l := range locs {
		out = append(out, Key{Path: l.Path, Product: l.Product, Manufacturer: l.Manufacturer})
	}
	return out, nil
}

// One returns the single plugged-in key, or ErrNoKey / ErrSeveralKeys.
func One() (Key, error) {
	ks, err := Keys()
	if err != nil {
		return Key{}, err
	}
	switch len(ks) {
	case 0:
		return Key{}, ErrNoKey
	case 1:
		return ks[0], nil
	}
	return Key{}, ErrSeveralKeys
}

// present reports whether path is still in the manifest.
func present(path string) bool {
	ks, err := Keys()
	if err != nil {
		return false
	}
	return slices.ContainsFunc(ks, func(k Key) bool { return k.Path == path })
}

// DefaultPollInterval is how often Watch looks: fast enough that a key
// feels noticed at once, slow enough to cost nothing (each look is a
// directory scan, no device I/O).
const DefaultPollInterval = 300 * time.Millisecond

// Watch sends the list of keys whenever it changes, starting with the
// current one, until ctx ends. A failed look is skipped, not sent.
func Watch(ctx context.Context, interval time.Duration) <-chan []Key {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	ch := make(chan []Key, 1)
	go func() {
		defer close(ch)
		var last []Key
		first := true
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if ks, err := Keys(); err == nil && (first || !slices.Equal(ks, last)) {
				first, last = false, ks
				select {
				case ch <- ks:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch
}

// Info is what a key says about itself (authenticatorGetInfo) and what
// the HID manifest says about it.
type Info struct {
	Path     string
	Product  string
	Versions []string
	// FIDO21 is set for keys that speak CTAP 2.1.
	FIDO21 bool
	AAGUID [16]byte
	// Options from getInfo.
	PINSet       bool
	ResidentKeys bool
	BuiltInUV    bool
	CredMgmt     bool
	PINProtocols []int
	// MinPINLength is the key's minimum PIN length (4 if it does not say).
	MinPINLength int
	// ForcePINChange is getInfo's forcePINChange: the PIN must be changed
	// (ChangePIN) before the key accepts it for anything else; until then
	// Register, Assert and VerifyPIN give ErrPINChangeRequired.
	ForcePINChange bool
	// Extensions the key supports, as getInfo lists them ("credProtect",
	// "hmac-secret", ...).
	Extensions []string
	// Algorithms are the COSE algorithms of the credentials the key can
	// make, as getInfo lists them (ES256 -7, EdDSA -8, RS256 -257, ...);
	// empty when it does not say (a CTAP 2.0 key need not).
	Algorithms []int
	// RemainingResidentKeys is how many more passkeys fit, or -1 if the key
	// does not say.
	RemainingResidentKeys int
	// AuthnrCfg: the key takes authenticatorConfig (SetMinPINLength,
	// ForcePINChange, ToggleAlwaysUV).
	AuthnrCfg bool
	// AlwaysUV is the alwaysUv option: the key verifies the user for
	// everything (ToggleAlwaysUV).
	AlwaysUV bool
	// Bio: the key has a fingerprint sensor that can enrol fingers
	// (getInfo lists bioEnroll, or userVerificationMgmtPreview on CTAP
	// 2.1-PRE keys); Fingers: it has at least one enrolled (the option is
	// true), so the finger can verify the person instead of the PIN.
	Bio     bool
	Fingers bool
}

// GetInfo asks the key at path about itself. A U2F-only key gives an
// UnsupportedKeyError.
func GetInfo(path string) (Info, error) {
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return Info{}, err
	}
	// Info refuses a U2F-only key with ErrNotFIDO2, which maps to
	// UnsupportedKeyError, so no separate type check (and open) is needed.
	di, err := dev.Info()
	if err != nil {
		return Info{}, mapErr("getInfo", err, path)
	}
	info := Info{Path: path, Versions: di.Versions, Extensions: di.Extensions, MinPINLength: 4, RemainingResidentKeys: -1}
	copy(info.AAGUID[:], di.AAGUID)
	info.FIDO21 = slices.Contains(di.Versions, "FIDO_2_1")
	info.PINSet = optionOn(di, "clientPin")
	info.ResidentKeys = optionOn(di, "rk")
	info.BuiltInUV = optionOn(di, "uv")
	info.CredMgmt = optionOn(di, "credMgmt") || optionOn(di, "credentialMgmtPreview")
	info.AuthnrCfg = optionOn(di, "authnrCfg")
	info.AlwaysUV = optionOn(di, "alwaysUv")
	info.Bio = optionListed(di, "bioEnroll") || optionListed(di, "userVerificationMgmtPreview")
	info.Fingers = optionOn(di, "bioEnroll") || optionOn(di, "userVerificationMgmtPreview")
	for _, p := range di.Protocols {
		info.PINProtocols = append(info.PINProtocols, int(p))
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var minpin C.uint64_t
	var rkrem C.int64_t = -1
	var newpin C.bool
	var algs [16]C.int
	var nalgs C.size_t
	if r := C.tk_info(cpath, &minpin, &rkrem, &newpin, &algs[0], C.size_t(len(algs)), &nalgs); r == C.FIDO_OK {
		for _, a := range algs[:nalgs] {
			info.Algorithms = append(info.Algorithms, int(a))
		}
		if minpin > 0 {
			info.MinPINLength = int(minpin)
		}
		info.RemainingResidentKeys = int(rkrem)
		info.ForcePINChange = bool(newpin)
	}
	if ks, err := Keys(); err == nil {
		for _, k := range ks {
			if k.Path == path {
				info.Product = k.Product
			}
		}
	}
	return info, nil
}

// Operations of the authenticatorConfig calls (tk_config's op).
const (
	cfgMinPINLength   = C.TK_CFG_MINLEN
	cfgForcePINChange = C.TK_CFG_FORCE
	cfgToggleAlwaysUV = C.TK_CFG_ALWAYSUV
)

// cdev is a key opened by our cgo wrappers, cancellable as go-libfido2's
// Device is (see untilDone).
type cdev struct{ dev *C.fido_dev_t }

func (d cdev) Cancel() error { return libfidoErr(C.fido_dev_cancel(d.dev)) }

// openCdev opens the key at path for our cgo wrappers (refusing a
// U2F-only one); close it with close.
func openCdev(path, op string) (*cdev, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	d := &cdev{}
	if r := C.tk_open(cpath, &d.dev); r != C.FIDO_OK {
		return nil, mapErr(op, libfidoErr(r), path)
	}
	return d, nil
}

func (d *cdev) close() { C.tk_close(&d.dev) }

// configure runs one authenticatorConfig call on the key at path: it
// opens the key, checks that getInfo lists the feature, then sends the
// command, with pin ("" for a key without one) for the pinUvAuthToken.
func configure(ctx context.Context, path, op string, cfg C.int, minLen int, pin string) error {
	var cpin *C.char
	if pin != "" {
		cpin = C.CString(pin)
		defer C.free(unsafe.Pointer(cpin))
	}
	d, err := openCdev(path, op)
	if err != nil {
		return err
	}
	defer d.close()
	if r := C.tk_config_supported(d.dev, cfg); r != C.FIDO_OK {
		return mapErr(op, libfidoErr(r), path)
	}
	err = untilDone(ctx, d, func() error { return libfidoErr(C.tk_config(d.dev, cfg, C.size_t(minLen), cpin)) })
	return mapTouchErr(ctx, path, op, err)
}

// Not-supported answers of tk_config_supported, as errors.
var (
	errNoAuthnrCfg = &UnsupportedKeyError{Reason: ReasonNoAuthnrCfg}
	errNoMinPINLen = &UnsupportedKeyError{Reason: ReasonNoSetMinPINLength}
	errNoAlwaysUV  = &UnsupportedKeyError{Reason: ReasonNoAlwaysUV}
)

// libfidoErr turns a libfido2 return code from our cgo wrappers into the
// error go-libfido2 gives for it (its own mapping is unexported), so
// mapErr reads both alike.
func libfidoErr(r C.int) error {
	switch r {
	case C.FIDO_OK:
		return nil
	case C.TK_U2F_ONLY:
		return libfido2.ErrNotFIDO2
	case C.TK_NO_AUTHNRCFG:
		return errNoAuthnrCfg
	case C.TK_NO_SETMINPIN:
		return errNoMinPINLen
	case C.TK_NO_ALWAYSUV:
		return errNoAlwaysUV
	}
	if e, ok := libfidoErrs[r]; ok {
		return e
	}
	return libfido2.Error{Code: int(r)}
}

// libfidoErrs are the libfido2 codes go-libfido2 has an error for.
var libfidoErrs = map[C.int]error{
	C.FIDO_ERR_TX: libfido2.ErrTX, C.FIDO_ERR_RX: libfido2.ErrRX, C.FIDO_ERR_RX_NOT_CBOR: libfido2.ErrRXNotCBOR,
	C.FIDO_ERR_RX_INVALID_CBOR: libfido2.ErrRXInvalidCBOR, C.FIDO_ERR_INVALID_ARGUMENT: libfido2.ErrInvalidArgument,
	C.FIDO_ERR_INVALID_COMMAND: libfido2.ErrInvalidCommand, C.FIDO_ERR_NOT_ALLOWED: libfido2.ErrNotAllowed,
	C.FIDO_ERR_ACTION_TIMEOUT: libfido2.ErrActionTimeout, C.FIDO_ERR_PIN_NOT_SET: libfido2.ErrPinNotSet,
	C.FIDO_ERR_PIN_INVALID: libfido2.ErrPinInvalid, C.FIDO_ERR_PIN_AUTH_BLOCKED: libfido2.ErrPinAuthBlocked,
	C.FIDO_ERR_PIN_REQUIRED: libfido2.ErrPinRequired, C.FIDO_ERR_PIN_POLICY_VIOLATION: libfido2.ErrPinPolicyViolation,
	C.FIDO_ERR_OPERATION_DENIED: libfido2.ErrOperationDenied, C.FIDO_ERR_KEEPALIVE_CANCEL: libfido2.ErrKeepaliveCancel,
	C.FIDO_ERR_INVALID_OPTION: libfido2.ErrInvalidOption, C.FIDO_ERR_UNSUPPORTED_OPTION: libfido2.ErrUnsupportedOption,
}
