package staging

import (
	"strings"
	"testing"
)

func TestRandomPINLengthAndAlphabet(t *testing.T) {
	for _, alphabet := range []string{Digits, Alphanumeric} {
		for _, length := range []int{PINLengthMin, 6, 8, PINLengthMax} {
			for range 200 {
				pin, err := RandomPIN(length, alphabet)
				if err != nil {
					t.Fatalf("RandomPIN(%d, %q): %v", length, alphabet, err)
				}
				if len(pin) != length {
					t.Fatalf("RandomPIN(%d, %q) has %d characters", length, alphabet, len(pin))
				}
				for _, c := range pin {
					if !strings.ContainsRune(alphabets[alphabet], c) {
						t.Fatalf("RandomPIN(%d, %q) holds %q, outside the alphabet", length, alphabet, c)
					}
				}
			}
		}
	}
}

func TestAlphanumericHasNoLookAlikes(t *testing.T) {
	a := alphabets[Alphanumeric]
	if strings.ContainsAny(a, "0O1lI") {
		t.Errorf("alphanumeric alphabet holds a look-alike: %s", a)
	}
	if len(a) != 26+26+10-5 {
		t.Errorf("alphanumeric alphabet has %d symbols, want 57", len(a))
	}
}

func TestRandomPINNeverWeak(t *testing.T) {
	// Four digits is where Weak refuses most (about 9%), so a missing
	// redraw shows up within a few hundred draws.
	for _, c := range []struct {
		length   int
		alphabet string
		draws    int
	}{{4, Digits, 20000}, {6, Digits, 20000}, {4, Alphanumeric, 5000}} {
		for range c.draws {
			pin, err := RandomPIN(c.length, c.alphabet)
			if err != nil {
				t.Fatal(err)
			}
			if why := Weak(pin); why != "" {
				t.Fatalf("RandomPIN(%d, %q) gave a weak PIN: %s", c.length, c.alphabet, why)
			}
		}
	}
}

// chiSquare returns Pearson's statistic for counts expected to be equal.
func chiSquare(counts map[rune]int, symbols int, total int) float64 {
	want := float64(total) / float64(symbols)
	var x float64
	for _, n := range counts {
		d := float64(n) - want
		x += d * d / want
	}
	// Symbols never drawn contribute want each.
	x += float64(symbols-len(counts)) * want
	return x
}

func TestRandomPINUniform(t *testing.T) {
	// Ten-digit PINs are almost never weak, so the filter does not skew
	// the count. Bounds are far in the tail (p < 1e-7) so the test does
	// not flake. 300,000 digits rather than 100,000: a modulo-biased draw
	// (a byte mod 10, 0-5 4% likelier than 6-9) gives only about 37 over
	// 100,000 digits, under the bound, but about 110 over 300,000 (see
	// TestChiSquareCatchesBias).
	for _, c := range []struct {
		alphabet string
		length   int
		pins     int
		bound    float64 // degrees of freedom: symbols - 1
	}{{Digits, 10, 30000, 50}, {Alphanumeric, 57, 2000, 130}} {
		counts := map[rune]int{}
		for range c.pins {
			pin, err := RandomPIN(c.length, c.alphabet)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range pin {
				counts[r]++
			}
		}
		symbols := len(alphabets[c.alphabet])
		if x := chiSquare(counts, symbols, c.length*c.pins); x > c.bound {
			t.Errorf("%s: chi-square %.1f over %d symbols exceeds %.0f: not uniform", c.alphabet, x, symbols, c.bound)
		}
	}
}

func TestChiSquareCatchesBias(t *testing.T) {
	// The statistic the uniformity test relies on must see a real bias.
	// A byte taken mod 10 hits 0-5 26 times in 256 and 6-9 25 times:
	// the expected counts of such a draw over 300,000 digits.
	counts := map[rune]int{}
	for d := '0'; d <= '9'; d++ {
		ways := 25
		if d <= '5' {
			ways = 26
		}
		counts[d] = 300000 * ways / 256
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if x := chiSquare(counts, 10, total); x <= 50 {
		t.Errorf("chi-square %.1f does not flag a modulo-biased draw", x)
	}
}

func TestRandomPINBounds(t *testing.T) {
	for _, c := range []struct {
		length   int
		alphabet string
		want     string // in the error
	}{
		{3, Digits, "length 3"},
		{0, Digits, "length 0"},
		{-1, Alphanumeric, "length -1"},
		{64, Digits, "length 64"},
		{6, "hex", "alphabet"},
		{6, "", "alphabet"},
		{6, "Digits", "alphabet"},
	} {
		pin, err := RandomPIN(c.length, c.alphabet)
		if err == nil || pin != "" {
			t.Errorf("RandomPIN(%d, %q) = %q, %v; want an error", c.length, c.alphabet, pin, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("RandomPIN(%d, %q) error %q does not mention %q", c.length, c.alphabet, err, c.want)
		}
	}
}

func TestWeak(t *testing.T) {
	for _, c := range []struct {
		pin, want string
	}{
		{"", "it is empty"},
		// every character the same, and near misses
		{"1111", WeakSame},
		{"000000", WeakSame},
		{"AaAa", WeakSame},
		{"ääää", WeakSame},
		{"aaab", ""},
		{"777778", ""},
		// sequences
		{"123456", WeakSequence},
		{"654321", WeakSequence},
		{"890123", WeakSequence},
		{"321098", WeakSequence},
		{"abcdef", WeakSequence},
		{"ZYXW", WeakSequence},
		{"97531", WeakSequence},
		{"02468", WeakSequence},
		{"234578", ""},
		{"abcdeg", ""},
		{"yzab", ""},
		{"258147", WeakWalk}, // not a sequence, but two keypad columns
		// repeated patterns
		{"121212", WeakRepeat},
		{"123123", WeakSequence + "|" + WeakRepeat},
		{"12121", WeakRepeat},
		{"abab", WeakRepeat},
		{"k7Pk7P", WeakRepeat},
		{"382938", ""},
		{"k7Pk7Q", ""},
		// common PINs
		{"1004", WeakCommon},
		{"5150", WeakCommon},
		{"7942", WeakCommon},
		{"315475", WeakCommon},
		{"112233", WeakCommon},
		{"789456", WeakCommon},
		{"7943", ""},
		{"315476", ""},
		// years and dates
		{"1953", WeakYear},
		{"2047", WeakYear},
		{"1853", ""},
		{"2153", ""},
		{"0314", WeakDate}, // MMDD
		{"3112", WeakDate}, // DDMM
		{"0229", WeakDate},
		{"0230", ""},
		{"3231", ""},
		{"250387", WeakDate}, // DDMMYY
		{"122587", WeakDate}, // MMDDYY
		{"870325", WeakDate}, // YYMMDD
		{"873225", ""},
		{"25031987", WeakDate}, // DDMMYYYY
		{"12251987", WeakDate}, // MMDDYYYY
		{"19870325", WeakDate}, // YYYYMMDD
		{"25031887", ""},
		// keyboard and keypad walks
		{"qwerty", WeakWalk},
		{"QWERTZ", WeakWalk},
		{"asdf", WeakWalk},
		{"zxcvbn", WeakWalk},
		{"azerty", WeakWalk},
		{"1qaz2wsx", WeakWalk},
		{"qazwsx", WeakWalk},
		{"147258", WeakCommon}, // also a walk; the list speaks first
		{"963741", WeakWalk},
		{"741852963", WeakWalk},
		{"0852", WeakWalk},
		{"0147", WeakWalk},
		{"qwerasdfz", ""},
		{"qwrty", ""},
		{"147259", ""},
		// random-looking
		{"7294", ""},
		{"729461", ""},
		{"8G3kq7", ""},
	} {
		got := Weak(c.pin)
		if !anyOf(got, c.want) {
			t.Errorf("Weak(%q) = %q, want %q", c.pin, got, c.want)
		}
	}
}

// anyOf reports whether got is one of the |-separated wants ("" is the
// empty want).
func anyOf(got, wants string) bool {
	for _, w := range strings.Split(wants, "|") {
		if got == w {
			return true
		}
	}
	return false
}

func TestWeakNamesTheBriefsExamples(t *testing.T) {
	for _, pin := range strings.Fields(`1234 0000 1111 1212 7777 1004 2000 4444 2222 6969 9999 3333
		5555 6666 1122 1313 8888 4321 2001 1010 123456 654321 111111 000000 123123 666666 121212
		112233 789456 159753 147258 159357 qwerty asdf`) {
		if Weak(pin) == "" {
			t.Errorf("Weak(%q) says nothing", pin)
		}
	}
}

func TestCommonPINLists(t *testing.T) {
	for _, c := range []struct {
		list  string
		width int
		count int
	}{{common4, 4, 110}, {common6, 6, 107}} {
		seen := map[string]bool{}
		for _, p := range strings.Fields(c.list) {
			if len(p) != c.width || !allDigits([]rune(p)) {
				t.Errorf("%q is not %d digits", p, c.width)
			}
			if seen[p] {
				t.Errorf("%q is listed twice", p)
			}
			seen[p] = true
		}
		if len(seen) != c.count {
			t.Errorf("%d-digit list has %d PINs, want %d (the cited top ranks)", c.width, len(seen), c.count)
		}
	}
}

func TestWeakReasonNeverQuotesThePIN(t *testing.T) {
	for _, pin := range []string{"1111", "123456", "121212", "5150", "1953", "0314", "qwerty", "2580"} {
		if why := Weak(pin); why == "" || strings.Contains(why, pin) {
			t.Errorf("Weak(%q) = %q: want a reason that does not quote the PIN", pin, why)
		}
	}
}
