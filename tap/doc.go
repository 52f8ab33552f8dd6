// Package tap holds the Temporary Access Pass rules as pure functions: policy
// ranges, who the policy targets, pass generation and hashing, and why a pass
// can or cannot be used right now. It does no I/O and imports nothing of ours,
// so the rules can be tested exhaustively and shared by every directory
// (local store or Microsoft Entra ID).
package tap
