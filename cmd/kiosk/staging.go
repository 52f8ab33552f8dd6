package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/staging"
	"github.com/tapkiosk/tapkiosk/tui"
)

// Staging mode: kiosk --staging, signed in with an operator's admin token,
// registers a batch of keys for people (see tui/staging.go). The batch is
// named with --batch, made from --csv the first time, and continued on
// every later start with the same flags: a restart goes on where the last
// run stopped.
type stagingFlags struct {
	on           *bool
	batch, csv   *string
	group        *string
	pins         *string
	pinLength    *int
	alphabet     *string
	minPINLength *int
	force        *bool
	letters      *string
	format       *string
	letterLang   *string
	manifest     *string
	retryFailed  *bool
}

func addStagingFlags(fs *flag.FlagSet) stagingFlags {
	return stagingFlags{
		on:           fs.Bool("staging", false, "staging mode: register a batch of keys for people, signed in with an operator's admin token (see --batch)"),
		batch:        fs.String("batch", "", "staging: the batch (name or id) to work through; with --csv, the name of the batch to make (default: the file's name)"),
		csv:          fs.String("csv", "", "staging: make the batch from this CSV (upn,displayName,keyName[,preferredLanguage]) if it does not exist yet"),
		group:        fs.String("group", "", "staging: make the batch from this directory group's members (its name, or in Entra mode its id) if it does not exist yet"),
		pins:         fs.String("pins", staging.RandomPINs, "staging: random (drawn per key, written into a PIN letter) or typed (by the operator, for each key)"),
		pinLength:    fs.Int("pin-length", 6, "staging: length of random PINs"),
		alphabet:     fs.String("pin-alphabet", staging.Digits, "staging: random PINs of digits or alphanumeric"),
		minPINLength: fs.Int("min-pin-length", 6, "staging: set each key's minimum PIN length (CTAP 2.1 keys; 0 leaves the key's own)"),
		force:        fs.Bool("force-pin-change", true, "staging: make each key ask for a new PIN on first use (CTAP 2.1 keys)"),
		letters:      fs.String("letters", "", "staging: directory for the PIN letters (random PINs; made 0700, each letter 0600)"),
		format:       fs.String("letter-format", staging.Text, "staging: PIN letters as text or pdf"),
		letterLang: fs.String("letter-lang", "", "staging: the batch's PIN letter language ("+strings.Join(staging.LetterLanguages(), ", ")+
			"; default: --lang); a person whose row has a preferredLanguage the letters are written in gets theirs"),
		manifest:    fs.String("manifest", "", "staging: directory to write the batch's manifest (CSV and JSON) to when done or stopped (default: --letters)"),
		retryFailed: fs.Bool("retry-failed", false, "staging: put the batch's failed people back in the queue first"),
	}
}

// options are the Stager's options; lang is the screens' language, the
// letters' when --letter-lang is not given.
func (f stagingFlags) options(org, lang string) staging.Options {
	letterLang := *f.letterLang
	if letterLang == "" {
		letterLang = lang
	}
	return staging.Options{PINs: *f.pins, PINLength: *f.pinLength, Alphabet: *f.alphabet, MinPINLength: *f.minPINLength,
		ForcePINChange: *f.force, Letters: *f.letters, LetterFormat: *f.format, LetterLang: letterLang, Org: org}
}

// problems lists what is wrong with the staging flags, all at once.
func (f stagingFlags) problems(org, lang string) []string {
	if !*f.on {
		return nil
	}
	var out []string
	if *f.batch == "" && *f.csv == "" && *f.group == "" {
		out = append(out, "--staging needs --batch (a batch tapd has), or --csv or --group to make one from")
	}
	if *f.csv != "" && *f.group != "" {
		out = append(out, "--csv and --group both make a batch: give one of them")
	}
	if *f.csv != "" {
		if _, err := os.Stat(*f.csv); err != nil {
			out = append(out, fmt.Sprintf("--csv: %v", err))
		}
	}
	if err := f.options(org, lang).Validate(); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			out = append(out, e)
		}
	}
	return out
}

// batchName is the batch --csv or --group makes: --batch, or the file's
// or the group's name.
func (f stagingFlags) batchName() string {
	if *f.batch != "" {
		return *f.batch
	}
	if *f.group != "" {
		return *f.group
	}
	base := filepath.Base(*f.csv)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// openBatch finds the batch, making it from the CSV if tapd has none of
// that name. A restart with the same flags finds the batch it made.
func (f stagingFlags) openBatch(ctx context.Context, c *api.Client, stderr io.Writer) (api.StagingBatch, error) {
	ref := *f.batch
	if *f.csv != "" || *f.group != "" {
		ref = f.batchName()
	}
	b, err := c.GetStagingBatch(ctx, ref)
	var ae *api.Error
	switch {
	case err == nil:
		return b, nil
	case !errors.As(err, &ae) || ae.Code != api.CodeNotFound:
		return b, err
	case *f.group != "":
		b, err = c.CreateStagingBatch(ctx, api.CreateStagingBatchRequest{Name: ref, Group: *f.group})
		f.printRows(stderr, err, "group "+*f.group+" member")
		return b, err
	case *f.csv == "":
		return b, fmt.Errorf("tapd has no staging batch %q; make one with `tapctl staging create`, or start with --csv or --group", ref)
	}
	file, err := os.Open(*f.csv)
	if err != nil {
		return b, fmt.Errorf("--csv: %w", err)
	}
	defer file.Close()
	b, err = c.ImportStagingBatch(ctx, ref, file)
	f.printRows(stderr, err, *f.csv+" line")
	return b, err
}

// printRows says which people tapd would not stage, one line each.
func (f stagingFlags) printRows(stderr io.Writer, err error, where string) {
	var ae *api.Error
	if errors.As(err, &ae) {
		for _, r := range ae.Rows {
			fmt.Fprintf(stderr, "kiosk: %s %d %s: %s\n", where, r.Row, r.UserPrincipalName, r.Message)
		}
	}
}

// runStaging opens the batch and runs the staging screens.
func runStaging(f stagingFlags, c *api.Client, cfg tui.StagingConfig, serial func(string) string, logger *slog.Logger, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := f.openBatch(ctx, c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kiosk:", err)
		return 2
	}
	opts := f.options(cfg.Org, cfg.Lang)
	// In Entra mode a staged key can sign in the moment it is registered:
	// the screens and letters say so.
	if pol, err := c.GetFIDO2Policy(ctx); err != nil {
		logger.Warn("the FIDO2 policy could not be read; staged keys are not said to be live at once", "err", err)
	} else {
		opts.LiveAtOnce = pol.ManagedBy == "entra"
	}
	s := &staging.Stager{Client: c, Batch: b, Opts: opts, Log: logger, Touch: cfg.Touch, Serial: serial}
	// Letters a stopped kiosk left pending: settled or removed, by what
	// tapd says of their rows.
	if err := s.Reconcile(b); err != nil {
		fmt.Fprintln(stderr, "kiosk:", err)
		return 1
	}
	if *f.retryFailed {
		if err := s.Retry(ctx, b.Rows); err != nil {
			fmt.Fprintln(stderr, "kiosk: --retry-failed:", err)
			return 1
		}
	}
	cfg.Manifest = *f.manifest
	if cfg.Manifest == "" {
		cfg.Manifest = opts.Letters
	}
	m, err := tui.NewStaging(cfg, s, b)
	if err != nil {
		fmt.Fprintln(stderr, "kiosk:", err)
		return 2
	}
	logger.Info("staging starting", "batch", b.ID, "pending", b.PendingCount, "pins", opts.PINs)
	if _, err := tea.NewProgram(m, tea.WithFPS(60)).Run(); err != nil {
		logger.Error("staging stopped", "err", err)
		fmt.Fprintln(stderr, "kiosk:", err)
		return 1
	}
	logger.Info("staging stopped", "batch", b.ID, "idle", m.IdleStopped())
	s.Close()
	staged, end, manifest := m.Summary()
	fmt.Fprintf(stderr, "kiosk: batch %s: %d key(s) staged this run; %d to do, %d staged, %d failed\n", end.Name, staged, end.PendingCount, end.RegisteredCount, end.FailedCount)
	for _, p := range manifest {
		fmt.Fprintln(stderr, "kiosk: manifest:", p)
	}
	if m.IdleStopped() {
		fmt.Fprintf(stderr, "kiosk: staging stopped after %s without anyone at it; start it again with the same flags to go on\n", cfg.Idle)
	}
	if err := m.ManifestErr(); err != nil {
		fmt.Fprintf(stderr, "kiosk: the manifest was not written: %v\n(get it with: tapctl staging export %s --format csv)\n", err, b.Name)
		return 1
	}
	return 0
}
