package main

import (
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// restingRenderer is the first Bubble Tea whose renderer stops its frame
// ticker after half a second with nothing to draw and wakes on the next
// render. Before it, the renderer woke kioskFPS times a second at Welcome
// for as long as the kiosk waited there (0.8% of a core against 0.08%,
// scripts/kiosk-rest.sh; README "At rest").
var restingRenderer = [3]int{2, 2, 0}

// TestRendererRestsWhenNothingChanges holds the kiosk to a Bubble Tea that
// parks its renderer: a frame tick cannot be seen from outside but as CPU
// time, and a test must not time things, so the version is what is held.
func TestRendererRestsWhenNothingChanges(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info in the test binary")
	}
	for _, d := range bi.Deps {
		if d.Path != "charm.land/bubbletea/v2" {
			continue
		}
		if d.Replace != nil {
			d = d.Replace
		}
		v, err := semver(d.Version)
		if err != nil {
			t.Fatalf("bubbletea version %q: %v", d.Version, err)
		}
		if less(v, restingRenderer) {
			t.Fatalf("bubbletea %s wakes its renderer at every frame while nothing changes; the kiosk needs v%d.%d.%d or later",
				d.Version, restingRenderer[0], restingRenderer[1], restingRenderer[2])
		}
		return
	}
	t.Fatal("charm.land/bubbletea/v2 is not among the test binary's dependencies")
}

// semver reads vMAJOR.MINOR.PATCH, ignoring a pre-release or build suffix.
func semver(s string) ([3]int, error) {
	var v [3]int
	core, _, _ := strings.Cut(strings.TrimPrefix(s, "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return v, strconv.ErrSyntax
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, err
		}
		v[i] = n
	}
	return v, nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
