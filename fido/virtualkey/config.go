package virtualkey

import "bytes"

// authenticatorConfig subcommands (CTAP 2.1 §6.11).
const (
	cfgToggleAlwaysUV  = 0x02
	cfgSetMinPINLength = 0x03
)

type setMinPINLengthParams struct {
	NewMinPINLength   *uint64  `cbor:"1,keyasint"`
	MinPINLengthRPIDs []string `cbor:"2,keyasint"`
	ForceChangePIN    *bool    `cbor:"3,keyasint"`
}

// config implements authenticatorConfig: toggleAlwaysUv and
// setMinPINLength. A key protected by a PIN or built-in UV wants a
// pinUvAuthParam over 32×0xff ‖ 0x0d ‖ subCommand ‖ subCommandParams made
// with a token that has the acfg permission (§6.11.1).
func (k *Key) config(params []byte) error {
	var r subCommandRequest
	if err := decodeParams(params, &r); err != nil {
		return err
	}
	if r.SubCommand == nil {
		return statusError(ctap2ErrMissingParameter)
	}
	sub := *r.SubCommand
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.st.PINHash != nil || k.opts.BuiltInUV {
		if r.PinUvAuthParam == nil {
			return statusError(ctap2ErrPUATRequired)
		}
		msg := append(bytes.Repeat([]byte{0xff}, 32), cmdConfig, byte(sub))
		msg = append(msg, r.SubCommandParams...)
		if err := k.checkToken(r.PinUvAuthParam, r.PinUvAuthProtocol, msg, permAuthnrCfg, ""); err != nil {
			return err
		}
	}
	switch sub {
	case cfgToggleAlwaysUV:
		k.st.AlwaysUV = !k.st.AlwaysUV
		return k.save()
	case cfgSetMinPINLength:
		var p setMinPINLengthParams
		if len(r.SubCommandParams) > 0 {
			if err := decodeParams(r.SubCommandParams, &p); err != nil {
				return err
			}
		}
		return k.setMinPINLength(p)
	}
	return statusError(ctap2ErrInvalidSubcommand)
}

// setMinPINLength follows §6.11.4: the minimum only goes up (a reset is
// the only way down); a PIN shorter than the new minimum, or
// forceChangePin, leaves forcePINChange set. Called with k.mu held.
func (k *Key) setMinPINLength(p setMinPINLengthParams) error {
	cur := k.minPINLength()
	n := cur
	if p.NewMinPINLength != nil {
		if *p.NewMinPINLength > maxMinPINLength {
			return statusError(ctap2ErrPINPolicyViolation)
		}
		n = int(*p.NewMinPINLength)
	}
	if n < cur {
		return statusError(ctap2ErrPINPolicyViolation)
	}
	if len(p.MinPINLengthRPIDs) > 0 {
		// No relying party may read the minimum here (maxRPIDsForSetMinPINLength is 0).
		return statusError(ctap1ErrInvalidParameter)
	}
	force := p.ForceChangePIN != nil && *p.ForceChangePIN
	if force && k.st.PINHash == nil {
		return statusError(ctap2ErrPINNotSet)
	}
	k.st.MinPINLength = n
	if force || (k.st.PINHash != nil && k.st.PINLength < n) {
		k.st.ForcePINChange = true
	}
	return k.save()
}

// maxMinPINLength is the longest minimum the key takes: a PIN is at most
// 63 bytes, so no longer minimum could ever be met.
const maxMinPINLength = 63
