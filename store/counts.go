package store

import (
	"context"
	"time"
)

// CountOpenSessions counts the sessions that have not expired at now,
// for tapd's metrics.
func (s *SQL) CountOpenSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sessions WHERE expires_at > ?`), ms(now)).Scan(&n)
	return n, mapErr(err)
}
