package server

import (
	"net/http"
	"strings"

	"github.com/tapkiosk/tapkiosk/api"
)

// inviteStaff makes a console staff member and answers their one-time
// enrolment link, once.
func (s *Server) inviteStaff(c *call) error {
	var req api.CreateStaffRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	tok, exp, err := s.svc.InviteStaff(c.r.Context(), c.who, req.Name, req.Role)
	if err != nil {
		return err
	}
	return reply(c, http.StatusCreated, api.StaffInvitation{Name: strings.TrimSpace(req.Name), Role: req.Role,
		InvitationURL: strings.TrimRight(s.cfg.ConsoleURL, "/") + "/console/enrol?t=" + tok, ExpiresDateTime: exp}, nil)
}
