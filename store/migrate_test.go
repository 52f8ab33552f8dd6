package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/store"
)

// These tests need *store.SQL (an old schema, raw rows), so they are not in
// storetest.

// The legacy settings rows exactly as tapd wrote them before migration 4:
// tap.Policy and api.FIDO2Policy marshalled to JSON.
const (
	legacyTAP   = `{"state":"enabled","includeTargets":[{"targetType":"user","id":"zed@legacy.example"},{"targetType":"group","id":"staff"}],"excludeTargets":[],"minimumLifetimeInMinutes":60,"maximumLifetimeInMinutes":480,"defaultLifetimeInMinutes":90,"isUsableOnce":true,"defaultLength":10}`
	legacyFIDO2 = `{"isAttestationEnforced":true,"keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["cb69481e-8ff7-4039-93ec-0a2729a154a8","2fc0579f-8113-47ea-b116-bb5a8db9202a"]}}`
)

// atVersion3 returns a store whose schema is at version 3 and whose settings
// hold the given rows (name to JSON).
func atVersion3(t *testing.T, backend string, settings map[string]string) *store.SQL {
	t.Helper()
	ctx := context.Background()
	s := openEmpty(t, backend)
	if err := store.MigrateTo(ctx, s, 3); err != nil {
		t.Fatal(err)
	}
	for name, value := range settings {
		// The values hold no quote; literals spare the dialects' placeholders.
		if _, err := s.DB().ExecContext(ctx, "INSERT INTO settings(name, value) VALUES ('"+name+"', '"+value+"')"); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestMigrateConvertsLegacyPolicies(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := atVersion3(t, backend, map[string]string{"temporaryAccessPassPolicy": legacyTAP, "fido2Policy": legacyFIDO2})
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) {
				t.Fatalf("at version 3: want ErrSchema, got %v", err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Fatal(err)
			}
			wantTAP := store.TAPPolicy{
				Enabled:                true,
				IncludeTargets:         []store.PolicyTarget{{Type: "user", ID: "zed@legacy.example"}, {Type: "group", ID: "staff"}},
				ExcludeTargets:         []store.PolicyTarget{},
				MinimumLifetimeMinutes: 60, MaximumLifetimeMinutes: 480, DefaultLifetimeMinutes: 90,
				IsUsableOnce: true, DefaultLength: 10,
			}
			if got, err := s.GetTAPPolicy(ctx); err != nil || !reflect.DeepEqual(got, wantTAP) {
				t.Fatalf("TAP policy: got %+v %v, want %+v", got, err, wantTAP)
			}
			wantFIDO2 := store.FIDO2Policy{IsAttestationEnforced: true, KeyRestrictionsEnforced: true, KeyEnforcementType: "allow",
				AAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8", "2fc0579f-8113-47ea-b116-bb5a8db9202a"}}
			if got, err := s.GetFIDO2Policy(ctx); err != nil || !reflect.DeepEqual(got, wantFIDO2) {
				t.Fatalf("FIDO2 policy: got %+v %v, want %+v", got, err, wantFIDO2)
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err == nil {
				t.Fatalf("settings survived migration 4 with %d rows", n)
			}
		})
	}
}

// TestMigrateWithoutLegacyPolicies: a database where no admin ever set a
// policy migrates to no policy, so tapd keeps applying its defaults.
func TestMigrateWithoutLegacyPolicies(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := atVersion3(t, backend, nil)
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetTAPPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("TAP policy: want ErrNotFound, got %v", err)
			}
			if _, err := s.GetFIDO2Policy(ctx); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("FIDO2 policy: want ErrNotFound, got %v", err)
			}
		})
	}
}

// TestMigrateKeepsCorruptLegacyPolicy: a legacy row that does not decode
// stops the migration, which leaves the database at version 3 with the row,
// instead of dropping an admin's policy.
func TestMigrateKeepsCorruptLegacyPolicy(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := atVersion3(t, backend, map[string]string{"fido2Policy": `{"keyRestrictions":[]}`})
			err := s.Migrate(ctx)
			if err == nil || !strings.Contains(err.Error(), "fido2Policy") {
				t.Fatalf("want an error naming the setting, got %v", err)
			}
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) {
				t.Fatalf("want ErrSchema, got %v", err)
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil || n != 1 {
				t.Fatalf("settings: %d rows, %v", n, err)
			}
		})
	}
}

// TestSchemaNewerRefused: a database a newer tapd migrated (a migration
// numbered past every one embedded here, with a gap) is refused by both
// CheckSchema and Migrate, naming both versions, and left as it was; a
// database missing a migration in the middle is older, not newer.
func TestSchemaNewerRefused(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openMigrated(t, backend)
			var last int
			if err := s.DB().QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&last); err != nil {
				t.Fatal(err)
			}
			newer := last + 7
			if _, err := s.DB().ExecContext(ctx, "INSERT INTO schema_migrations(version, applied_at) VALUES ("+strconv.Itoa(newer)+", 0)"); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("the database is at migration %d, and this tapd knows migrations up to %d", newer, last)
			for name, err := range map[string]error{"CheckSchema": s.CheckSchema(ctx), "Migrate": s.Migrate(ctx)} {
				if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %v, want ErrSchemaNewer saying %q", name, err, want)
				}
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = "+strconv.Itoa(newer)).Scan(&n); err != nil || n != 1 {
				t.Fatalf("the newer migration's row: %d %v", n, err)
			}
			if _, err := s.DB().ExecContext(ctx, "DELETE FROM schema_migrations WHERE version IN (2, "+strconv.Itoa(newer)+")"); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) {
				t.Fatalf("migration 2 missing: want ErrSchema, got %v", err)
			}
		})
	}
}
