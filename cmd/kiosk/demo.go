//go:build demo

package main

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey/hidroute"
)

// The demo build plugs in a virtual key, so the whole journey runs on a
// machine with no hardware, through the real libfido2. It only exists with
// -tags demo and only acts when --virtual-key is given.
type demoKey struct {
	state, control *string
	done           chan struct{}
}

func addDemoFlags(fs *flag.FlagSet) demoKey {
	return demoKey{
		state:   fs.String("virtual-key", "", "demo: plug in a virtual security key that keeps its PIN and passkeys in this file"),
		control: fs.String("virtual-key-control", "", "demo: a file to write plug, unplug, touch, hold, deny, never or auto to, to drive the virtual key"),
		done:    make(chan struct{}),
	}
}

func (d demoKey) start(log *slog.Logger) error {
	if *d.state == "" {
		return nil
	}
	ca, err := virtualkey.LoadOrCreateCA(filepath.Join(filepath.Dir(*d.state), "virtual-key-ca.pem"))
	if err != nil {
		return err
	}
	k, err := virtualkey.New(virtualkey.Options{StatePath: *d.state, CA: ca, TouchDelay: 1500 * time.Millisecond, UPTimeout: 60 * time.Second,
		Product: "tapkiosk virtual key"})
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
			}
		}
	}
}

func (d demoKey) stop() { close(d.done) }
