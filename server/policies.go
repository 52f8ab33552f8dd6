package server

import (
	"net/http"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/tap"
)

func (s *Server) getPolicy(c *call) error {
	p, err := s.svc.TAPPolicy(c.r.Context())
	return reply(c, http.StatusOK, p, err)
}

func (s *Server) patchPolicy(c *call) error {
	var patch tap.PolicyPatch
	if err := s.decode(c, &patch); err != nil {
		return err
	}
	p, err := s.svc.PatchTAPPolicy(c.r.Context(), c.who, patch)
	return reply(c, http.StatusOK, p, err)
}

func (s *Server) getFIDO2Policy(c *call) error {
	p, err := s.svc.FIDO2Policy(c.r.Context())
	return reply(c, http.StatusOK, p, err)
}

func (s *Server) patchFIDO2Policy(c *call) error {
	var patch api.FIDO2PolicyPatch
	if err := s.decode(c, &patch); err != nil {
		return err
	}
	p, err := s.svc.PatchFIDO2Policy(c.r.Context(), c.who, patch)
	return reply(c, http.StatusOK, p, err)
}
