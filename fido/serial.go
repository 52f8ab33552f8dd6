package fido

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A key's serial number is not part of CTAP: getInfo has none, and
// libfido2's device manifest has none either. What a key does expose is
// the serial string of its USB descriptor, which Linux shows as HID_UNIQ in
// the hidraw device's uevent. Many keys leave it empty (a YubiKey does
// unless configured to show it); staging records it when it is there.

var (
	serialMu      sync.Mutex
	serialSources = map[string]func(path string) string{}
)

// RegisterSerialSource makes Serial ask f for keys whose path starts with
// prefix: the demo build's virtual keys, which have no sysfs entry.
func RegisterSerialSource(prefix string, f func(path string) string) {
	serialMu.Lock()
	defer serialMu.Unlock()
	serialSources[prefix] = f
}

// Serial is the key's serial number, or "" when it shows none.
func Serial(path string) string {
	serialMu.Lock()
	for prefix, f := range serialSources {
		if strings.HasPrefix(path, prefix) {
			serialMu.Unlock()
			return cleanSerial(f(path))
		}
	}
	serialMu.Unlock()
	if !strings.HasPrefix(path, "/dev/hidraw") {
		return ""
	}
	return cleanSerial(hidUniq(filepath.Join("/sys/class/hidraw", filepath.Base(path), "device", "uevent")))
}

// hidUniq reads HID_UNIQ from a uevent file.
func hidUniq(uevent string) string {
	f, err := os.Open(uevent)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "HID_UNIQ="); ok {
			return v
		}
	}
	return ""
}

// cleanSerial keeps a serial to printable ASCII without spaces at its
// ends: it comes from a USB descriptor, which anyone can program, and goes
// into a manifest, a letter and tapd's record.
func cleanSerial(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return ""
		}
	}
	return s
}
