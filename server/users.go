package server

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

func (s *Server) createUser(c *call) error {
	var in api.User
	if err := s.decode(c, &in); err != nil {
		return err
	}
	u, err := s.svc.CreateUser(c.r.Context(), c.who, in)
	return reply(c, http.StatusCreated, u, err)
}

func (s *Server) getUser(c *call) error {
	u, err := s.svc.User(c.r.Context(), c.r.PathValue("upn"))
	return reply(c, http.StatusOK, u, err)
}

func (s *Server) listUsers(c *call) error {
	us, err := s.svc.ListUsers(c.r.Context())
	return list(c, us, err)
}

// unlockUser clears the account's locks; ?revokeKiosks=true also revokes
// the kiosks that started them (which needs the kiosk permission too).
func (s *Server) unlockUser(c *call) error {
	rk := c.r.URL.Query().Get("revokeKiosks")
	if rk != "" && rk != "true" && rk != "false" {
		return api.Invalid("revokeKiosks", "revokeKiosks must be true or false.")
	}
	l, err := s.svc.Unlock(c.r.Context(), c.who, c.r.PathValue("upn"), rk == "true")
	return reply(c, http.StatusOK, l, err)
}

func (s *Server) deleteUser(c *call) error {
	return c.done(s.svc.DeleteUser(c.r.Context(), c.who, c.r.PathValue("upn")))
}

var csvColumns = []string{"userPrincipalName", "displayName", "userType", "guestKind", "groups", "adminRole"}

// importUsers reads a CSV with a header row and hands each row to the
// service as it is read, which checks it and keeps only what it will
// write; nothing is written before the whole file is read, and one bad
// row imports nothing unless ?mode=partial.
func (s *Server) importUsers(c *call) error {
	rd, err := s.csvBody(c)
	if err != nil {
		return err
	}
	mode := c.r.URL.Query().Get("mode")
	if mode != "" && mode != "partial" && mode != "all" {
		return api.Invalid("mode", `mode must be "all" (the default) or "partial".`)
	}
	header, err := rd.Read()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return s.csvTooLarge()
	}
	if err != nil {
		return api.E(api.CodeBadRequest, "The CSV file has no header row; the first line must name the columns: %s.", strings.Join(csvColumns, ","))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		known := false
		for _, k := range csvColumns {
			if strings.EqualFold(h, k) {
				col[k], known = i, true
			}
		}
		if !known {
			return api.E(api.CodeBadRequest, "Unknown CSV column %q; the columns are %s.", h, strings.Join(csvColumns, ","))
		}
	}
	for _, need := range []string{"userPrincipalName", "displayName"} {
		if _, ok := col[need]; !ok {
			return api.E(api.CodeBadRequest, "The CSV header has no %s column.", need)
		}
	}
	ctx := c.r.Context()
	im, err := s.svc.StartUserImport(ctx, c.who, mode == "partial", mode)
	if err != nil {
		return err
	}
	err = s.csvRecords(rd, 2, func(row int, rec []string, bad string) error {
		if bad != "" {
			return im.Add(ctx, recovery.ImportRow{Row: row, Err: bad})
		}
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		in := api.User{UserPrincipalName: get("userPrincipalName"), DisplayName: get("displayName"), UserType: get("userType"),
			GuestKind: get("guestKind"), AdminRole: get("adminRole")}
		if g := get("groups"); g != "" {
			in.Groups = strings.Split(g, ";")
		}
		return im.Add(ctx, recovery.ImportRow{Row: row, User: in})
	})
	if err != nil {
		return err
	}
	res, err := im.Finish(ctx)
	return reply(c, http.StatusOK, res, err)
}

// csvBody reads the request's body as CSV, up to MaxCSVBytes; a body
// sent as anything but text/csv is refused.
func (s *Server) csvBody(c *call) (*csv.Reader, error) {
	if mt := c.r.Header.Get("Content-Type"); mt != "" && !strings.HasPrefix(mt, "text/csv") {
		return nil, api.E(api.CodeUnsupportedMediaType, "Send the file as text/csv, not %q.", mt)
	}
	rd := csv.NewReader(http.MaxBytesReader(c.w, c.r.Body, s.cfg.MaxCSVBytes))
	rd.FieldsPerRecord = -1
	return rd, nil
}

func (s *Server) csvTooLarge() error {
	return api.E(api.CodePayloadTooLarge, "The CSV file is larger than the %d-byte limit.", s.cfg.MaxCSVBytes)
}

// csvRecords reads the rest of rd, numbering lines from line, and hands
// each record to each as it is read; a line that is not CSV goes to each
// with why it is not (a reader error that is not a parse error ends the
// file there). An error from each ends the reading; a file over the byte
// limit is 413.
func (s *Server) csvRecords(rd *csv.Reader, line int, each func(line int, rec []string, bad string) error) error {
	var mbe *http.MaxBytesError
	for ; ; line++ {
		rec, err := rd.Read()
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &mbe):
			return s.csvTooLarge()
		case err != nil:
			if err := each(line, nil, "not valid CSV: "+csvErr(err)); err != nil {
				return err
			}
			if _, ok := err.(*csv.ParseError); !ok {
				return nil
			}
		default:
			if err := each(line, rec, ""); err != nil {
				return err
			}
		}
	}
}

func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
