package server

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// Staging: on-behalf registration (Graph's shape, under /v1/users/{upn})
// and the batches the kiosk's staging mode works through.

func (s *Server) userCreationOptions(c *call) error {
	q := c.r.URL.Query()
	o, err := s.svc.UserCreationOptions(c.r.Context(), c.who, c.r.PathValue("upn"), q.Get("stagingBatchId"), q.Get("stagingRowId"))
	return reply(c, http.StatusCreated, o, err)
}

func (s *Server) registerUserFIDO2(c *call) error {
	var req api.StagedFIDO2Request
	if err := s.decode(c, &req); err != nil {
		return err
	}
	m, err := s.svc.RegisterForUser(c.r.Context(), c.who, c.r.PathValue("upn"), req)
	return reply(c, http.StatusCreated, m, err)
}

func (s *Server) createStagingBatch(c *call) error {
	var req api.CreateStagingBatchRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	if req.Group != "" && len(req.Users) > 0 {
		return api.Invalid("group", "Give either users or group, not both.")
	}
	if req.Group != "" {
		b, err := s.svc.CreateStagingBatchFromGroup(c.r.Context(), c.who, req.Name, req.Group)
		return reply(c, http.StatusCreated, b, err)
	}
	in := make([]recovery.StagingInput, len(req.Users))
	for i, p := range req.Users {
		in[i] = recovery.StagingInput{Row: i + 1, Person: p}
	}
	b, err := s.svc.CreateStagingBatch(c.r.Context(), c.who, req.Name, in)
	return reply(c, http.StatusCreated, b, err)
}

var stagingColumns = []string{"userPrincipalName", "displayName", "keyName", "preferredLanguage"}

// importStagingBatch reads a CSV of upn,displayName,keyName and an
// optional fourth column, the person's letter language
// (preferredLanguage). A header row (upn or userPrincipalName first) is
// optional; without one the columns are in that order.
func (s *Server) importStagingBatch(c *call) error {
	rd, err := s.csvBody(c)
	if err != nil {
		return err
	}
	name := c.r.URL.Query().Get("name")
	if name == "" {
		return api.Invalid("name", "Name the batch with ?name=.")
	}
	ctx := c.r.Context()
	sb, err := s.svc.StartStagingBatch(c.who, name)
	if err != nil {
		return err
	}
	err = s.csvRecords(rd, 1, func(line int, rec []string, bad string) error {
		get := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(strings.TrimPrefix(rec[i], "\ufeff"))
			}
			return ""
		}
		switch {
		case bad != "":
			return sb.Add(ctx, recovery.StagingInput{Row: line, Err: bad})
		case line == 1 && (strings.EqualFold(get(0), "upn") || strings.EqualFold(get(0), "userPrincipalName")):
			return nil
		case len(rec) > len(stagingColumns):
			return sb.Add(ctx, recovery.StagingInput{Row: line, Err: "has more than the 4 columns upn,displayName,keyName,preferredLanguage"})
		default:
			return sb.Add(ctx, recovery.StagingInput{Row: line, Person: api.StagingPerson{UserPrincipalName: get(0), DisplayName: get(1), KeyName: get(2), PreferredLanguage: get(3)}})
		}
	})
	if err != nil {
		return err
	}
	b, err := sb.Finish(ctx)
	return reply(c, http.StatusCreated, b, err)
}

func (s *Server) listStagingBatches(c *call) error {
	bs, err := s.svc.ListStagingBatches(c.r.Context())
	return list(c, bs, err)
}

func (s *Server) getStagingBatch(c *call) error {
	b, err := s.svc.StagingBatch(c.r.Context(), c.r.PathValue("id"))
	return reply(c, http.StatusOK, b, err)
}

func (s *Server) updateStagingRow(c *call) error {
	var p api.StagingRowPatch
	if err := s.decode(c, &p); err != nil {
		return err
	}
	r, err := s.svc.UpdateStagingRow(c.r.Context(), c.who, c.r.PathValue("id"), c.r.PathValue("rowId"), p)
	return reply(c, http.StatusOK, r, err)
}

func (s *Server) getStagingRow(c *call) error {
	r, err := s.svc.StagingRow(c.r.Context(), c.who, c.r.PathValue("id"), c.r.PathValue("rowId"))
	return reply(c, http.StatusOK, r, err)
}

func (s *Server) deleteStagingBatch(c *call) error {
	return c.done(s.svc.DeleteStagingBatch(c.r.Context(), c.who, c.r.PathValue("id")))
}

func (s *Server) removeStagingRow(c *call) error {
	return c.done(s.svc.RemoveStagingRow(c.r.Context(), c.who, c.r.PathValue("id"), c.r.PathValue("rowId")))
}

func (s *Server) reissueStagingRow(c *call) error {
	r, err := s.svc.ReissueStagingRow(c.r.Context(), c.who, c.r.PathValue("id"), c.r.PathValue("rowId"))
	return reply(c, http.StatusOK, r, err)
}

// stagingManifest sends everyone in the batch as JSON (the default) or CSV.
func (s *Server) stagingManifest(c *call) error {
	format := c.r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return api.Invalid("format", `format must be "json" or "csv".`)
	}
	ms, err := s.svc.StagingManifest(c.r.Context(), c.r.PathValue("id"))
	if err != nil || format != "csv" {
		return list(c, ms, err)
	}
	c.status = http.StatusOK
	c.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.w)
	w.Write(api.ManifestColumns)
	for _, m := range ms {
		at := ""
		if m.RegisteredDateTime != nil {
			at = m.RegisteredDateTime.UTC().Format(time.RFC3339Nano)
		}
		w.Write([]string{m.UserPrincipalName, m.DisplayName, m.KeyName, m.State, m.FailureReason, m.MethodID, m.AAGUID, m.Model,
			m.SerialNumber, m.CredentialID, at, strconv.FormatBool(m.PINChangeForced)})
	}
	w.Flush()
	return w.Error()
}
