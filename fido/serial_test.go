package fido

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSerial(t *testing.T) {
	dir := t.TempDir()
	ue := filepath.Join(dir, "uevent")
	os.WriteFile(ue, []byte("DRIVER=hid-generic\nHID_ID=0003:00001050:00000407\nHID_NAME=Yubico YubiKey OTP+FIDO+CCID\nHID_PHYS=usb-0000:00:14.0-1/input1\nHID_UNIQ=CC1234567\nMODALIAS=hid:b0003g0001v00001050p00000407\n"), 0o600)
	if got := hidUniq(ue); got != "CC1234567" {
		t.Fatalf("hidUniq = %q", got)
	}
	if got := hidUniq(filepath.Join(dir, "missing")); got != "" {
		t.Fatalf("missing uevent gave %q", got)
	}
	for in, want := range map[string]string{" 123 ": "123", "a\x1b[2Jb": "", "with space": "", "": ""} {
		if got := cleanSerial(in); got != want {
			t.Errorf("cleanSerial(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Serial("virtual:7"); got != "" {
		t.Fatalf("a key that is not hidraw gave %q", got)
	}
	if got := Serial("/dev/hidraw999"); got != "" {
		t.Fatalf("a hidraw without sysfs gave %q", got)
	}
}
