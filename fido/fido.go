// Package fido talks to USB security keys through go-libfido2 and the
// system's libfido2: discovery, key facts, PINs, and WebAuthn registration
// with a correctly built attestation object. Errors are typed (errors.go)
// so the kiosk can explain each to a person.
//
// Every call opens the key afresh, as libfido2 does (CTAPHID INIT and
// getInfo each time). go-libfido2 never frees the C strings it makes, a
// few bytes per call: acceptable for a kiosk, noted here so nobody is
// surprised by a slow RSS creep in a soak test.
package fido

/*
#cgo LDFLAGS: -lfido2
#include <fido.h>
#include <stdbool.h>
#include <stdlib.h>

// tk_info reads the getInfo fields go-libfido2 does not expose.
static int tk_info(const char *path, uint64_t *minpin, int64_t *rkrem, bool *newpin) {
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
		return -100;
	}
	fido_cbor_info_t *ci = fido_cbor_info_new();
	r = fido_dev_get_cbor_info(dev, ci);
	if (r == FIDO_OK) {
		*minpin = fido_cbor_info_minpinlen(ci);
		*rkrem = fido_cbor_info_rk_remaining(ci);
		*newpin = fido_cbor_info_new_pin_required(ci);
	}
	fido_cbor_info_free(&ci);
	fido_dev_close(dev);
	fido_dev_free(&dev);
	return r;
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
	// RemainingResidentKeys is how many more passkeys fit, or -1 if the key
	// does not say.
	RemainingResidentKeys int
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
	for _, p := range di.Protocols {
		info.PINProtocols = append(info.PINProtocols, int(p))
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var minpin C.uint64_t
	var rkrem C.int64_t = -1
	var newpin C.bool
	if r := C.tk_info(cpath, &minpin, &rkrem, &newpin); r == C.FIDO_OK {
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
