package fido_test

import (
	"context"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// BenchmarkRegister is one whole registration through go-libfido2,
// libfido2 and CTAPHID to the virtual key: getInfo, PIN token, makeCredential
// with packed attestation, attestation object assembly. Touch is immediate.
func BenchmarkRegister(b *testing.B) {
	path, _ := plug(b, virtualkey.Options{TouchDelay: 1, MaxResident: 1 << 20})
	if err := fido.SetPIN(path, "2468"); err != nil {
		b.Fatal(err)
	}
	rp, u := newRP(b), &rpUser{id: []byte("bench")}
	opts, _ := begin(b, rp, u)
	req := fido.RegisterRequest{Options: opts, Origin: "https://example.com", PIN: "2468"}
	b.ResetTimer()
	for b.Loop() {
		if _, err := fido.Register(context.Background(), path, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPINToken is a PIN-authenticated call (key agreement, PIN
// token, credential metadata) through libfido2.
func BenchmarkPINToken(b *testing.B) {
	path, _ := plug(b, virtualkey.Options{})
	fido.SetPIN(path, "2468")
	dev, _ := libfido2.NewDevice(path)
	b.ResetTimer()
	for b.Loop() {
		if _, err := dev.CredentialsInfo("2468"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeys is one look for plugged-in keys, what Watch does each tick.
func BenchmarkKeys(b *testing.B) {
	plug(b, virtualkey.Options{})
	for b.Loop() {
		if ks, err := fido.Keys(); err != nil || len(ks) != 1 {
			b.Fatal(ks, err)
		}
	}
}
