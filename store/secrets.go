package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
)

func (s *SQL) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var value string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The first instance to ask makes it; every later ask, from any
		// instance, reads that one.
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO secrets(name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`),
			name, hex.EncodeToString(fresh)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q(`SELECT value FROM secrets WHERE name = ?`), name).Scan(&value)
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return hex.DecodeString(value)
}
