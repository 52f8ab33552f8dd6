package virtualkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// host is a minimal CTAPHID host for driving the key without libfido2,
// so tests can send what libfido2 never would.
type host struct {
	t   *testing.T
	c   *Conn
	cid uint32
}

func newHost(t *testing.T, k *Key) *host {
	t.Helper()
	c, err := k.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	h := &host{t: t, c: c}
	nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	h.sendRaw(broadcastCID, cmdInit, nonce)
	cmd, resp := h.recv(broadcastCID)
	if cmd != cmdInit || len(resp) != 17 || !bytes.Equal(resp[:8], nonce) || resp[16]&capCBOR == 0 {
		t.Fatalf("INIT reply %x %x", cmd, resp)
	}
	h.cid = binary.BigEndian.Uint32(resp[8:])
	return h
}

func (h *host) write(pkt []byte) {
	h.t.Helper()
	if _, err := h.c.Write(append([]byte{0}, pkt...)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) sendRaw(cid uint32, cmd byte, data []byte) {
	for _, pkt := range Frame(cid, cmd, data) {
		h.write(pkt)
	}
}

// recv reads one message for cid, skipping keepalives.
func (h *host) recv(cid uint32) (byte, []byte) {
	h.t.Helper()
	for {
		p, err := h.c.Read(5 * time.Second)
		if err != nil {
			h.t.Fatalf("read: %v", err)
		}
		if binary.BigEndian.Uint32(p) != cid {
			h.t.Fatalf("reply on channel %x, want %x", binary.BigEndian.Uint32(p), cid)
		}
		cmd := p[4] &^ 0x80
		if cmd == cmdKeepalive {
			continue
		}
		n := int(binary.BigEndian.Uint16(p[5:]))
		data := append([]byte{}, p[7:7+min(n, initDataLen)]...)
		for len(data) < n {
			q, err := h.c.Read(5 * time.Second)
			if err != nil {
				h.t.Fatal(err)
			}
			data = append(data, q[5:5+min(n-len(data), contDataLen)]...)
		}
		return cmd, data
	}
}

func (h *host) cbor(req []byte) []byte {
	h.t.Helper()
	h.sendRaw(h.cid, cmdCBOR, req)
	cmd, resp := h.recv(h.cid)
	if cmd != cmdCBOR {
		h.t.Fatalf("reply cmd %x %x", cmd, resp)
	}
	return resp
}

func newKey(t *testing.T, o Options) *Key {
	t.Helper()
	o.TouchDelay = 5 * time.Millisecond
	k, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCTAPHIDErrors(t *testing.T) {
	k := newKey(t, Options{})
	h := newHost(t, k)
	expectErr := func(cid uint32, code byte) {
		t.Helper()
		cmd, data := h.recv(cid)
		if cmd != cmdError || len(data) != 1 || data[0] != code {
			t.Fatalf("want ERROR %x, got cmd %x %x", code, cmd, data)
		}
	}
	// PING echoes, across several packets.
	big := bytes.Repeat([]byte{0xab}, 300)
	h.sendRaw(h.cid, cmdPing, big)
	if cmd, data := h.recv(h.cid); cmd != cmdPing || !bytes.Equal(data, big) {
		t.Fatal("ping")
	}
	// A channel the key never allocated.
	h.sendRaw(0x0badf00d, cmdPing, []byte{1})
	expectErr(0x0badf00d, hidErrInvalidChannel)
	// Channel 0, and a non-INIT command on broadcast.
	h.sendRaw(0, cmdPing, []byte{1})
	expectErr(0, hidErrInvalidChannel)
	h.sendRaw(broadcastCID, cmdPing, []byte{1})
	expectErr(broadcastCID, hidErrInvalidChannel)
	// INIT with a wrong nonce length.
	h.sendRaw(broadcastCID, cmdInit, []byte{1, 2, 3})
	expectErr(broadcastCID, hidErrInvalidLen)
	// Oversized message.
	pkt := make([]byte, ReportLen)
	binary.BigEndian.PutUint32(pkt, h.cid)
	pkt[4] = cmdPing | 0x80
	binary.BigEndian.PutUint16(pkt[5:], maxMessage+1)
	h.write(pkt)
	expectErr(h.cid, hidErrInvalidLen)
	// A bad sequence number.
	binary.BigEndian.PutUint16(pkt[5:], 200)
	h.write(pkt)
	cont := make([]byte, ReportLen)
	binary.BigEndian.PutUint32(cont, h.cid)
	cont[4] = 5 // should be 0
	h.write(cont)
	expectErr(h.cid, hidErrInvalidSeq)
	// Another channel talking mid-message gets CHANNEL_BUSY.
	other := newHost(t, k)
	h.write(pkt) // start a 200-byte message on h's channel, on h's conn
	h.sendRaw(other.cid, cmdPing, []byte{1})
	expectErr(other.cid, hidErrChannelBusy)
	// Unknown command and U2F MSG.
	h.sendRaw(h.cid, cmdInit, []byte{9, 9, 9, 9, 9, 9, 9, 9}) // resync
	h.recv(h.cid)
	h.sendRaw(h.cid, 0x33, []byte{1})
	expectErr(h.cid, hidErrInvalidCmd)
	h.sendRaw(h.cid, cmdMsg, []byte{0, 3, 0, 0})
	expectErr(h.cid, hidErrInvalidCmd)
	// Writes of the wrong size are refused outright.
	if _, err := h.c.Write(make([]byte, 64)); err == nil {
		t.Fatal("64-byte write accepted")
	}
}

func TestCBORErrors(t *testing.T) {
	k := newKey(t, Options{})
	h := newHost(t, k)
	cases := map[string]struct {
		req  []byte
		want byte
	}{
		"unknown command":      {[]byte{0x55}, ctap1ErrInvalidCommand},
		"truncated":            {[]byte{cmdMakeCredential, 0xa4, 0x01, 0x58, 0x20, 1, 2}, ctap2ErrInvalidCBOR},
		"unsorted map":         {[]byte{cmdClientPIN, 0xa2, 0x02, 0x01, 0x01, 0x01}, ctap2ErrInvalidCBOR},
		"duplicate key":        {[]byte{cmdClientPIN, 0xa2, 0x01, 0x01, 0x01, 0x01}, ctap2ErrInvalidCBOR},
		"non-minimal integer":  {[]byte{cmdClientPIN, 0xa1, 0x18, 0x02, 0x01}, ctap2ErrInvalidCBOR},
		"not a map":            {[]byte{cmdMakeCredential, 0x83, 1, 2, 3}, ctap2ErrCBORUnexpectedType},
		"wrong type":           {[]byte{cmdClientPIN, 0xa1, 0x02, 0x61, 'x'}, ctap2ErrCBORUnexpectedType},
		"missing parameters":   {[]byte{cmdMakeCredential, 0xa1, 0x01, 0x41, 0x00}, ctap2ErrMissingParameter},
		"indefinite length":    {[]byte{cmdClientPIN, 0xbf, 0x02, 0x01, 0xff}, ctap2ErrInvalidCBOR},
		"no subcommand":        {[]byte{cmdClientPIN, 0xa1, 0x01, 0x01}, ctap2ErrMissingParameter},
		"unknown subcommand":   {[]byte{cmdClientPIN, 0xa2, 0x01, 0x01, 0x02, 0x18, 0x20}, ctap2ErrInvalidSubcommand},
		"getAssertion nothing": {mustEnc(t, cmdGetAssertion, map[int]any{1: "example.com", 2: make([]byte, 32)}), ctap2ErrNoCredentials},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if resp := h.cbor(c.req); len(resp) == 0 || resp[0] != c.want {
				t.Fatalf("want status %x, got %x", c.want, resp)
			}
		})
	}
	// An empty CBOR message is a CTAPHID length error.
	h.sendRaw(h.cid, cmdCBOR, nil)
	if cmd, data := h.recv(h.cid); cmd != cmdError || data[0] != hidErrInvalidLen {
		t.Fatalf("empty CBOR: %x %x", cmd, data)
	}
}

func mustEnc(t *testing.T, cmd byte, v any) []byte {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{cmd}, b...)
}

func makeCredReq(t *testing.T, user string, rk bool, exclude [][]byte) []byte {
	req := map[int]any{
		1: make([]byte, 32),
		2: map[string]any{"id": "example.com"},
		3: map[string]any{"id": []byte(user), "name": user},
		4: []map[string]any{{"alg": -7, "type": "public-key"}},
		7: map[string]bool{"rk": rk},
	}
	if exclude != nil {
		var l []map[string]any
		for _, id := range exclude {
			l = append(l, map[string]any{"id": id, "type": "public-key"})
		}
		req[5] = l
	}
	return mustEnc(t, cmdMakeCredential, req)
}

func TestExcludeList(t *testing.T) {
	k := newKey(t, Options{})
	h := newHost(t, k)
	resp := h.cbor(makeCredReq(t, "ada", true, nil))
	if resp[0] != ctap1Success {
		t.Fatalf("make: %x", resp[0])
	}
	var out struct {
		AuthData []byte `cbor:"2,keyasint"`
	}
	if err := decMode.Unmarshal(resp[1:], &out); err != nil {
		t.Fatal(err)
	}
	idLen := binary.BigEndian.Uint16(out.AuthData[53:55])
	credID := out.AuthData[55 : 55+idLen]
	if resp := h.cbor(makeCredReq(t, "ada", true, [][]byte{{1, 2, 3}, credID})); resp[0] != ctap2ErrCredentialExcluded {
		t.Fatalf("want CREDENTIAL_EXCLUDED, got %x", resp[0])
	}
	if resp := h.cbor(makeCredReq(t, "bob", true, [][]byte{{1, 2, 3}})); resp[0] != ctap1Success {
		t.Fatalf("unrelated exclude list: %x", resp[0])
	}
}

func TestPresenceModes(t *testing.T) {
	k := newKey(t, Options{UPTimeout: 100 * time.Millisecond})
	h := newHost(t, k)
	k.SetPresence(TouchNever)
	if resp := h.cbor(mustEnc(t, cmdSelection, map[int]any{})[:1]); resp[0] != ctap2ErrUserActionTimeout {
		t.Fatalf("never: %x", resp)
	}
	k.SetPresence(TouchDeny)
	if resp := h.cbor([]byte{cmdSelection}); resp[0] != ctap2ErrOperationDenied {
		t.Fatalf("deny: %x", resp)
	}
	k.SetPresence(TouchHold)
	go func() {
		for !k.Waiting() {
			time.Sleep(time.Millisecond)
		}
		k.Touch()
	}()
	if resp := h.cbor([]byte{cmdSelection}); resp[0] != ctap1Success {
		t.Fatalf("hold+touch: %x", resp)
	}
	// CANCEL while waiting gives KEEPALIVE_CANCEL.
	go func() {
		for !k.Waiting() {
			time.Sleep(time.Millisecond)
		}
		h.sendRaw(h.cid, cmdCancel, nil)
	}()
	if resp := h.cbor([]byte{cmdSelection}); resp[0] != ctap2ErrKeepaliveCancel {
		t.Fatalf("cancel: %x", resp)
	}
}

func TestStatePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.json")
	k := newKey(t, Options{StatePath: path})
	h := newHost(t, k)
	if resp := h.cbor(makeCredReq(t, "ada", true, nil)); resp[0] != ctap1Success {
		t.Fatal(resp[0])
	}
	k2 := newKey(t, Options{StatePath: path})
	if len(k2.st.Creds) != 1 || k2.st.Creds[0].RPID != "example.com" {
		t.Fatalf("state not reloaded: %+v", k2.st)
	}
	h2 := newHost(t, k2)
	resp := h2.cbor(mustEnc(t, cmdGetAssertion, map[int]any{1: "example.com", 2: make([]byte, 32)}))
	if resp[0] != ctap1Success {
		t.Fatalf("assertion from reloaded key: %x", resp[0])
	}
	if _, err := New(Options{StatePath: filepath.Join(t.TempDir(), "x"), Attestation: "tpm"}); err == nil {
		t.Fatal("unknown attestation accepted")
	}
}

func TestUnplugFailsIO(t *testing.T) {
	k := newKey(t, Options{})
	h := newHost(t, k)
	k.SetPresence(TouchHold)
	h.sendRaw(h.cid, cmdCBOR, []byte{cmdSelection})
	for !k.Waiting() {
		time.Sleep(time.Millisecond)
	}
	k.Unplug()
	for {
		if _, err := h.c.Read(time.Second); err == ErrUnplugged {
			break
		} else if err != nil {
			t.Fatalf("read after unplug: %v", err)
		}
	}
	if _, err := h.c.Write(make([]byte, 65)); err != ErrUnplugged {
		t.Fatalf("write after unplug: %v", err)
	}
	if _, err := k.Open(); err != ErrUnplugged {
		t.Fatalf("open after unplug: %v", err)
	}
	k.Plug()
	newHost(t, k) // works again
}

// FuzzPackets throws arbitrary packets at the key. It must never panic or
// hang, and must keep answering a well-formed PING afterwards.
func FuzzPackets(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x86, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x01, 0x00, 0x00, 0x01, 0x90, 0x00, 0x05, 0x01, 0xa1, 0x01, 0x58})
	f.Add([]byte{0x01, 0x00, 0x00, 0x01, 0x00, 0x00})
	f.Add(bytes.Repeat([]byte{0x90}, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := New(Options{TouchDelay: time.Millisecond, UPTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		h := newHost(t, k)
		for len(data) > 0 {
			pkt := make([]byte, ReportLen)
			n := copy(pkt, data)
			data = data[n:]
			// Aim most packets at the live channel so they get past the
			// channel check.
			if pkt[0]&1 == 1 {
				binary.BigEndian.PutUint32(pkt, h.cid)
			}
			h.c.Write(append([]byte{0}, pkt...))
		}
		// Drain, then check the key still works.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for k.busy() {
			if ctx.Err() != nil {
				t.Fatal("key stuck busy")
			}
			time.Sleep(time.Millisecond)
		}
		for {
			if _, err := h.c.Read(10 * time.Millisecond); err != nil {
				break
			}
		}
		h.sendRaw(h.cid, cmdInit, []byte{1, 1, 1, 1, 1, 1, 1, 1})
		h.recv(h.cid)
		h.sendRaw(h.cid, cmdPing, []byte("ok"))
		if cmd, d := h.recv(h.cid); cmd != cmdPing || string(d) != "ok" {
			t.Fatalf("key broken after fuzz input: %x %q", cmd, d)
		}
	})
}

// FuzzCBOR feeds arbitrary CTAP2 requests straight to the command handler.
func FuzzCBOR(f *testing.F) {
	f.Add([]byte{cmdGetInfo})
	f.Add([]byte{cmdClientPIN, 0xa2, 0x01, 0x02, 0x02, 0x02})
	f.Add([]byte{cmdMakeCredential, 0xa4, 0x01, 0x58, 0x20})
	f.Add([]byte{cmdCredMgmt, 0xa1, 0x01, 0x01})
	// getAssertion with an hmac-secret input of the right shape.
	ga, _ := encMode.Marshal(map[int]any{1: "example.com", 2: make([]byte, 32), 4: map[string]any{"hmac-secret": map[int]any{
		1: map[int]any{1: 2, 3: -25, -1: 1, -2: make([]byte, 32), -3: make([]byte, 32)}, 2: make([]byte, 48), 3: make([]byte, 32), 4: 2}}})
	f.Add(append([]byte{cmdGetAssertion}, ga...))
	f.Fuzz(func(t *testing.T, req []byte) {
		if len(req) == 0 {
			return
		}
		k, err := New(Options{TouchDelay: time.Millisecond, UPTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		resp := k.handleCBOR(context.Background(), req, func(byte) {})
		if len(resp) == 0 {
			t.Fatal("empty response")
		}
		if resp[0] == ctap1Success && len(resp) > 1 {
			var v any
			if err := decMode.Unmarshal(resp[1:], &v); err != nil {
				t.Fatalf("key sent malformed CBOR: %v", err)
			}
		}
	})
}

func TestRPIDHash(t *testing.T) {
	k := newKey(t, Options{})
	ad := k.authData("example.com", flagUP)
	h := sha256.Sum256([]byte("example.com"))
	if !bytes.Equal(ad[:32], h[:]) || ad[32] != flagUP || len(ad) != 37 {
		t.Fatalf("%x", ad)
	}
}

// TestReadAfterUnplug: once the key is pulled, a read fails even when a
// reply was queued (the answer to the touch wait that Unplug cancels is
// pushed after the handle is gone). A pulled key's reads fail at once,
// as on Linux; handing over that late reply made libfido2 see "cancelled"
// instead of a removed key, now and then.
func TestReadAfterUnplug(t *testing.T) {
	k := newKey(t, Options{})
	for i := 0; i < 50; i++ {
		c, err := k.Open()
		if err != nil {
			t.Fatal(err)
		}
		k.Unplug()
		c.out <- make([]byte, ReportLen) // the late reply
		if p, err := c.Read(time.Second); !errors.Is(err, ErrUnplugged) {
			t.Fatalf("read %d after unplug: %x %v", i, p, err)
		}
		k.Plug()
	}
}

// TestUnplugEndsWhatTheKeyWasDoing: pulling the key is a power loss, so a
// request after the replug finds it idle even while the handler of the
// request cut off has not yet unwound. Before, the key stayed busy until
// that handler ran its end, and libfido2, whose getInfo at open got
// CTAP1_ERR_CHANNEL_BUSY, took the key for U2F-only (a staging test
// failed so under load: "unsupported key: u2fOnly" after a replug).
func TestUnplugEndsWhatTheKeyWasDoing(t *testing.T) {
	k := newKey(t, Options{})
	old := k.allocCID()
	ctx, ok := k.begin(old) // a request waiting for a touch
	if !ok {
		t.Fatal("an idle key is busy")
	}
	k.Unplug()
	if ctx.Err() == nil {
		t.Fatal("the request cut off by the unplug goes on")
	}
	k.Plug()
	if _, ok := k.begin(k.allocCID()); !ok {
		t.Fatal("after a replug the key is still busy with a request the unplug ended")
	}
	k.end(old) // the old handler unwinds late: it must not end the new request
	if _, ok := k.begin(k.allocCID()); ok {
		t.Fatal("the old request's late end ended the new one")
	}
}
