package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyRetries reads the virtual key's PIN retry counter from its state file
// in the kiosk's directory.
func (k *kioskRun) keyRetries() int {
	k.t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(k.control), "key.json"))
	if err != nil {
		k.t.Fatal(err)
	}
	var st struct {
		PINRetries int `json:"pinRetries"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		k.t.Fatal(err)
	}
	return st.PINRetries
}

// kioskAtPIN starts a kiosk whose virtual key prep writes (a PIN set,
// with retries tries left), signs in, and waits at "Enter your key's PIN".
func (w *world) kioskAtPIN(prep func(string), retries int) *kioskRun {
	w.t.Helper()
	pass := w.pass(false)
	k := w.startKioskWithKey(prep)
	k.signIn(w.upn, pass)
	k.waitFor(fmt.Sprintf("%d tries left", retries))
	return k
}

// Issue 23 item 1: a PIN shorter than the key's own minimum (6 here) is
// refused on screen and never reaches the key: its retry counter stays.
func TestKioskShortPINNeverReachesTheKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	k := w.kioskAtPIN(keyState("246810", 8, map[string]any{"minPINLength": 6}), 8)
	for _, short := range []string{"22", "12345"} {
		k.send(short, "Enter")
		s := k.waitFor("it has at least 6 characters")
		if !strings.Contains(s, "no try was used") || strings.Contains(s, "That PIN is wrong") {
			t.Fatalf("%s:\n%s", short, s)
		}
		if n := k.keyRetries(); n != 8 {
			t.Fatalf("after %q the key has %d tries left, want 8", short, n)
		}
	}
	k.send("246810", "Enter")
	k.waitFor("Name your key")
	if n := k.keyRetries(); n != 8 {
		t.Fatalf("after the right PIN the key has %d tries left", n)
	}
}

// Issue 23 item 3: a key pulled while its PIN is typed is noticed without
// Enter, and what was typed is gone when it comes back.
func TestKioskKeyPulledAtThePINStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	k := w.kioskAtPIN(keyWithPIN("2468", 8), 8)
	k.send("24")
	k.waitFor("••")
	k.key("unplug")
	s := k.waitFor("Insert your security key")
	if strings.Contains(s, "•") {
		t.Fatalf("the PIN typed is still on screen:\n%s", s)
	}
	k.key("plug")
	if s := k.waitFor("8 tries left"); strings.Contains(s, "•") {
		t.Fatalf("the PIN typed came back with the key:\n%s", s)
	}
	k.send("2468", "Enter")
	k.waitFor("Name your key")
	if n := k.keyRetries(); n != 8 {
		t.Fatalf("the key has %d tries left", n)
	}
}
