// The Entra directory's authentication methods: listing a person's
// methods, masking phone numbers, and deleting a method.

package entra

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
)

// ---- methods ----

// Methods lists the person's methods from Entra, the password left out.
// Every method gets a name a person recognises (see methodName) and the
// creation time Graph gives, or none.
func (d *Directory) Methods(ctx context.Context, upn string) ([]directory.Method, error) {
	ms, res, err := d.g.Methods(ctx, upn)
	if err != nil {
		return nil, failure("list the sign-in methods", res, err)
	}
	out := []directory.Method{}
	for _, m := range ms {
		kind := m.Kind()
		if kind == "" || kind == "password" {
			continue
		}
		created := m.CreatedDateTime
		if created.IsZero() {
			created = m.CreationDateTime
		}
		dm := directory.Method{Kind: kind, ID: m.ID, DisplayName: methodName(kind, m), CreatedAt: created, PhoneType: m.PhoneType,
			AAGUID: m.AAGUID, Model: m.Model, AttestationLevel: m.AttestationLevel}
		if kind == directory.KindTAP {
			dm.Pass = &directory.Pass{ID: m.ID, CreatedAt: m.CreatedDateTime, StartAt: startOf(m.StartDateTime, m.CreatedDateTime), LifetimeMinutes: m.LifetimeInMinutes,
				IsUsableOnce: m.IsUsableOnce, IsUsable: m.IsUsable, Reason: m.MethodUsabilityReason}
		}
		out = append(out, dm)
	}
	return out, nil
}

// methodName names a method for the person at the kiosk. Graph names only
// some kinds (keys, Authenticator and Windows Hello devices); the others
// are named by what identifies them: the email address, the phone number
// masked to its country code and last two digits (enough to tell one's
// own phones apart, too little to read a stranger's number off the
// screen), or the kind in words.
func methodName(kind string, m graph.Method) string {
	if name := strings.TrimSpace(m.DisplayName); name != "" {
		return name
	}
	switch kind {
	case "email":
		if m.EmailAddress != "" {
			return m.EmailAddress
		}
		return "Email address"
	case "phone":
		if m.PhoneNumber != "" {
			return MaskPhone(m.PhoneNumber)
		}
		return "Phone"
	case "fido2":
		if m.Model != "" {
			return m.Model
		}
		return "Security key"
	}
	if name, ok := kindNames[kind]; ok {
		return name
	}
	return kind
}

// kindNames are the names of the kinds Graph gives no name of their own.
var kindNames = map[string]string{
	"microsoftAuthenticator":  "Microsoft Authenticator",
	"softwareOath":            "Authenticator app",
	"hardwareOath":            "OATH token",
	"windowsHelloForBusiness": "Windows Hello for Business",
	"platformCredential":      "Platform credential",
	"temporaryAccessPass":     "Temporary Access Pass",
	"qrCodePin":               "QR code",
}

// MaskPhone keeps a phone number's country code ("+46", when the number
// starts with + and a space follows it) and its last two digits, and
// replaces every other digit with •, keeping the spacing.
func MaskPhone(n string) string {
	n = strings.TrimSpace(n)
	keepFrom := 0
	if strings.HasPrefix(n, "+") {
		if i := strings.IndexByte(n, ' '); i > 0 {
			keepFrom = i
		}
	}
	digits := 0
	for _, r := range n {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	seen := 0
	for i, r := range n {
		if r >= '0' && r <= '9' {
			seen++
			if i >= keepFrom && seen <= digits-2 {
				r = '•'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DeleteMethod deletes one method in Entra by its kind, then tapd's own
// record of it, if any (kept for the key check).
func (d *Directory) DeleteMethod(ctx context.Context, upn string, m directory.Method) (directory.Trace, error) {
	res, err := d.g.DeleteMethod(ctx, upn, m.Kind, m.ID)
	t := trace(nil, res)
	if err != nil && status(err) != http.StatusNotFound {
		f := writeFailed("remove the method", res, err, t)
		if m.Kind == "phone" && refused(err) {
			f.Reason, f.Err = d.phoneRefusal(ctx, upn, m, err)
		}
		return t, f
	}
	if err := d.st.DeleteMethod(ctx, upn, m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		d.log.Warn("local key record not deleted", "method_id", m.ID, "err", err)
	}
	return t, nil
}

// refused tells a refusal of the request itself (400, 409, 422, ...)
// from a missing permission, a missing method, throttling or an outage.
func refused(err error) bool {
	switch st := status(err); st {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests:
		return false
	default:
		return st >= 400 && st < 500
	}
}

// ErrPhoneIsDefault and ErrMobileHasAlternate are Entra's two documented
// refusals to delete a phone (phoneauthenticationmethod-delete.md).
var (
	ErrPhoneIsDefault = api.E(api.CodePhoneIsDefaultMethod,
		"This phone is your default way to confirm sign-ins, and Microsoft Entra ID does not remove a default method. Ask IT to make another method your default, then remove the phone.")
	ErrMobileHasAlternate = api.E(api.CodeMobileHasAlternate,
		"Microsoft Entra ID does not remove a mobile phone while an alternate mobile phone is registered. Remove the alternate mobile phone first, then this one.")
)

// phoneRefusal says which documented rule Graph applied when it refused
// to delete a phone: a mobile phone while an alternate mobile exists (tapd
// can see that in the list), else the phone being the default MFA method,
// which v1.0 does not show (Graph's own words go to the log).
func (d *Directory) phoneRefusal(ctx context.Context, upn string, m directory.Method, err error) (string, error) {
	if m.PhoneType == "mobile" {
		if ms, _, lerr := d.g.Methods(ctx, upn); lerr == nil {
			for _, x := range ms {
				if x.Kind() == "phone" && x.PhoneType == "alternateMobile" {
					return "mobileHasAlternate", ErrMobileHasAlternate.Because(err)
				}
			}
		}
	}
	return "phoneIsDefaultMethod", ErrPhoneIsDefault.Because(err)
}
