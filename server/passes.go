package server

import (
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
)

func (s *Server) createPass(c *call) error {
	var req api.CreatePassRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	p, err := s.svc.CreatePass(c.r.Context(), c.who, c.r.PathValue("upn"), req)
	return reply(c, http.StatusCreated, p, err)
}

func (s *Server) listPasses(c *call) error {
	ps, err := s.svc.Passes(c.r.Context(), c.r.PathValue("upn"))
	return list(c, ps, err)
}

func (s *Server) deletePass(c *call) error {
	return c.done(s.svc.DeletePass(c.r.Context(), c.who, c.r.PathValue("upn"), c.r.PathValue("id")))
}
