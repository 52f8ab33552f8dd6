package server

import (
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
)

func (s *Server) openSession(c *call) error {
	var req api.SessionRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	in, err := s.svc.SignIn(c.r.Context(), c.who, req.UserPrincipalName, req.TemporaryAccessPass)
	if err != nil {
		return err
	}
	out := in.Session
	out.SessionToken = in.Token
	return c.writeJSON(http.StatusCreated, out)
}

func (s *Server) getSession(c *call) error {
	out, err := s.svc.Session(c.r.Context(), c.who)
	return reply(c, http.StatusOK, out, err)
}

func (s *Server) signOut(c *call) error {
	return c.done(s.svc.SignOut(c.r.Context(), c.who))
}

func (s *Server) deleteSessionPass(c *call) error {
	return c.done(s.svc.DeleteSessionPass(c.r.Context(), c.who))
}
