package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Staging: IT registers security keys for people (on their behalf, as
// Graph's FIDO2 provisioning does) before handing the keys out. A batch
// holds one row per person; the kiosk's staging mode works through the
// pending rows and registers each with its row, so a crash or a pulled
// key resumes where it stopped and nobody is registered twice. A PIN is
// never sent to tapd: there is no PIN field anywhere here.

// Staging row states.
const (
	StagingPending    = "pending"
	StagingRegistered = "registered"
	StagingFailed     = "failed"
	// StagingRemoved is a row whose key was registered and whose
	// registration is gone since (deleted through tapd, at a walk-up
	// kiosk's clean-up, or in Entra): it keeps the key's facts, so a
	// station can say whose key it was, and holds neither the person nor
	// the key any more.
	StagingRemoved = "removed"
)

// StagingPerson is one person to stage a key for. DisplayName defaults to
// the directory's; KeyName to the usual default key name.
type StagingPerson struct {
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	KeyName           string `json:"keyName,omitempty"`
	// PreferredLanguage (Graph's name) is the language of the person's
	// PIN letter, a BCP 47 tag such as sv or sv-SE; the kiosk writes it
	// in that language when it has it, else in the batch's.
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
}

// CreateStagingBatchRequest makes a batch (POST /v1/stagingBatches) from
// either a list of people (Users) or a directory group (Group), never
// both. Group is the group's display name, or in Entra mode its object id
// as well (display names are not unique there); tapd stages every user
// in it, nested groups' members included in Entra, each checked as a
// listed person would be.
type CreateStagingBatchRequest struct {
	Name  string          `json:"name"`
	Users []StagingPerson `json:"users,omitempty"`
	Group string          `json:"group,omitempty"`
}

// StagingBatch is a batch with its counts; Rows is set when one batch is
// read.
type StagingBatch struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	CreatedDateTime time.Time    `json:"createdDateTime"`
	CreatedBy       string       `json:"createdBy"`
	PendingCount    int          `json:"pendingCount"`
	RegisteredCount int          `json:"registeredCount"`
	FailedCount     int          `json:"failedCount"`
	RemovedCount    int          `json:"removedCount"`
	Rows            []StagingRow `json:"rows,omitempty"`
}

// StagingRow is one person of a batch and how their key went.
type StagingRow struct {
	ID                   string     `json:"id"`
	UserPrincipalName    string     `json:"userPrincipalName"`
	DisplayName          string     `json:"displayName"`
	KeyName              string     `json:"keyName,omitempty"`
	PreferredLanguage    string     `json:"preferredLanguage,omitempty"`
	State                string     `json:"state"` // pending, registered, failed or removed
	FailureReason        string     `json:"failureReason,omitempty"`
	MethodID             string     `json:"methodId,omitempty"`
	AAGUID               string     `json:"aaGuid,omitempty"`
	Model                string     `json:"model,omitempty"`
	SerialNumber         string     `json:"serialNumber,omitempty"`
	CredentialID         string     `json:"credentialId,omitempty"`
	RegisteredDateTime   *time.Time `json:"registeredDateTime,omitempty"`
	PINChangeForced      bool       `json:"pinChangeForced"`
	LastModifiedDateTime time.Time  `json:"lastModifiedDateTime"`
}

// StagingRowPatch is what the kiosk reports of a row outside a
// registration (PATCH /v1/stagingBatches/{id}/rows/{rowId}): a failure
// with its reason, a failed row back to pending for another try, or, on a
// registered row, the serial and the forced PIN change learnt after it.
// A row becomes registered only by registering with it.
type StagingRowPatch struct {
	State           *string `json:"state,omitempty"`
	FailureReason   *string `json:"failureReason,omitempty"`
	SerialNumber    *string `json:"serialNumber,omitempty"`
	PINChangeForced *bool   `json:"pinChangeForced,omitempty"`
}

// StagedFIDO2Request registers a key for someone (POST
// /v1/users/{upn}/fido2Methods): Graph's body, and, when the key is
// staged in a batch, the batch and row, recorded with the key in one
// step, with what the kiosk knows of the key.
type StagedFIDO2Request struct {
	RegisterFIDO2Request
	StagingBatchID  string `json:"stagingBatchId,omitempty"`
	StagingRowID    string `json:"stagingRowId,omitempty"`
	SerialNumber    string `json:"serialNumber,omitempty"`
	PINChangeForced bool   `json:"pinChangeForced,omitempty"`
}

// ManifestEntry is one person of a batch's manifest: everyone in the
// batch, with their state (a failed row's reason says why they were
// skipped), and the key's facts when one was registered.
type ManifestEntry struct {
	UserPrincipalName  string     `json:"userPrincipalName"`
	DisplayName        string     `json:"displayName"`
	KeyName            string     `json:"keyName"`
	State              string     `json:"state"`
	FailureReason      string     `json:"failureReason"`
	MethodID           string     `json:"methodId"`
	AAGUID             string     `json:"aaGuid"`
	Model              string     `json:"model"`
	SerialNumber       string     `json:"serialNumber"`
	CredentialID       string     `json:"credentialId"`
	RegisteredDateTime *time.Time `json:"registeredDateTime"`
	PINChangeForced    bool       `json:"pinChangeForced"`
}

// ManifestColumns are the CSV manifest's header.
var ManifestColumns = []string{"userPrincipalName", "displayName", "keyName", "state", "failureReason",
	"methodId", "aaGuid", "model", "serialNumber", "credentialId", "registeredDateTime", "pinChangeForced"}

// Staging audit actions.
const (
	ActionCreateStagingBatch = "createStagingBatch"
	ActionUpdateStagingRow   = "updateStagingRow"
	ActionDeleteStagingBatch = "deleteStagingBatch"
	ActionRemoveStagingRow   = "removeStagingRow"
	ActionReissueStagingRow  = "reissueStagingRow"
)

// UserCreationOptions begins a registration for someone (staging). With
// a batch and row, a row already registered is refused before the touch.
func (c *Client) UserCreationOptions(ctx context.Context, upn, batchID, rowID string) (CreationOptions, error) {
	var out CreationOptions
	path := "/v1/users/" + esc(upn) + "/fido2Methods/creationOptions"
	if batchID != "" || rowID != "" {
		path += "?" + url.Values{"stagingBatchId": {batchID}, "stagingRowId": {rowID}}.Encode()
	}
	return out, c.json(ctx, http.MethodPost, path, nil, &out)
}

// RegisterUserFIDO2 sends the key's answer for someone.
func (c *Client) RegisterUserFIDO2(ctx context.Context, upn string, r StagedFIDO2Request) (FIDO2Method, error) {
	var out FIDO2Method
	return out, c.json(ctx, http.MethodPost, "/v1/users/"+esc(upn)+"/fido2Methods", r, &out)
}

// CreateStagingBatch makes a batch from a list of people or a group.
func (c *Client) CreateStagingBatch(ctx context.Context, r CreateStagingBatchRequest) (StagingBatch, error) {
	var out StagingBatch
	return out, c.json(ctx, http.MethodPost, "/v1/stagingBatches", r, &out)
}

// ImportStagingBatch makes a batch from a CSV file (upn,displayName,keyName).
func (c *Client) ImportStagingBatch(ctx context.Context, name string, csv io.Reader) (StagingBatch, error) {
	var out StagingBatch
	return out, c.do(ctx, http.MethodPost, "/v1/stagingBatches/import?"+url.Values{"name": {name}}.Encode(), csv, "text/csv", &out)
}

// ListStagingBatches lists the batches with their counts.
func (c *Client) ListStagingBatches(ctx context.Context) ([]StagingBatch, error) {
	var out List[StagingBatch]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/stagingBatches", nil, &out)
}

// GetStagingBatch reads a batch, by id or name, with its rows.
func (c *Client) GetStagingBatch(ctx context.Context, ref string) (StagingBatch, error) {
	var out StagingBatch
	return out, c.json(ctx, http.MethodGet, "/v1/stagingBatches/"+esc(ref), nil, &out)
}

// UpdateStagingRow reports a row's outcome outside a registration.
func (c *Client) UpdateStagingRow(ctx context.Context, ref, rowID string, p StagingRowPatch) (StagingRow, error) {
	var out StagingRow
	return out, c.json(ctx, http.MethodPatch, "/v1/stagingBatches/"+esc(ref)+"/rows/"+esc(rowID), p, &out)
}

// GetStagingRow reads one row, checked first against the directory: a
// registered row whose key's registration is gone comes back removed.
func (c *Client) GetStagingRow(ctx context.Context, ref, rowID string) (StagingRow, error) {
	var out StagingRow
	return out, c.json(ctx, http.MethodGet, "/v1/stagingBatches/"+esc(ref)+"/rows/"+esc(rowID), nil, &out)
}

// DeleteStagingBatch deletes a batch none of whose rows holds a key.
func (c *Client) DeleteStagingBatch(ctx context.Context, ref string) error {
	return c.json(ctx, http.MethodDelete, "/v1/stagingBatches/"+esc(ref), nil, nil)
}

// RemoveStagingRow removes one person's row that holds no key.
func (c *Client) RemoveStagingRow(ctx context.Context, ref, rowID string) error {
	return c.json(ctx, http.MethodDelete, "/v1/stagingBatches/"+esc(ref)+"/rows/"+esc(rowID), nil, nil)
}

// ReissueStagingRow removes the registration of a row's lost key (if it
// is still there) and puts the row back to pending, to stage the person
// anew. The caller confirms first: the key stops working at once.
func (c *Client) ReissueStagingRow(ctx context.Context, ref, rowID string) (StagingRow, error) {
	var out StagingRow
	return out, c.json(ctx, http.MethodPost, "/v1/stagingBatches/"+esc(ref)+"/rows/"+esc(rowID)+"/reissue", nil, &out)
}

// StagingManifest is the batch's manifest: everyone in it.
func (c *Client) StagingManifest(ctx context.Context, ref string) ([]ManifestEntry, error) {
	var out List[ManifestEntry]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/stagingBatches/"+esc(ref)+"/manifest?format=json", nil, &out)
}

// StagingManifestCSV is the manifest as tapd writes it in CSV.
func (c *Client) StagingManifestCSV(ctx context.Context, ref string) ([]byte, error) {
	var out []byte
	return out, c.do(ctx, http.MethodGet, "/v1/stagingBatches/"+esc(ref)+"/manifest?format=csv", nil, "", &out)
}
