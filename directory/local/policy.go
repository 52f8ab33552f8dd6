package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

const (
	tapPolicySetting   = "temporaryAccessPassPolicy"
	fido2PolicySetting = "fido2Policy"
)

// TAPPolicy is the stored policy, or the default one before any change.
func (d *Directory) TAPPolicy(ctx context.Context) (tap.Policy, error) {
	raw, err := d.st.GetSetting(ctx, tapPolicySetting)
	if errors.Is(err, store.ErrNotFound) {
		return tap.DefaultPolicy(), nil
	}
	if err != nil {
		return tap.Policy{}, err
	}
	var p tap.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("stored policy is corrupt: %w", err)
	}
	return p, nil
}

// PutTAPPolicy stores a policy the caller has validated.
func (d *Directory) PutTAPPolicy(ctx context.Context, p tap.Policy) error {
	raw, _ := json.Marshal(p)
	return d.st.PutSetting(ctx, tapPolicySetting, raw)
}

// DefaultFIDO2Policy is a fresh tapd's: nothing enforced.
func DefaultFIDO2Policy() directory.FIDO2Policy {
	return directory.FIDO2Policy{KeyRestrictions: directory.KeyRestrictions{EnforcementType: "block", AAGUIDs: []string{}}}
}

type storedFIDO2 struct {
	IsAttestationEnforced bool `json:"isAttestationEnforced"`
	KeyRestrictions       struct {
		IsEnforced      bool     `json:"isEnforced"`
		EnforcementType string   `json:"enforcementType"`
		AAGUIDs         []string `json:"aaGuids"`
	} `json:"keyRestrictions"`
}

// FIDO2Policy is the stored policy, or the default one.
func (d *Directory) FIDO2Policy(ctx context.Context) (directory.FIDO2Policy, error) {
	p := DefaultFIDO2Policy()
	raw, err := d.st.GetSetting(ctx, fido2PolicySetting)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	var s storedFIDO2
	if err := json.Unmarshal(raw, &s); err != nil {
		return p, fmt.Errorf("stored FIDO2 policy is corrupt: %w", err)
	}
	p.IsAttestationEnforced = s.IsAttestationEnforced
	p.KeyRestrictions = directory.KeyRestrictions(s.KeyRestrictions)
	if p.KeyRestrictions.AAGUIDs == nil {
		p.KeyRestrictions.AAGUIDs = []string{}
	}
	return p, nil
}

// PutFIDO2Policy stores a policy the caller has validated.
func (d *Directory) PutFIDO2Policy(ctx context.Context, p directory.FIDO2Policy) error {
	var s storedFIDO2
	s.IsAttestationEnforced = p.IsAttestationEnforced
	s.KeyRestrictions.IsEnforced, s.KeyRestrictions.EnforcementType, s.KeyRestrictions.AAGUIDs =
		p.KeyRestrictions.IsEnforced, p.KeyRestrictions.EnforcementType, p.KeyRestrictions.AAGUIDs
	raw, _ := json.Marshal(s)
	return d.st.PutSetting(ctx, fido2PolicySetting, raw)
}
