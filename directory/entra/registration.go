// The Entra directory's key registration: Graph as the relying party for
// a new FIDO2 key, and telling when the tenant refuses self-service setup.

package entra

import (
	"context"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
)

// ---- registration ----

// ErrSelfServiceOff is Entra refusing self-service key registration.
var ErrSelfServiceOff = api.E(api.CodeSelfServiceSetupOff,
	`Security keys cannot be registered here yet: "Allow self-service setup" is off in your organisation's FIDO2 policy. Ask IT.`)

// selfServiceOff tells whether the tenant's FIDO2 policy has "Allow
// self-service setup" off, which is what a 403 from the provisioning API
// usually means; otherwise the 403 is a missing permission.
func (d *Directory) selfServiceOff(ctx context.Context) bool {
	p, err := d.FIDO2Policy(ctx, "")
	return err == nil && p.SelfServiceSetup != nil && !*p.SelfServiceSetup
}

// BeginRegistration fetches creation options from Entra, right when the
// kiosk is ready to touch (the challenge lives five minutes), and keeps
// what tapd needs to check the answer before sending it on: the challenge,
// Entra's rp id (the origin is https:// + rp id) and Entra's user handle.
func (d *Directory) BeginRegistration(ctx context.Context, upn string) (directory.Registration, error) {
	if !d.cloud.Registration {
		return directory.Registration{}, &directory.Failed{Result: store.AuditFailure, Reason: "registrationUnavailable",
			Err: api.E(api.CodeRegistrationUnavailable, "%s", d.cloud.NoRegistration())}
	}
	who, res, err := d.person(ctx, upn)
	if err != nil {
		return directory.Registration{}, err
	}
	o, res, err := d.g.CreationOptions(ctx, who.ID)
	if err != nil {
		if status(err) == http.StatusForbidden && d.selfServiceOff(ctx) {
			return directory.Registration{}, &directory.Failed{Result: store.AuditFailure, Reason: "selfServiceSetupOff", Trace: trace(nil, res), Err: ErrSelfServiceOff}
		}
		return directory.Registration{}, failure("start the key registration", res, err)
	}
	pk := o.PublicKey
	// Entra's documented options ask for authenticatorAttachment
	// "platform" (a passkey in the device itself). The kiosk's
	// authenticator is always a USB security key, which a browser would
	// skip for "platform"; Entra verifies the attestation, not the
	// attachment, so the hint is dropped on purpose rather than passed on
	// to a client that cannot honour it.
	if pk.AuthenticatorSelection.AuthenticatorAttachment == protocol.Platform {
		pk.AuthenticatorSelection.AuthenticatorAttachment = ""
	}
	handle, _ := pk.User.ID.(protocol.URLEncodedBase64) // graph.Client decoded and checked it
	uv := protocol.VerificationRequired
	if pk.AuthenticatorSelection.UserVerification != "" {
		uv = pk.AuthenticatorSelection.UserVerification
	}
	sd := webauthn.SessionData{Challenge: pk.Challenge.String(), RelyingPartyID: pk.RelyingParty.ID, Origin: "https://" + pk.RelyingParty.ID,
		UserID: handle, UserVerification: uv, CredParams: pk.Parameters, Extensions: pk.Extensions.Session()}
	return directory.Registration{Options: pk, Session: sd, Expires: o.ChallengeTimeoutDateTime, Trace: trace(nil, res)}, nil
}

// AddKey sends a response tapd has already verified on to Entra, then
// keeps a local record of the key for the key check. A refusal from Entra
// becomes a clear kiosk message; Graph's own words go only to the log.
//
// The local record refers to a local user row. A person who got a pass
// through tapd has one; a person whose key IT stages has not (yet), so
// the person is looked up first and mirrored with the key: without the
// row the record cannot be kept and the key check would not find the key.
func (d *Directory) AddKey(ctx context.Context, k directory.NewKey) (store.Method, directory.Trace, error) {
	m := k.Method
	who, res, err := d.person(ctx, m.UPN)
	if err != nil {
		return m, trace(nil, res), err
	}
	gm, res, err := d.g.RegisterFIDO2(ctx, who.ID, graph.RegisterFIDO2{DisplayName: m.DisplayName, PublicKeyCredential: k.Credential})
	t := trace(nil, res)
	if err != nil {
		f := writeFailed("register the key", res, err, t)
		switch st := status(err); {
		case st == http.StatusConflict:
			f.Reason, f.Err = "alreadyRegistered", directory.ErrAlreadyRegistered
		case st == http.StatusForbidden && d.selfServiceOff(ctx):
			f.Reason, f.Err = "selfServiceSetupOff", ErrSelfServiceOff
		case st == http.StatusBadRequest:
			f.Err = api.E(api.CodeRegistrationRejected,
				"Microsoft Entra ID refused this key. Ask IT to check the FIDO2 policy (key restrictions, attestation). Graph request id %s.", res.RequestID).Because(err)
		}
		return m, t, f
	}
	m.ID, m.DisplayName, m.CreatedAt = gm.ID, gm.DisplayName, gm.CreatedDateTime.UTC().Truncate(time.Millisecond)
	if gm.AttestationLevel != "" {
		m.AttestationLevel = gm.AttestationLevel
	}
	if gm.Model != "" {
		m.Model = gm.Model
	}
	err = d.mirror(ctx, userOf(who))
	if err == nil {
		err = d.st.CreateMethod(ctx, m)
	}
	if err != nil {
		// The key is in Entra, which is what matters; only the key check
		// will not find it.
		d.log.Error("local key record not kept", "method_id", m.ID, "err", err)
		t["localRecord"] = "notKept"
	}
	return m, t, nil
}
