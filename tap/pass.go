package tap

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tapkiosk/tapkiosk/internal/argon2"
)

// passAlphabet has no look-alikes (0/O, 1/l/I) so a person can copy a pass
// from a phone or a sheet of paper at a kiosk without guessing. 57 symbols
// give 5.8 bits each: 8 characters are about 46 bits, and with lockout after
// 10 failures and Argon2id at rest that is far beyond guessing.
const passAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// GeneratePass returns a fresh random pass of the given length.
func GeneratePass(length int) (string, error) {
	if length < MinPassLength || length > MaxPassLength {
		return "", fmt.Errorf("pass length %d is outside %d-%d", length, MinPassLength, MaxPassLength)
	}
	out := make([]byte, length)
	buf := make([]byte, 1)
	// Rejection sampling keeps every symbol equally likely.
	limit := byte(256 - 256%len(passAlphabet))
	for i := 0; i < length; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		if buf[0] >= limit {
			continue
		}
		out[i] = passAlphabet[int(buf[0])%len(passAlphabet)]
		i++
	}
	return string(out), nil
}

// Argon2Params are the Argon2id cost settings. They are stored inside every
// hash, so they can be raised later without breaking existing passes.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 follows OWASP's first Argon2id recommendation (19 MiB, 2
// passes, 1 lane). A pass is checked once per sign-in attempt, attempts are
// rate-limited, and tapd may run on a small VM: ~20 ms and 19 MiB a check
// keeps a burst of 50 kiosks under a second and a gigabyte, while making an
// offline guess against a stolen database cost the same per try. See the
// README's performance section for the measured figure.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// HashPass returns a PHC-format Argon2id string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPass(pass string, p Argon2Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := new(argon2.Buffer).IDKey([]byte(pass), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed argon2id hash")

// VerifyPass reports whether pass matches the encoded hash. The comparison
// is constant-time.
func VerifyPass(encoded, pass string) (bool, error) {
	return VerifyPassIn(new(argon2.Buffer), encoded, pass)
}

// VerifyPassIn is VerifyPass computing in buf's memory, which it reuses
// from one call to the next instead of allocating (and the runtime
// zeroing, and the kernel faulting in) 19 MiB per check. buf must not be
// used by two calls at once.
func VerifyPassIn(buf *argon2.Buffer, encoded, pass string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, errBadHash
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 1<<22 || p.Time > 64 {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false, errBadHash
	}
	got := buf.IDKey([]byte(pass), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Usability reasons, named as Graph's methodUsabilityReason.
const (
	EnabledByPolicy  = "EnabledByPolicy"
	DisabledByPolicy = "DisabledByPolicy"
	Expired          = "Expired"
	NotYetValid      = "NotYetValid"
	OneTimeUsed      = "OneTimeUsed"
)

// PassState is what the rules need to know about a stored pass.
type PassState struct {
	Start           time.Time
	LifetimeMinutes int
	IsUsableOnce    bool
	Used            bool
}

// End is the instant the pass stops working.
func (s PassState) End() time.Time {
	return s.Start.Add(time.Duration(s.LifetimeMinutes) * time.Minute)
}

// Usability says whether the pass can sign the member in at now, and if not,
// the Graph reason why. The order matters: a disabled policy trumps
// everything, then time, then one-time use, as Entra reports it.
func Usability(p Policy, m Member, s PassState, now time.Time) (bool, string) {
	switch {
	case p.State != "enabled" || !p.Targets(m):
		return false, DisabledByPolicy
	case now.Before(s.Start):
		return false, NotYetValid
	case !now.Before(s.End()):
		return false, Expired
	case s.IsUsableOnce && s.Used:
		return false, OneTimeUsed
	}
	return true, EnabledByPolicy
}

// PassRequest is an admin's request for a new pass; zero values take the
// policy's defaults.
type PassRequest struct {
	Start           *time.Time
	LifetimeMinutes *int
	IsUsableOnce    *bool
}

// MaxStartAhead bounds how far in the future a pass may start. Entra allows
// a start date in the future; a year is generous and catches typos.
const MaxStartAhead = 365 * 24 * time.Hour

// ResolvePass applies the policy to an admin's request: the defaults, the
// lifetime range and the policy's one-time rule.
func ResolvePass(p Policy, r PassRequest, now time.Time) (PassState, error) {
	s := PassState{Start: now, LifetimeMinutes: p.DefaultLifetimeInMinutes, IsUsableOnce: p.IsUsableOnce}
	if r.Start != nil {
		if r.Start.Before(now.Add(-5 * time.Minute)) {
			return s, &FieldError{"startDateTime", "is in the past; leave it out to start now"}
		}
		if r.Start.After(now.Add(MaxStartAhead)) {
			return s, &FieldError{"startDateTime", "is more than a year ahead"}
		}
		if r.Start.After(now) {
			s.Start = *r.Start
		}
	}
	if r.LifetimeMinutes != nil {
		l := *r.LifetimeMinutes
		if l < p.MinimumLifetimeInMinutes || l > p.MaximumLifetimeInMinutes {
			return s, &FieldError{"lifetimeInMinutes", fmt.Sprintf("must be between %d and %d (the policy's range), got %d",
				p.MinimumLifetimeInMinutes, p.MaximumLifetimeInMinutes, l)}
		}
		s.LifetimeMinutes = l
	}
	if r.IsUsableOnce != nil && *r.IsUsableOnce {
		s.IsUsableOnce = true
	}
	// The policy's isUsableOnce forces one-time passes, whatever was asked.
	if p.IsUsableOnce {
		s.IsUsableOnce = true
	}
	s.Start = s.Start.UTC().Truncate(time.Second)
	return s, nil
}

// PassLooksRight reports whether a typed pass has a length a pass can
// have (MinPassLength to MaxPassLength characters, space trimmed), so the
// kiosk can say "too short" before a wrong attempt counts toward the lock.
// tapd itself answers any wrong pass the same way, whatever its length.
func PassLooksRight(typed string) bool {
	n := utf8.RuneCountInString(strings.TrimSpace(typed))
	return n >= MinPassLength && n <= MaxPassLength
}
