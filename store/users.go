package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

func (s *SQL) insertUser(ctx context.Context, ex execer, u User) error {
	groups, _ := json.Marshal(nonNil(u.Groups))
	_, err := ex.ExecContext(ctx, s.q(`INSERT INTO users(upn_key, upn, display_name, user_type, guest_kind, groups_json, admin_role, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		upnKey(u.UPN), u.UPN, u.DisplayName, u.UserType, u.GuestKind, string(groups), u.AdminRole, ms(u.CreatedAt))
	return err
}

func (s *SQL) CreateUser(ctx context.Context, u User) error {
	return mapErr(s.insertUser(ctx, s.w(), u))
}

func (s *SQL) CreateUsers(ctx context.Context, us []User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, u := range us {
			if err := s.insertUser(ctx, tx, u); err != nil {
				return fmt.Errorf("%s: %w", u.UPN, mapErr(err))
			}
		}
		return nil
	})
}

const userCols = `upn, display_name, user_type, guest_kind, groups_json, admin_role, created_at`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var groups string
	var created int64
	if err := sc.Scan(&u.UPN, &u.DisplayName, &u.UserType, &u.GuestKind, &groups, &u.AdminRole, &created); err != nil {
		return u, mapErr(err)
	}
	u.CreatedAt = fromMS(created)
	if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
		return u, fmt.Errorf("user %s: corrupt groups: %w", u.UPN, err)
	}
	return u, nil
}

func (s *SQL) GetUser(ctx context.Context, upn string) (User, error) {
	return scanUser(s.r().QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE upn_key = ?`), upnKey(upn)))
}

func (s *SQL) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY upn_key`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}

func (s *SQL) DeleteUser(ctx context.Context, upn string) error {
	k := upnKey(upn)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range []string{
			`DELETE FROM sessions WHERE upn_key = ?`,
			`DELETE FROM passes WHERE upn_key = ?`,
			`DELETE FROM methods WHERE upn_key = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(stmt), k); err != nil {
				return err
			}
		}
		return affected(tx.ExecContext(ctx, s.q(`DELETE FROM users WHERE upn_key = ?`), k))
	})
}
