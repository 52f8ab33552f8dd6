package server

func (s *Server) listSessionMethods(c *call) error {
	ms, err := s.svc.SessionMethods(c.r.Context(), c.who)
	return list(c, ms, err)
}

func (s *Server) deleteSessionMethod(c *call) error {
	return c.done(s.svc.DeleteSessionMethod(c.r.Context(), c.who, c.r.PathValue("id")))
}

func (s *Server) listUserMethods(c *call) error {
	ms, err := s.svc.UserMethods(c.r.Context(), c.r.PathValue("upn"))
	return list(c, ms, err)
}

func (s *Server) deleteUserMethod(c *call) error {
	return c.done(s.svc.DeleteUserMethod(c.r.Context(), c.who, c.r.PathValue("upn"), c.r.PathValue("id")))
}
