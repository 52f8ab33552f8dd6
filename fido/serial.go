package fido

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// A key's serial number is not part of CTAP: getInfo has none, and
// libfido2's device manifest has none either. What a key does expose is
// the serial string of its USB descriptor, which Linux shows as HID_UNIQ in
// the hidraw device's uevent. Many keys leave it empty (a YubiKey does
// unless configured to show it); staging records it when it is there.

// Serial is the key's serial number, or "" when it shows none. Only
// hidraw keys have one here; a caller with other kinds of key (the demo's
// virtual ones) passes its own lookup where a serial is wanted.
func Serial(path string) string {
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
