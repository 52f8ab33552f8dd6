package tui

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// TestStagingScreens draws every staging step, in each language and at
// 80x24 and 60x20, with a hostile display name: no catalogue key shows
// through untranslated, no escape sequence reaches the screen, and no
// line is wider than the window.
// TestStagingLiveAtOnce: in Entra mode a staged key can sign in at once,
// and the staged screen tells the operator to keep it locked away.
func TestStagingLiveAtOnce(t *testing.T) {
	b := api.StagingBatch{ID: "b1", Name: "north", PendingCount: 1, Rows: []api.StagingRow{{ID: "r1", UserPrincipalName: "ada@example.com", DisplayName: "Ada", State: api.StagingPending}}}
	for _, lang := range Languages() {
		for _, live := range []bool{false, true} {
			opts := staging.Options{PINs: staging.RandomPINs, PINLength: 6, Alphabet: staging.Digits, Letters: "/l", LetterFormat: staging.Text, LiveAtOnce: live}
			m, err := NewStaging(StagingConfig{Lang: lang, Theme: "plain"}, &staging.Stager{Opts: opts}, b)
			if err != nil {
				t.Fatal(err)
			}
			m.s.Row, m.s.Pos, m.s.Step, m.width, m.height = b.Rows[0], 1, staging.StepStaged, 80, 24
			m.s.Result = staging.Result{Method: api.FIDO2Method{DisplayName: "Ada's key", Model: "YubiKey 5"}}
			out := strings.Join(strings.Fields(ansi.Strip(m.Render())), " ")
			want := strings.Join(strings.Fields(m.t.S("stage.liveAtOnce")), " ")
			if strings.Contains(out, want) != live {
				t.Errorf("%s live=%v:\n%s", lang, live, out)
			}
		}
	}
}

func TestStagingScreens(t *testing.T) {
	b := api.StagingBatch{ID: "b1", Name: "north", PendingCount: 2, RegisteredCount: 1, FailedCount: 1, Rows: []api.StagingRow{
		{ID: "r1", UserPrincipalName: "ada@example.com", DisplayName: "Ada \x1b[31mLovelace\x1b]0;owned\x07", State: api.StagingPending},
		{ID: "r2", UserPrincipalName: "bob@example.com", DisplayName: "Bob", State: api.StagingRegistered},
	}}
	keyLike := regexp.MustCompile(`\b(stage|pin|key|err|help|touch)\.[a-zA-Z.]+\b`)
	for _, lang := range Languages() {
		for _, pins := range []string{staging.RandomPINs, staging.TypedPINs} {
			opts := staging.Options{PINs: pins, PINLength: 6, Alphabet: staging.Digits, MinPINLength: 6, ForcePINChange: true, Letters: "/var/lib/tapkiosk/letters", LetterFormat: staging.PDF, LiveAtOnce: true}
			manifest := "/tmp/out"
			if pins == staging.TypedPINs {
				manifest = "" // the hint to export it instead
			}
			m, err := NewStaging(StagingConfig{Lang: lang, Theme: "plain", Manifest: manifest}, &staging.Stager{Opts: opts}, b)
			if err != nil {
				t.Fatal(err)
			}
			m.s.Row, m.s.Pos = b.Rows[0], 1
			m.s.Result = staging.Result{Method: api.FIDO2Method{DisplayName: "YubiKey 5 2026-12-01", Model: "YubiKey 5"}, Serial: "123", Letter: "/var/lib/tapkiosk/letters/ada_at_example.com.pdf",
				ChangeForced: true, Warnings: []error{staging.ErrNoAuthnrCfg, errors.New("x")}}
			if manifest != "" {
				m.s.Manifest = []string{"/tmp/out/north-manifest.csv"}
			}
			for step := staging.StepOverview; step <= staging.StepDone; step++ {
				for _, problem := range []error{nil, fido.ErrKeyRemoved, staging.ErrOtherKey, &staging.WeakPINError{Why: staging.WeakDate}, &api.Error{Code: api.CodeStagingRowRegistered, Message: "ada has a key"}} {
					for _, size := range [][2]int{{80, 24}, {60, 20}} {
						m.s.Step, m.s.Problem, m.width, m.height = step, problem, size[0], size[1]
						m.s.Phase = staging.PhaseTouch // the touch box shows in StepWork
						m.s.StopAsked = problem == staging.ErrOtherKey && step == staging.StepWork
						m.s.SkipAsked = problem == fido.ErrKeyRemoved && step == staging.StepPlug
						out := m.Render()
						if k := keyLike.FindString(out); k != "" {
							t.Errorf("%s %s step %v: %q shows untranslated:\n%s", lang, pins, step, k, out)
						}
						if strings.Contains(out, "\x07") || strings.Contains(out, "owned") || strings.Contains(out, "[31m") {
							t.Errorf("%s step %v: an escape reached the screen", lang, step)
						}
						for _, l := range strings.Split(out, "\n") {
							if w := ansi.StringWidth(l); w > size[0] {
								t.Errorf("%s step %v at %dx%d: a line of %d: %q", lang, step, size[0], size[1], w, l)
							}
						}
					}
				}
			}
		}
	}
}
