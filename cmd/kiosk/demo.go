//go:build demo

package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// The demo build plugs in a virtual key, so the whole journey runs on a
// machine with no hardware, through the real libfido2. It only exists with
// -tags demo and only acts when --virtual-key is given.
type demoKey struct {
	state, control, model *string
	done                  chan struct{}
	// current is the plugged-in key's state file, and fresh counts the
	// keys "fresh" made. A key's serial number (as a real key's USB
	// descriptor may give one) comes from its state file's name, so it
	// stays the same when the kiosk restarts with that file.
	current *atomic.Value
	fresh   *atomic.Int64
	// bio: "bio" on the control file made the key a fingerprint key;
	// keys made after (fresh) are too.
	bio *atomic.Bool
	// stillClock (--demo-still-clock) stops the kiosk's clock at start;
	// later=D on the control file moves it on by D (moved). A test of
	// the admin exit's waits then moves time itself, so a slow machine
	// cannot let a wait run out before the test has read the screen.
	stillClock *bool
	started    time.Time
	moved      *atomic.Int64
}

func addDemoFlags(fs *flag.FlagSet) demoKey {
	return demoKey{
		state: fs.String("virtual-key", "", "demo: plug in a virtual security key that keeps its PIN and passkeys in this file"),
		control: fs.String("virtual-key-control", "", "demo: a file to write plug, unplug, fresh (another, empty key), touch, hold, deny, never, auto, forcepin (the key then wants its PIN changed), "+
			"bio (it becomes a fingerprint key) or samples=poor,timeout,good,... (what its sensor makes of the next touches) to, to drive the virtual key"),
		model: fs.String("virtual-key-model", "", "demo: what the virtual key can do, comma-separated: slots=N (discoverable passkey slots, default 25; "+
			"a key whose state file holds N passkeys is full), no-credmgmt (it cannot list or remove its passkeys), bio (it has a fingerprint sensor)"),
		stillClock: fs.Bool("demo-still-clock", false, "demo: the kiosk's clock stands still from start, and later=DURATION (e.g. later=2s) on --virtual-key-control moves it on"),
		done:       make(chan struct{}),
		current:    new(atomic.Value),
		fresh:      new(atomic.Int64),
		bio:        new(atomic.Bool),
		started:    time.Now(),
		moved:      new(atomic.Int64),
	}
}

// now is the kiosk's clock: nil (the wall clock) unless --demo-still-clock.
func (d demoKey) now() func() time.Time {
	if !*d.stillClock {
		return nil
	}
	return func() time.Time { return d.started.Add(time.Duration(d.moved.Load())) }
}

func (d demoKey) start(log *slog.Logger) error {
	if *d.state == "" {
		return nil
	}
	d.current.Store(*d.state)
	if err := demoModel(*d.model, &virtualkey.Options{}); err != nil {
		return err
	}
	k, err := d.newKey(*d.state)
	if err != nil {
		return err
	}
	hidroute.Plug("demo", k)
	log.Info("virtual key plugged in", "path", hidroute.Prefix+"demo", "state", *d.state)
	if *d.control != "" {
		go d.watch(k, log)
	}
	return nil
}

// serial is the staging kiosk's serial lookup: the virtual key's comes
// from its state file's name, any other key's as fido.Serial reads it.
func (d demoKey) serial(path string) string {
	if !strings.HasPrefix(path, hidroute.Prefix) || d.current.Load() == nil {
		return fido.Serial(path)
	}
	sum := sha256.Sum256([]byte(filepath.Base(d.current.Load().(string))))
	return fmt.Sprintf("VK%X", sum[:4])
}

func (d demoKey) newKey(state string) (*virtualkey.Key, error) {
	ca, err := virtualkey.LoadOrCreateCA(filepath.Join(filepath.Dir(*d.state), "virtual-key-ca.pem"))
	if err != nil {
		return nil, err
	}
	opts := virtualkey.Options{StatePath: state, CA: ca, TouchDelay: 1500 * time.Millisecond, UPTimeout: 60 * time.Second,
		Product: "tapkiosk virtual key"}
	if err := demoModel(*d.model, &opts); err != nil {
		return nil, err
	}
	opts.Bio = opts.Bio || d.bio.Load()
	return virtualkey.New(opts)
}

// watch polls the control file so a test (or a curious newcomer in another
// terminal) can pull the key out or change how it answers a touch.
func (d demoKey) watch(k *virtualkey.Key, log *slog.Logger) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-t.C:
		}
		b, err := os.ReadFile(*d.control)
		if err != nil || len(b) == 0 {
			continue
		}
		os.WriteFile(*d.control, nil, 0o600)
		for _, cmd := range strings.Fields(string(b)) {
			log.Info("virtual key control", "command", cmd)
			switch cmd {
			case "unplug":
				hidroute.Unplug("demo")
			case "plug":
				hidroute.Plug("demo", k)
			case "fresh":
				// Another, empty key (staging a batch takes one per
				// person); its state sits beside the first one's.
				state := nextFreshState(*d.state, d.fresh)
				nk, err := d.newKey(state)
				if err != nil {
					log.Error("virtual key control", "command", cmd, "err", err)
					continue
				}
				// The old key out, and the new one in a moment later, as
				// hands swap them: a kiosk that waits for a key to leave
				// sees it leave.
				hidroute.Unplug("demo")
				time.Sleep(time.Second)
				d.current.Store(state)
				k = nk
				hidroute.Plug("demo", k)
			case "touch":
				k.Touch()
			case "hold":
				k.SetPresence(virtualkey.TouchHold)
			case "deny":
				k.SetPresence(virtualkey.TouchDeny)
			case "never":
				k.SetPresence(virtualkey.TouchNever)
			case "auto":
				k.SetPresence(virtualkey.TouchAuto)
			case "forcepin":
				k.ForcePINChange()
			case "bio":
				// The same key (its state file) with a fingerprint
				// sensor: pulled and plugged back in as one.
				d.bio.Store(true)
				nk, err := d.newKey(d.current.Load().(string))
				if err != nil {
					log.Error("virtual key control", "command", cmd, "err", err)
					continue
				}
				hidroute.Unplug("demo")
				k = nk
				hidroute.Plug("demo", k)
			default:
				if later, ok := strings.CutPrefix(cmd, "later="); ok {
					by, err := time.ParseDuration(later)
					if err != nil || by < 0 {
						log.Error("virtual key control: later= wants a duration to move the clock on by", "command", cmd)
						continue
					}
					total := time.Duration(d.moved.Add(int64(by)))
					log.Info("demo clock moved on", "by", later, "since_start", total.String())
				}
				if script, ok := strings.CutPrefix(cmd, "samples="); ok {
					s, err := virtualkey.ParseSamples(script)
					if err != nil {
						log.Error("virtual key control", "command", cmd, "err", err)
						continue
					}
					k.QueueSamples(s...)
				}
			}
		}
	}
}

func (d demoKey) stop() { close(d.done) }

// demoModel applies --virtual-key-model, so a journey that needs an
// unusual key (a full one, one without credential management) can be
// shown and tested through the real binary.
func demoModel(spec string, o *virtualkey.Options) error {
	for _, f := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' }) {
		name, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch name {
		case "slots":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return fmt.Errorf("--virtual-key-model: slots=%q must be a number of at least 1", val)
			}
			o.MaxResident = n
		case "no-credmgmt":
			o.NoCredMgmt = true
		case "bio":
			o.Bio = true
		default:
			return fmt.Errorf("--virtual-key-model: %q is not slots=N, no-credmgmt or bio", f)
		}
	}
	return nil
}
