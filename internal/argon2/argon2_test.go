package argon2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestMatchesXCrypto: one Buffer reused across derivations of different
// sizes, passes, lanes and key lengths gives exactly x/crypto's keys, so
// nothing a previous derivation left in the buffer reaches a result.
// Before the first pass overwrote instead of XORing, the second
// derivation in a reused buffer differed.
func TestMatchesXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf Buffer
	cases := []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 64, 1, 32}, {2, 64, 1, 32}, {3, 256, 1, 16}, {2, 1024, 1, 32},
		{1, 32, 4, 32}, {3, 512, 4, 64}, {2, 1000, 3, 32}, {2, 8, 1, 32},
		{2, 64, 1, 32}, {4, 2048, 2, 48}, {1, 64, 1, 32}, {2, 19 * 1024, 1, 32},
		{2, 19 * 1024, 1, 32},
	}
	for i, c := range cases {
		pass := make([]byte, 1+rng.IntN(40))
		salt := make([]byte, 8+rng.IntN(24))
		for j := range pass {
			pass[j] = byte(rng.Uint32())
		}
		for j := range salt {
			salt[j] = byte(rng.Uint32())
		}
		want := xargon2.IDKey(pass, salt, c.time, c.memory, c.threads, c.keyLen)
		got := buf.IDKey(pass, salt, c.time, c.memory, c.threads, c.keyLen)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d %+v: got %x, x/crypto %x", i, c, got, want)
		}
	}
	if len(buf.blocks) == 0 || cap(buf.blocks) != 19*1024 {
		t.Fatalf("buffer cap %d blocks, want the largest asked for (19456)", cap(buf.blocks))
	}
}

// TestReferenceVectors are the Argon2id known answers x/crypto tests
// itself against (argon2_test.go's testVectors: password "password", salt
// "somesalt", generated with the reference implementation's CLI), all
// through one reused Buffer, largest first so the smaller ones run in
// dirty memory.
func TestReferenceVectors(t *testing.T) {
	var buf Buffer
	for _, v := range []struct {
		time, memory uint32
		threads      uint8
		hash         string
	}{
		{4, 4096, 4, "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a"},
		{1, 64, 1, "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb"},
		{2, 64, 1, "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7"},
		{2, 64, 2, "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362"},
		{3, 256, 2, "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b"},
		{4, 1024, 8, "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f"},
		{2, 64, 3, "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079"},
		{3, 1024, 6, "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016"},
	} {
		got := fmt.Sprintf("%x", buf.IDKey([]byte("password"), []byte("somesalt"), v.time, v.memory, v.threads, 24))
		if got != v.hash {
			t.Errorf("t=%d m=%d p=%d: %s, want %s", v.time, v.memory, v.threads, got, v.hash)
		}
	}
}

// BenchmarkIDKey compares tapd's pass check (19 MiB, t=2, one lane) in a
// fresh allocation each time (x/crypto) with a reused Buffer: B/op, and
// the process's CPU time and minor page faults per check (getrusage, so
// the kernel's share of faulting the 19 MiB in counts too).
func BenchmarkIDKey(b *testing.B) {
	pass, salt := []byte("Secret-Pass-1"), []byte("0123456789abcdef")
	run := func(b *testing.B, idKey func()) {
		idKey() // the runner's one allocation, for the Buffer
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		b.ReportAllocs()
		for b.Loop() {
			idKey()
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := func(r syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
		b.ReportMetric(float64(cpu(after)-cpu(before))/1e3/float64(b.N), "cpu-µs/op")
		b.ReportMetric(float64(after.Minflt-before.Minflt)/float64(b.N), "minflt/op")
	}
	b.Run("xcrypto", func(b *testing.B) {
		run(b, func() { xargon2.IDKey(pass, salt, 2, 19*1024, 1, 32) })
	})
	b.Run("buffer", func(b *testing.B) {
		var buf Buffer
		run(b, func() { buf.IDKey(pass, salt, 2, 19*1024, 1, 32) })
	})
}
