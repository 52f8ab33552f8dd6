package virtualkey

// CTAP status codes the key answers with (CTAP 2.1 §8.2).
const (
	ctap1Success                   = 0x00
	ctap1ErrInvalidCommand         = 0x01
	ctap1ErrInvalidParameter       = 0x02
	ctap1ErrInvalidLength          = 0x03
	ctap2ErrCBORUnexpectedType     = 0x11
	ctap2ErrInvalidCBOR            = 0x12
	ctap2ErrMissingParameter       = 0x14
	ctap2ErrCredentialExcluded     = 0x19
	ctap2ErrUnsupportedAlgorithm   = 0x26
	ctap2ErrOperationDenied        = 0x27
	ctap2ErrKeyStoreFull           = 0x28
	ctap2ErrUnsupportedOption      = 0x2b
	ctap2ErrInvalidOption          = 0x2c
	ctap2ErrKeepaliveCancel        = 0x2d
	ctap2ErrNoCredentials          = 0x2e
	ctap2ErrUserActionTimeout      = 0x2f
	ctap2ErrNotAllowed             = 0x30
	ctap2ErrPINInvalid             = 0x31
	ctap2ErrPINBlocked             = 0x32
	ctap2ErrPINAuthInvalid         = 0x33
	ctap2ErrPINAuthBlocked         = 0x34
	ctap2ErrPINNotSet              = 0x35
	ctap2ErrPUATRequired           = 0x36
	ctap2ErrPINPolicyViolation     = 0x37
	ctap2ErrRequestTooLarge        = 0x39
	ctap2ErrUnauthorizedPermission = 0x40
	ctap1ErrOther                  = 0x7f
)

// statusError carries a CTAP status out of a handler.
type statusError byte

func (s statusError) Error() string { return "ctap status " + hexByte(byte(s)) }

func hexByte(b byte) string {
	const h = "0123456789abcdef"
	return "0x" + string([]byte{h[b>>4], h[b&15]})
}
