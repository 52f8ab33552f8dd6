package staging

import (
	"errors"
	"fmt"
	"strings"
)

// PIN sources: the kiosk draws a random PIN for each key (and writes it
// into the person's letter), or the operator types one.
const (
	RandomPINs = "random"
	TypedPINs  = "typed"
)

// Options is how a batch's keys are set up. Every key gets the same.
type Options struct {
	// PINs is RandomPINs or TypedPINs.
	PINs string
	// PINLength and Alphabet shape random PINs.
	PINLength int
	Alphabet  string
	// MinPINLength is set on each key that takes authenticatorConfig (0
	// leaves the key's own). The key then refuses shorter PINs, also when
	// the person changes it.
	MinPINLength int
	// ForcePINChange makes each key ask for a new PIN on first use, so
	// nobody but the person knows the PIN the key is used with.
	ForcePINChange bool
	// Letters is the directory the PIN letters go to (random PINs), and
	// LetterFormat Text or PDF.
	Letters      string
	LetterFormat string
	// LetterLang is the batch's letter language (LetterLanguages); a
	// person whose row names another the letters are written in gets
	// theirs. "" is English.
	LetterLang string
	// Org heads the letters.
	Org string
	// LiveAtOnce says the directory makes a staged key usable the moment
	// it is registered (Microsoft Entra ID: provisioned passkeys are
	// active when created), so screens and letters say it must be kept
	// locked away until it is handed over.
	LiveAtOnce bool
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	switch o.PINs {
	case RandomPINs:
		if o.PINLength < PINLengthMin || o.PINLength > PINLengthMax {
			errs = append(errs, fmt.Errorf("--pin-length %d: use %d to %d", o.PINLength, PINLengthMin, PINLengthMax))
		}
		if o.Alphabet != Digits && o.Alphabet != Alphanumeric {
			errs = append(errs, fmt.Errorf("--pin-alphabet %q: use %s or %s", o.Alphabet, Digits, Alphanumeric))
		}
		if o.Letters == "" {
			errs = append(errs, errors.New("--letters is required with random PINs: the directory the PIN letters are written to"))
		}
		if o.LetterFormat != Text && o.LetterFormat != PDF {
			errs = append(errs, fmt.Errorf("--letter-format %q: use %s or %s", o.LetterFormat, Text, PDF))
		}
		if o.LetterLang != "" && LetterCatalog(o.LetterLang) == nil {
			errs = append(errs, fmt.Errorf("--letter-lang %q: letters are written in %s", o.LetterLang, strings.Join(LetterLanguages(), ", ")))
		}
		if o.MinPINLength > o.PINLength {
			errs = append(errs, fmt.Errorf("--min-pin-length %d is longer than --pin-length %d: the keys would refuse their own PINs", o.MinPINLength, o.PINLength))
		}
	case TypedPINs:
	default:
		errs = append(errs, fmt.Errorf("--pins %q: use %s or %s", o.PINs, RandomPINs, TypedPINs))
	}
	if o.MinPINLength != 0 && (o.MinPINLength < PINLengthMin || o.MinPINLength > PINLengthMax) {
		errs = append(errs, fmt.Errorf("--min-pin-length %d: use %d to %d, or 0 to leave each key's own", o.MinPINLength, PINLengthMin, PINLengthMax))
	}
	return errors.Join(errs...)
}
