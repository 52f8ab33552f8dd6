package virtualkey

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// CTAPHID framing (CTAP 2.1 §11.2): 64-byte reports; an initialisation
// packet carries CID, command (high bit set), a 16-bit length and 57 bytes;
// continuation packets carry CID, a sequence number and 59 bytes.
const (
	ReportLen    = 64
	initDataLen  = ReportLen - 7
	contDataLen  = ReportLen - 5
	maxMessage   = initDataLen + 128*contDataLen // 7609
	broadcastCID = 0xffffffff

	cmdPing      = 0x01
	cmdMsg       = 0x03
	cmdLock      = 0x04
	cmdInit      = 0x06
	cmdWink      = 0x08
	cmdCBOR      = 0x10
	cmdCancel    = 0x11
	cmdKeepalive = 0x3b
	cmdError     = 0x3f

	hidErrInvalidCmd     = 0x01
	hidErrInvalidPar     = 0x02
	hidErrInvalidLen     = 0x03
	hidErrInvalidSeq     = 0x04
	hidErrChannelBusy    = 0x06
	hidErrInvalidChannel = 0x0b

	keepaliveProcessing = 0x01
	keepaliveUPNeeded   = 0x02

	capWink = 0x01
	capCBOR = 0x04
	capNMSG = 0x08
)

// ErrUnplugged is returned by I/O on a key that has been pulled out.
var ErrUnplugged = errors.New("virtual key unplugged")

// Conn is one open HID handle on the key, as libfido2's io.open returns for
// /dev/hidrawN. It is safe for one reader and concurrent writers: libfido2
// writes CANCEL from another thread while a read blocks.
type Conn struct {
	key  *Key
	out  chan []byte
	gone chan struct{}

	mu  sync.Mutex
	asm *assembly
}

type assembly struct {
	cid     uint32
	cmd     byte
	total   int
	data    []byte
	nextSeq byte
}

// Open returns a new HID connection to the key.
func (k *Key) Open() (*Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.unplugged {
		return nil, ErrUnplugged
	}
	c := &Conn{key: k, out: make(chan []byte, 512), gone: make(chan struct{})}
	k.conns[c] = true
	return c, nil
}

// Close releases the connection.
func (c *Conn) Close() {
	c.key.mu.Lock()
	defer c.key.mu.Unlock()
	if c.key.conns[c] {
		delete(c.key.conns, c)
		close(c.gone)
	}
}

// Read waits up to timeout (forever if negative) for the next 64-byte report.
func (c *Conn) Read(timeout time.Duration) ([]byte, error) {
	var tc <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case p := <-c.out:
		// A pulled key answers nothing more, even a reply queued as it
		// went (select picks at random when both are ready).
		select {
		case <-c.gone:
			return nil, ErrUnplugged
		default:
		}
		return p, nil
	case <-c.gone:
		return nil, ErrUnplugged
	case <-tc:
		return nil, errTimeout
	}
}

var errTimeout = errors.New("read timeout")

// Write takes one HID output report: a report id (0) and 64 bytes, as
// libfido2 writes them. Malformed traffic is answered with CTAPHID errors,
// never a crash.
func (c *Conn) Write(report []byte) (int, error) {
	select {
	case <-c.gone:
		return 0, ErrUnplugged
	default:
	}
	if len(report) != ReportLen+1 || report[0] != 0 {
		return 0, errors.New("virtual key: write must be 65 bytes, report id 0 first")
	}
	c.packet(report[1:])
	return len(report), nil
}

// Frame splits a CTAPHID message into 64-byte packets: one initialisation
// packet, then continuation packets numbered from 0.
func Frame(cid uint32, cmd byte, data []byte) [][]byte {
	pkt := make([]byte, ReportLen)
	binary.BigEndian.PutUint32(pkt, cid)
	pkt[4] = cmd | 0x80
	binary.BigEndian.PutUint16(pkt[5:], uint16(len(data)))
	n := copy(pkt[7:], data)
	out := [][]byte{pkt}
	data = data[n:]
	for seq := byte(0); len(data) > 0; seq++ {
		pkt := make([]byte, ReportLen)
		binary.BigEndian.PutUint32(pkt, cid)
		pkt[4] = seq
		n := copy(pkt[5:], data)
		data = data[n:]
		out = append(out, pkt)
	}
	return out
}

func (c *Conn) send(cid uint32, cmd byte, data []byte) {
	for _, pkt := range Frame(cid, cmd, data) {
		c.push(pkt)
	}
}

func (c *Conn) push(pkt []byte) {
	select {
	case c.out <- pkt:
	case <-c.gone:
	}
}

func (c *Conn) sendError(cid uint32, code byte) { c.send(cid, cmdError, []byte{code}) }

// packet handles one 64-byte packet from the host.
func (c *Conn) packet(p []byte) {
	cid := binary.BigEndian.Uint32(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p[4]&0x80 == 0 { // continuation
		a := c.asm
		if a == nil || a.cid != cid {
			return // spurious continuation: ignored, as the spec says
		}
		if p[4] != a.nextSeq {
			c.asm = nil
			c.sendError(cid, hidErrInvalidSeq)
			return
		}
		a.nextSeq++
		a.data = append(a.data, p[5:5+min(contDataLen, a.total-len(a.data))]...)
		if len(a.data) == a.total {
			c.asm = nil
			c.dispatch(a.cid, a.cmd, a.data)
		}
		return
	}
	cmd := p[4] & 0x7f
	total := int(binary.BigEndian.Uint16(p[5:]))
	if cid == 0 || (cid == broadcastCID && cmd != cmdInit) || (cid != broadcastCID && !c.key.knownCID(cid)) {
		c.sendError(cid, hidErrInvalidChannel)
		return
	}
	if c.asm != nil {
		if c.asm.cid != cid {
			c.sendError(cid, hidErrChannelBusy)
			return
		}
		if cmd != cmdInit {
			c.asm = nil
			c.sendError(cid, hidErrInvalidSeq)
			return
		}
		c.asm = nil // INIT resynchronises the channel
	}
	if total > maxMessage {
		c.sendError(cid, hidErrInvalidLen)
		return
	}
	a := &assembly{cid: cid, cmd: cmd, total: total}
	a.data = append(a.data, p[7:7+min(initDataLen, total)]...)
	if len(a.data) == total {
		c.dispatch(cid, cmd, a.data)
		return
	}
	c.asm = a
}

// dispatch runs a complete CTAPHID message. It is called with c.mu held,
// so long work (anything waiting for a touch) goes to a goroutine.
func (c *Conn) dispatch(cid uint32, cmd byte, data []byte) {
	k := c.key
	switch cmd {
	case cmdInit:
		if len(data) != 8 {
			c.sendError(cid, hidErrInvalidLen)
			return
		}
		newCID := cid
		if cid == broadcastCID {
			newCID = k.allocCID()
		} else {
			k.cancelOn(cid)
		}
		resp := make([]byte, 17)
		copy(resp, data)
		binary.BigEndian.PutUint32(resp[8:], newCID)
		resp[12] = 2 // CTAPHID protocol version
		resp[13], resp[14], resp[15] = 1, 2, 0
		resp[16] = capWink | capNMSG
		if !k.opts.U2FOnly {
			resp[16] |= capCBOR
		}
		c.send(cid, cmdInit, resp)
	case cmdPing:
		c.send(cid, cmdPing, data)
	case cmdWink:
		c.send(cid, cmdWink, nil)
	case cmdCancel:
		k.cancelOn(cid)
	case cmdCBOR:
		if k.opts.U2FOnly {
			c.sendError(cid, hidErrInvalidCmd)
			return
		}
		if len(data) == 0 {
			c.sendError(cid, hidErrInvalidLen)
			return
		}
		done, ok := k.begin(cid)
		if !ok {
			c.sendError(cid, hidErrChannelBusy)
			return
		}
		req := append([]byte(nil), data...)
		go func() {
			ka := func(status byte) { c.send(cid, cmdKeepalive, []byte{status}) }
			resp := k.handleCBOR(done, req, ka)
			k.end(cid)
			c.send(cid, cmdCBOR, resp)
		}()
	default: // MSG (U2F), LOCK and anything else
		c.sendError(cid, hidErrInvalidCmd)
	}
}
