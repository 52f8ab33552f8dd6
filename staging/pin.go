package staging

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// PIN alphabets.
const (
	Digits       = "digits"       // 0-9 (the default: every key and every person can type it)
	Alphanumeric = "alphanumeric" // a-z, A-Z, 2-9 without look-alikes (0 O 1 l I)
)

// PINLengthMin and PINLengthMax are CTAP's bounds on a PIN: at least 4
// code points, at most 63 bytes (the PIN is padded to 64 with a zero
// byte). Every symbol RandomPIN draws is one ASCII byte, so for its PINs
// characters and bytes are the same count.
const (
	PINLengthMin = 4
	PINLengthMax = 63
)

// alphabets are the symbols of each named alphabet. The alphanumeric one
// leaves out 0 O 1 l I because the PIN is read off paper by someone who
// has never seen it: a symbol that can be misread costs a wrong try, and a
// key locks after eight.
var alphabets = map[string]string{
	Digits:       "0123456789",
	Alphanumeric: "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789",
}

// maxDraws bounds the redraws for a PIN Weak accepts. At the worst (four
// or six digits) about one draw in eleven is refused (894 of the 10,000
// 4-digit PINs, 8.6% of 6-digit ones, mostly dates), so reaching the bound
// means the random source is broken, not unlucky.
const maxDraws = 1000

// RandomPIN returns a PIN of length characters from the alphabet, drawn
// with crypto/rand (uniform, no modulo bias), redrawn until Weak says
// nothing. length is 4..63 (CTAP's bounds: at least 4 code points, at most
// 63 bytes); an alphabet other than the two above or a length outside the
// bounds is an error.
//
// Refusing weak draws costs little entropy (under 0.14 bits at four or six
// digits, less beyond) and means a PIN letter never
// carries a PIN a finder of the key would try in its first eight guesses.
func RandomPIN(length int, alphabet string) (string, error) {
	symbols, ok := alphabets[alphabet]
	if !ok {
		return "", fmt.Errorf("unknown PIN alphabet %q; use %q or %q", alphabet, Digits, Alphanumeric)
	}
	if length < PINLengthMin || length > PINLengthMax {
		return "", fmt.Errorf("PIN length %d is outside %d-%d", length, PINLengthMin, PINLengthMax)
	}
	n := big.NewInt(int64(len(symbols)))
	out := make([]byte, length)
	for range maxDraws {
		for i := range out {
			// rand.Int rejects out-of-range samples itself, so every
			// symbol is equally likely.
			k, err := rand.Int(rand.Reader, n)
			if err != nil {
				return "", fmt.Errorf("drawing a random PIN: %w", err)
			}
			out[i] = symbols[k.Int64()]
		}
		if Weak(string(out)) == "" {
			return string(out), nil
		}
	}
	return "", errors.New("drawing a random PIN: every draw was weak; the random source looks broken")
}

// Reasons Weak gives (the kiosk words each in the operator's language).
// They describe the PIN's shape and hold no example
// PIN (an example could be the very PIN), so they can be logged or shown
// next to a masked field.
const (
	WeakSame     = "every character is the same"
	WeakSequence = "it is a run of consecutive characters"
	WeakRepeat   = "it repeats a short pattern"
	WeakCommon   = "it is one of the most common PINs"
	WeakYear     = "it looks like a year"
	WeakDate     = "it looks like a date"
	WeakWalk     = "it is a walk along a keyboard or keypad"
	WeakEmpty    = "it is empty"
)

// Weak says why a PIN is too easy to guess, or "" when it is not. The
// kiosk uses it to filter random PINs and to warn an operator about a
// typed one. The rules look at the whole PIN (case-folded), not at parts
// of it, so a long random PIN is almost never refused:
//
//   - every character the same: 1111, aaaaaa;
//   - a run up or down by one, digits wrapping round (123456, 654321,
//     890123, abcdef), or digits up or down by two (2468, 97531);
//   - a short pattern repeated, the last copy possibly cut short (1212,
//     123123, 12121);
//   - a common 4- or 6-digit PIN (see commonPINs for the sources);
//   - four digits that read as a year 1900-2099 or a date MMDD or DDMM;
//     six digits that read as DDMMYY, MMDDYY or YYMMDD; eight digits that
//     read as DDMMYYYY, MMDDYYYY or YYYYMMDD with a year 1900-2099 (a
//     birthday is the first guess of anyone who knows the owner, and
//     people choose dates more than any other pattern);
//   - a walk: the PIN splits wholly into straight runs of three or more
//     keys along a phone keypad or numeric keypad (147258, 159357, 2580,
//     7410) or a QWERTY, QWERTZ or AZERTY keyboard's rows and columns
//     (qwerty, asdf, 1qaz2wsx).
func Weak(pin string) string {
	r := []rune(strings.ToLower(pin))
	switch {
	case len(r) == 0:
		return WeakEmpty
	case allSame(r):
		return WeakSame
	case isSequence(r):
		return WeakSequence
	case repeatsPattern(r):
		return WeakRepeat
	case commonPINs[string(r)]:
		return WeakCommon
	}
	if allDigits(r) {
		if year(r) {
			return WeakYear
		}
		if looksLikeDate(r) {
			return WeakDate
		}
	}
	if isWalk(r) {
		return WeakWalk
	}
	return ""
}

func allSame(r []rune) bool {
	for _, c := range r[1:] {
		if c != r[0] {
			return false
		}
	}
	return true
}

func allDigits(r []rune) bool {
	for _, c := range r {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func allLetters(r []rune) bool {
	for _, c := range r {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// isSequence reports a constant step through the digits or the Latin
// letters. Digits wrap (…8 9 0 1…) because people count round the dial;
// letters do not, since nobody thinks of "yzab" as a run.
func isSequence(r []rune) bool {
	if len(r) < 3 {
		return false
	}
	constStep := func(step func(a, b rune) rune) bool {
		d := step(r[0], r[1])
		for i := 2; i < len(r); i++ {
			if step(r[i-1], r[i]) != d {
				return false
			}
		}
		return true
	}
	switch {
	case allDigits(r):
		wrapped := func(a, b rune) rune { return ((b-a)%10 + 10) % 10 }
		plain := func(a, b rune) rune { return b - a }
		if d := wrapped(r[0], r[1]); (d == 1 || d == 9) && constStep(wrapped) {
			return true
		}
		d := plain(r[0], r[1])
		return (d == 2 || d == -2) && constStep(plain)
	case allLetters(r):
		d := r[1] - r[0]
		return (d == 1 || d == -1) && constStep(func(a, b rune) rune { return b - a })
	}
	return false
}

// repeatsPattern reports a PIN that is a block of at most half its length
// written again and again (121212, 123123; 12121 too, as the last copy may
// be cut short).
func repeatsPattern(r []rune) bool {
	for p := 1; p <= len(r)/2; p++ {
		periodic := true
		for i := p; i < len(r); i++ {
			if r[i] != r[i-p] {
				periodic = false
				break
			}
		}
		if periodic {
			return true
		}
	}
	return false
}

// year reports four digits between 1900 and 2099: years of birth,
// marriage and the like are a large share of chosen 4-digit PINs.
func year(r []rune) bool {
	return len(r) == 4 && (r[0] == '1' && r[1] == '9' || r[0] == '2' && r[1] == '0')
}

// looksLikeDate reports digits that read as a calendar date in the usual
// orders for their length (see Weak).
func looksLikeDate(r []rune) bool {
	n := func(i, j int) int {
		v := 0
		for _, c := range r[i:j] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	fullYear := func(i int) bool { y := n(i, i+4); return y >= 1900 && y <= 2099 }
	switch len(r) {
	case 4: // MMDD, DDMM
		return validDay(n(0, 2), n(2, 4)) || validDay(n(2, 4), n(0, 2))
	case 6: // DDMMYY, MMDDYY, YYMMDD
		return validDay(n(2, 4), n(0, 2)) || validDay(n(0, 2), n(2, 4)) || validDay(n(2, 4), n(4, 6))
	case 8: // DDMMYYYY, MMDDYYYY, YYYYMMDD
		return fullYear(4) && (validDay(n(2, 4), n(0, 2)) || validDay(n(0, 2), n(2, 4))) ||
			fullYear(0) && validDay(n(4, 6), n(6, 8))
	}
	return false
}

// validDay reports whether day exists in month in some year (29 February
// counts: leap-day birthdays are real).
func validDay(month, day int) bool {
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	return month >= 1 && month <= 12 && day >= 1 && day <= days[month]
}

// keyLines are straight lines of keys, each read in both directions: a
// phone keypad (0 under 8) and a numeric keypad (0 under 1), then the rows
// and columns of QWERTY, QWERTZ and AZERTY keyboards. Keyboard walks are
// the letter PINs people choose when a key allows letters.
var keyLines = []string{
	// keypads: rows, columns, diagonals
	"123", "456", "789", "147", "2580", "369", "159", "357", "7410",
	// keyboard rows
	"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm",
	"qwertzuiop", "yxcvbnm", "azertyuiop", "qsdfghjklm", "wxcvbn",
	// keyboard columns (1 q a z, 2 w s x, …)
	"1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik", "9ol", "0p",
}

// walkRuns is every run of three or more consecutive keys of keyLines, in
// both directions.
var walkRuns = func() map[string]bool {
	runs := map[string]bool{}
	for _, line := range keyLines {
		for _, l := range []string{line, reverse(line)} {
			for i := 0; i < len(l); i++ {
				for j := i + 3; j <= len(l); j++ {
					runs[l[i:j]] = true
				}
			}
		}
	}
	return runs
}()

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// isWalk reports whether r splits wholly into runs of walkRuns
// (147258 = 147 + 258; 1qaz2wsx = 1qaz + 2wsx).
func isWalk(r []rune) bool {
	s := string(r)
	if len(s) != len(r) || len(s) < 3 {
		return false // walks are ASCII
	}
	// ok[i]: s[:i] splits into runs.
	ok := make([]bool, len(s)+1)
	ok[0] = true
	for j := 3; j <= len(s); j++ {
		for i := 0; i+3 <= j && !ok[j]; i++ {
			ok[j] = ok[i] && walkRuns[s[i:j]]
		}
	}
	return ok[len(s)]
}

// commonPINs are the most common 4- and 6-digit PINs in published
// frequency data, in rank order:
//
//   - 4 digits: the first 110 of the frequency-ranked list in SecLists
//     (Passwords/Common-Credentials/four-digit-pin-codes-sorted-by-frequency-withcount.csv),
//     which agrees with DataGenetics' analysis of 3.4 million 4-digit
//     codes (Nick Berry, "PIN analysis", 2012) on its published top 20.
//   - 6 digits: the first 107 six-digit numbers, in rank order, of Mark
//     Burnett's 10 million passwords (2015), as ranked in SecLists
//     (xato-net-10-million-passwords-10000.txt).
//
// Many are also caught by a rule above (1111, 123456); they stay in the
// list so that it can be checked against its sources line by line.
var commonPINs = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(common4 + " " + common6) {
		m[p] = true
	}
	return m
}()

const common4 = `
1234 1111 0000 1212 7777 1004 2000 4444 2222 6969 9999 3333 5555 6666 1122 1313 8888 2001 4321 1010
0909 2580 0007 1818 1230 1984 1986 0070 1985 0987 1000 1231 1987 1999 2468 2002 2323 0123 1123 1233
1357 1221 1324 1988 2112 2121 5150 1024 1112 1224 1969 1225 1235 1982 1983 1001 1978 1979 7410 1020
1223 1974 1975 1977 1980 1981 1029 1121 1213 1973 1976 2020 2345 2424 2525 1515 1970 1972 1989 0001
1023 1414 9876 0101 0907 1245 1966 1967 1971 8520 1964 1968 4545 1318 5678 1011 1124 1211 1963 4200
4567 1007 1012 1025 1120 1125 1214 1236 1965 7942`

const common6 = `
123456 111111 123123 696969 666666 123321 654321 121212 000000 112233 555555 131313 777777 159753
222222 123654 987654 999999 333333 232323 888888 159357 789456 101010 444444 212121 315475 102030
252525 007007 111222 147147 147258 010203 147852 420420 242424 123789 098765 141414 202020 852456
159951 134679 456789 151515 124578 135790 010101 171717 142536 454545 323232 741852 456123 666999
321321 246810 753951 314159 181818 321654 141627 456456 565656 272727 343434 363636 951753 121314
787878 012345 090909 505050 159159 789789 456852 262626 123098 909090 191919 424242 911911 112358
555666 161616 898989 303030 102938 123987 445566 234567 545454 987456 456654 753159 223344 313131
353535 282828 906090 789654 666777 369369 123457 132435 963852`
