package api

import "testing"

func TestMethodKind(t *testing.T) {
	for _, k := range []string{"phone", "fido2", "microsoftAuthenticator", "temporaryAccessPass"} {
		if got := MethodKind(MethodType(k)); got != k {
			t.Errorf("MethodKind(MethodType(%q)) = %q", k, got)
		}
	}
	for _, typ := range []string{"", "#microsoft.graph.AuthenticationMethod", "#microsoft.graph.user", "phoneAuthenticationMethod"} {
		if got := MethodKind(typ); got != "" {
			t.Errorf("MethodKind(%q) = %q, want none", typ, got)
		}
	}
}
