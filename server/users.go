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

func (s *Server) unlockUser(c *call) error {
	l, err := s.svc.Unlock(c.r.Context(), c.who, c.r.PathValue("upn"))
	return reply(c, http.StatusOK, l, err)
}

func (s *Server) deleteUser(c *call) error {
	return c.done(s.svc.DeleteUser(c.r.Context(), c.who, c.r.PathValue("upn")))
}

var csvColumns = []string{"userPrincipalName", "displayName", "userType", "guestKind", "groups", "adminRole"}

// importUsers reads a CSV with a header row and hands the rows to the
// service, which checks every row before it writes any. ?mode=partial
// imports the good rows when some are bad.
func (s *Server) importUsers(c *call) error {
	if mt := c.r.Header.Get("Content-Type"); mt != "" && !strings.HasPrefix(mt, "text/csv") {
		return api.E(api.CodeUnsupportedMediaType, "Send the file as text/csv, not %q.", mt)
	}
	mode := c.r.URL.Query().Get("mode")
	if mode != "" && mode != "partial" && mode != "all" {
		return api.Invalid("mode", `mode must be "all" (the default) or "partial".`)
	}
	tooLarge := api.E(api.CodePayloadTooLarge, "The CSV file is larger than the %d-byte limit.", s.cfg.MaxCSVBytes)
	rd := csv.NewReader(http.MaxBytesReader(c.w, c.r.Body, s.cfg.MaxCSVBytes))
	rd.FieldsPerRecord = -1
	header, err := rd.Read()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
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
	var rows []recovery.ImportRow
	for row := 2; ; row++ {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &mbe) {
			return tooLarge
		}
		if err != nil {
			rows = append(rows, recovery.ImportRow{Row: row, Err: "not valid CSV: " + csvErr(err)})
			if _, ok := err.(*csv.ParseError); !ok {
				break
			}
			continue
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
		rows = append(rows, recovery.ImportRow{Row: row, User: in})
	}
	res, err := s.svc.ImportUsers(c.r.Context(), c.who, rows, mode == "partial", mode)
	return reply(c, http.StatusOK, res, err)
}

func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
