package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

// TestMethodWithoutADate: Entra gives no creation date for phones, email
// and OATH apps; the kiosk must not say "added 0001-01-01".
func TestMethodWithoutADate(t *testing.T) {
	m, err := New(Config{Org: "Contoso", Theme: "plain"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	phone := api.AuthenticationMethod{Type: api.MethodType("phone"), ID: "p", DisplayName: "+46 •• ••• •• 67"}
	for _, s := range []string{m.methodLabel(phone), m.methodFacts(phone)} {
		if strings.Contains(s, "0001") || strings.Contains(s, "added") {
			t.Errorf("%q shows a date Graph never gave", s)
		}
	}
	phone.CreatedDateTime = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if !strings.Contains(m.methodLabel(phone), "added 2025-03-01") {
		t.Errorf("a known date is left out: %q", m.methodLabel(phone))
	}
}
