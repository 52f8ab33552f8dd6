//go:build !demo

package main

import (
	"flag"
	"log/slog"
	"time"

	"github.com/tapkiosk/tapkiosk/fido"
)

// A release build has no virtual key: these are no-ops.
type demoKey struct{}

func addDemoFlags(*flag.FlagSet) demoKey  { return demoKey{} }
func (demoKey) start(*slog.Logger) error  { return nil }
func (demoKey) stop()                     {}
func (demoKey) serial(path string) string { return fido.Serial(path) }
func (demoKey) now() func() time.Time     { return nil }
