package server

import (
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
)

func (s *Server) createKiosk(c *call) error {
	var req api.CreateKioskRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	k, err := s.svc.CreateKiosk(c.r.Context(), c.who, req)
	return reply(c, http.StatusCreated, k, err)
}

func (s *Server) listKiosks(c *call) error {
	ks, err := s.svc.ListKiosks(c.r.Context())
	return list(c, ks, err)
}

func (s *Server) revokeKiosk(c *call) error {
	return c.done(s.svc.RevokeKiosk(c.r.Context(), c.who, c.r.PathValue("name")))
}

func (s *Server) createToken(c *call) error {
	var req api.CreateAdminTokenRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	t, err := s.svc.CreateToken(c.r.Context(), c.who, req)
	return reply(c, http.StatusCreated, t, err)
}

func (s *Server) listTokens(c *call) error {
	ts, err := s.svc.ListTokens(c.r.Context())
	return list(c, ts, err)
}

func (s *Server) revokeToken(c *call) error {
	return c.done(s.svc.RevokeToken(c.r.Context(), c.who, c.r.PathValue("name")))
}
