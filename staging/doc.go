// Package staging holds what the kiosk's staging mode needs beyond the
// recovery journey: IT staff enrol a batch of security keys for other
// people, so the kiosk chooses (or is given) each person's PIN, registers
// the key, and prints a PIN letter to hand over with it.
//
// pin.go draws random PINs and judges typed ones: a staged PIN travels on
// paper, so it must not be one a finder of the key would try first.
// letter.go writes the letters: one file a person, private to the
// operator's account, replaced atomically, with hostile display names made
// harmless; letter_content.go is what a letter says (letter_words.go its
// words per language), letter_text.go and letter_pdf.go its two
// renderings. stage.go is the Stager and one key's Stage; its Options are
// in stage_options.go, the pending letter folders and Reconcile in
// stage_pending.go, a row's later life (Fail, Retry, the manifest) in
// stage_rows.go. station.go is the station's rules as a plain state
// machine, as flows/ is for the walk-up journey: Station knows the steps
// and which event leads where, and returns the Effect the front end must
// perform (tui/staging*.go turns each into a Cmd); station_key.go the
// key's events (watch, facts, PIN, Stage, wipe), station_skip.go the
// skip. No PIN ever reaches an error message or a log from here.
package staging
