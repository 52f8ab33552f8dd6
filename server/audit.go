package server

import (
	"strconv"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

// listAudit reads the filter from the query: user, action, actor, result,
// since and until (RFC 3339), top (at most 1000) and before (an entry id,
// for paging).
func (s *Server) listAudit(c *call) error {
	q := c.r.URL.Query()
	f := store.AuditFilter{Target: q.Get("user"), Action: q.Get("action"), Actor: q.Get("actor"), Result: q.Get("result")}
	parseTime := func(k string) (time.Time, error) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return t, api.Invalid(k, "%s must be an RFC 3339 date like 2026-11-23T09:00:00Z.", k)
		}
		return t, nil
	}
	var err error
	if f.Since, err = parseTime("since"); err != nil {
		return err
	}
	if f.Until, err = parseTime("until"); err != nil {
		return err
	}
	for k, dst := range map[string]*int64{"top": nil, "before": &f.Before} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return api.Invalid(k, "%s must be a positive whole number.", k)
		}
		if dst != nil {
			*dst = n
		} else {
			f.Limit = int(min(n, 1000))
		}
	}
	es, err := s.svc.Audit(c.r.Context(), f)
	return list(c, es, err)
}
