package staging

import (
	"fmt"
	"sort"
	"strings"
)

// The PIN letter's wording, one catalogue a language. The kiosk's screens
// take these into their own catalogues (as "letter.*" keys), so a
// language the screens speak is one the letters speak, and the
// catalogue test holds both to the same rules.
var letterCatalogs = map[string]map[string]string{
	"en": {
		"title":         "Your security key",
		"for":           "For",
		"account":       "Account",
		"keyName":       "Key name",
		"model":         "Model",
		"serial":        "Serial",
		"yourPIN":       "Your PIN",
		"pinNote":       "%d characters. Type them from left to right, without spaces.",
		"kindsNote":     "Under each character: 9 = digit, a = small letter, A = capital letter.",
		"kind.digit":    "digit",
		"kind.small":    "small",
		"kind.capital":  "capital",
		"use.title":     "How to use your key",
		"use.1":         "1. Plug the key into your computer (or hold it to your phone, if the key has NFC).",
		"use.2":         "2. When asked for the security key's PIN, type the PIN above.",
		"use.3":         "3. When the key blinks, touch it.",
		"use.4":         "After three wrong PINs in a row, unplug the key and plug it in again to go on. After eight the key locks for good and IT must reset it, which erases it.",
		"change.title":  "Your own PIN",
		"change.forced": "The first time you use the key it asks you to choose a new PIN of at least %d characters. Choose one nobody could guess: not a date, not a run like 1234, not the same character again and again.",
		"change.kept":   "Keep this PIN to yourself. You can change it in your computer's security key settings; a new PIN needs at least %d characters.",
		"keep.title":    "Keep this letter safe",
		"keep.1":        "Keep this letter apart from the key: whoever has both can sign in as you.",
		"keep.2":        "Once you have changed the PIN (or know it by heart), destroy this letter, for example by shredding it.",
		"keep.3":        "If the envelope or its seal was opened before it reached you, do not use the key: call IT.",
		"keep.live":     "Your key could sign in to your account from the moment IT set it up, so IT kept it locked away until it reached you.",
		"footer.batch":  "Batch %s",
		"footer.staged": "staged %s",
	},
	"sv": {
		"title":         "Din säkerhetsnyckel",
		"for":           "Till",
		"account":       "Konto",
		"keyName":       "Nyckelnamn",
		"model":         "Modell",
		"serial":        "Serienummer",
		"yourPIN":       "Din PIN-kod",
		"pinNote":       "%d tecken. Skriv dem från vänster till höger, utan mellanslag.",
		"kindsNote":     "Under varje tecken: 9 = siffra, a = liten bokstav, A = stor bokstav.",
		"kind.digit":    "siffra",
		"kind.small":    "liten",
		"kind.capital":  "stor",
		"use.title":     "Så använder du nyckeln",
		"use.1":         "1. Sätt i nyckeln i datorn (eller håll den mot telefonen, om nyckeln har NFC).",
		"use.2":         "2. När säkerhetsnyckelns PIN-kod efterfrågas, skriv PIN-koden ovan.",
		"use.3":         "3. När nyckeln blinkar, rör vid den.",
		"use.4":         "Efter tre felaktiga PIN-koder i rad, ta ut nyckeln och sätt i den igen för att fortsätta. Efter åtta låses nyckeln för gott och IT måste återställa den, vilket raderar den.",
		"change.title":  "Din egen PIN-kod",
		"change.forced": "Första gången du använder nyckeln ber den dig välja en ny PIN-kod på minst %d tecken. Välj en som ingen kan gissa: inte ett datum, inte en följd som 1234, inte samma tecken om och om igen.",
		"change.kept":   "Håll PIN-koden för dig själv. Du kan byta den i datorns inställningar för säkerhetsnycklar; en ny PIN-kod måste ha minst %d tecken.",
		"keep.title":    "Förvara brevet säkert",
		"keep.1":        "Förvara brevet skilt från nyckeln: den som har båda kan logga in som du.",
		"keep.2":        "När du har bytt PIN-koden (eller kan den utantill), förstör brevet, till exempel i en dokumentförstörare.",
		"keep.3":        "Om kuvertet eller dess försegling var öppnat innan det nådde dig, använd inte nyckeln: ring IT.",
		"keep.live":     "Din nyckel kunde logga in på ditt konto från det ögonblick IT förberedde den, så IT har förvarat den inlåst tills den nådde dig.",
		"footer.batch":  "Omgång %s",
		"footer.staged": "förberedd %s",
	},
}

// LetterLanguages lists the languages letters are written in.
func LetterLanguages() []string {
	var out []string
	for k := range letterCatalogs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LetterCatalog is the letter's wording in lang (nil if there is none),
// for the kiosk's catalogues.
func LetterCatalog(lang string) map[string]string { return letterCatalogs[lang] }

// LetterLanguage picks the language for a person's letter: theirs, when
// letters are written in it (a region such as sv-SE counts as its
// language), else the batch's.
func LetterLanguage(person, batch string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(person)), "-")
	base, _, _ = strings.Cut(base, "_")
	if _, ok := letterCatalogs[base]; ok {
		return base
	}
	return batch
}

// words is one language's letter wording; an unknown language is
// English, so a letter is never written in message keys.
type words map[string]string

func wordsFor(lang string) words {
	if w, ok := letterCatalogs[lang]; ok {
		return w
	}
	return letterCatalogs["en"]
}

func (w words) s(key string, args ...any) string {
	if len(args) == 0 {
		return w[key]
	}
	return fmt.Sprintf(w[key], args...)
}
