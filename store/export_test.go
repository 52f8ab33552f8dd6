package store

import "context"

// MigrateTo lets the external tests build a database at an old schema
// version, to test what migrating from it does.
func MigrateTo(ctx context.Context, s *SQL, version int) error { return s.migrateTo(ctx, version) }
