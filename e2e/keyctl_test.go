package e2e

import (
	"os"
	"strings"
	"time"
)

// keyApplied gives the demo kiosk's virtual key one command and waits
// until the kiosk's log says it took effect: the demo reads its control
// file on a 50 ms tick, which a busy machine stretches past any fixed
// pause, and a second command written before the first was read would
// replace it.
func (k *kioskRun) keyApplied(cmd string) {
	k.t.Helper()
	line := `"msg":"virtual key control applied","command":"` + cmd + `"`
	count := func() int { b, _ := os.ReadFile(k.log); return strings.Count(string(b), line) }
	before := count()
	k.key(cmd)
	for deadline := time.Now().Add(30 * time.Second); count() == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			k.t.Fatalf("the demo key never applied %q; the screen:\n%s", cmd, k.screen())
		}
	}
}
