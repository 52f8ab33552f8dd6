package server

import (
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
)

func (s *Server) creationOptions(c *call) error {
	o, err := s.svc.CreationOptions(c.r.Context(), c.who)
	return reply(c, http.StatusCreated, o, err)
}

func (s *Server) registerFIDO2(c *call) error {
	var req api.RegisterFIDO2Request
	if err := s.decode(c, &req); err != nil {
		return err
	}
	m, err := s.svc.Register(c.r.Context(), c.who, req)
	return reply(c, http.StatusCreated, m, err)
}

func (s *Server) assertionOptions(c *call) error {
	o, err := s.svc.AssertionOptions(c.r.Context(), c.who, c.r.PathValue("id"))
	return reply(c, http.StatusCreated, o, err)
}

func (s *Server) checkKey(c *call) error {
	var req api.AssertionRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	k, err := s.svc.CheckKey(c.r.Context(), c.who, c.r.PathValue("id"), req)
	return reply(c, http.StatusOK, k, err)
}
