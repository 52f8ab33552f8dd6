// Package hidroute lets real libfido2 talk to virtual keys: it lists them
// in libfido2's device manifest as "virtual:NAME" and carries libfido2's
// HID reads and writes to them (see route.c). Link it only into tests and
// the demo build; a release kiosk never imports it.
package hidroute

/*
#cgo LDFLAGS: -lfido2 -ldl
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// Prefix marks virtual device paths.
const Prefix = "virtual:"

var (
	mu      sync.Mutex
	keys    = map[string]*virtualkey.Key{}
	present = map[string]bool{}
	handles = map[uintptr]*virtualkey.Conn{}
	next    uintptr
)

// Plug makes the key visible to libfido2 as virtual:NAME and returns that
// path. Plugging a name again replaces the key.
func Plug(name string, k *virtualkey.Key) string {
	mu.Lock()
	defer mu.Unlock()
	keys[name] = k
	present[name] = true
	if k.Unplugged() {
		k.Plug()
	}
	return Prefix + name
}

// Unplug pulls the key out: it leaves the manifest and its open handles
// fail, as when a person pulls a USB key.
func Unplug(name string) {
	mu.Lock()
	k := keys[name]
	delete(present, name)
	mu.Unlock()
	if k != nil {
		k.Unplug()
	}
}

// Replug pulls the key out and puts it back, a power cycle: what a person
// does when the key says too many wrong PINs were tried since it was
// plugged in (CTAP2_ERR_PIN_AUTH_BLOCKED).
func Replug(name string) {
	mu.Lock()
	k := keys[name]
	mu.Unlock()
	if k == nil {
		return
	}
	Unplug(name)
	Plug(name, k)
}

// UnplugLagging pulls the key out as Linux shows it: its open handles fail
// at once, but its hidraw node (its manifest entry) goes only after lag.
func UnplugLagging(name string, lag time.Duration) {
	mu.Lock()
	k := keys[name]
	mu.Unlock()
	if k == nil {
		return
	}
	k.Unplug()
	time.AfterFunc(lag, func() {
		mu.Lock()
		defer mu.Unlock()
		if keys[name] == k {
			delete(present, name)
		}
	})
}

// Glitch breaks the key's open handles without unplugging it, as a key
// that resets itself mid-command: I/O fails but the key stays listed.
func Glitch(name string) {
	mu.Lock()
	k := keys[name]
	mu.Unlock()
	if k != nil {
		k.Unplug()
		k.Plug()
	}
}

// Remove forgets a key entirely.
func Remove(name string) {
	Unplug(name)
	mu.Lock()
	delete(keys, name)
	mu.Unlock()
}

func plugged() []string {
	var names []string
	for n := range present {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

//export tkVirtCount
func tkVirtCount() C.size_t {
	mu.Lock()
	defer mu.Unlock()
	return C.size_t(len(present))
}

func putString(dst *C.char, n C.size_t, s string) bool {
	if n == 0 || len(s)+1 > int(n) {
		return false
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(dst)), int(n))
	copy(b, s)
	b[len(s)] = 0
	return true
}

//export tkVirtEntry
func tkVirtEntry(i C.size_t, path *C.char, pathLen C.size_t, product *C.char, productLen C.size_t, maker *C.char, makerLen C.size_t) C.int {
	mu.Lock()
	defer mu.Unlock()
	names := plugged()
	if int(i) >= len(names) {
		return 0
	}
	o := keys[names[i]].Options()
	if !putString(path, pathLen, Prefix+names[i]) || !putString(product, productLen, o.Product) || !putString(maker, makerLen, o.Manufacturer) {
		return 0
	}
	return 1
}

//export tkVirtOpen
func tkVirtOpen(path *C.char) C.uintptr_t {
	name := strings.TrimPrefix(C.GoString(path), Prefix)
	mu.Lock()
	k, ok := keys[name]
	up := present[name]
	mu.Unlock()
	if !ok || !up {
		return 0
	}
	c, err := k.Open()
	if err != nil {
		return 0
	}
	mu.Lock()
	defer mu.Unlock()
	next++
	handles[next] = c
	return C.uintptr_t(next)
}

func conn(h C.uintptr_t) *virtualkey.Conn {
	mu.Lock()
	defer mu.Unlock()
	return handles[uintptr(h)]
}

//export tkVirtClose
func tkVirtClose(h C.uintptr_t) {
	mu.Lock()
	c := handles[uintptr(h)]
	delete(handles, uintptr(h))
	mu.Unlock()
	if c != nil {
		c.Close()
	}
}

//export tkVirtRead
func tkVirtRead(h C.uintptr_t, buf *C.uchar, n C.size_t, ms C.int) C.int {
	c := conn(h)
	if c == nil || n < virtualkey.ReportLen {
		return -1
	}
	timeout := time.Duration(ms) * time.Millisecond
	if ms < 0 {
		timeout = -1
	}
	p, err := c.Read(timeout)
	if err != nil {
		return -1
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n)), p)
	return C.int(len(p))
}

//export tkVirtWrite
func tkVirtWrite(h C.uintptr_t, buf *C.uchar, n C.size_t) C.int {
	c := conn(h)
	if c == nil {
		return -1
	}
	p := C.GoBytes(unsafe.Pointer(buf), C.int(n))
	w, err := c.Write(p)
	if err != nil {
		return -1
	}
	return C.int(w)
}

var testSeq atomic.Int64

// PlugNew makes a virtual key for a test, plugs it in under a fresh name,
// and removes it when the test ends.
func PlugNew(t testing.TB, opts virtualkey.Options) (string, *virtualkey.Key) {
	t.Helper()
	k, err := virtualkey.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("test%d", testSeq.Add(1))
	path := Plug(name, k)
	t.Cleanup(func() { Remove(name) })
	return path, k
}
