package store

// AuditResult is how an audited action ended.
type AuditResult string

// Audit results. Unknown is for a write to an outside directory whose
// outcome never came back: the trail never claims less than may have
// happened.
const (
	AuditSuccess AuditResult = "success"
	AuditFailure AuditResult = "failure"
	AuditUnknown AuditResult = "unknown"
)
