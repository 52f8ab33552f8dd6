package tap

import (
	"fmt"
	"strings"
)

// Policy ranges, as Microsoft Entra ID enforces them for its Temporary Access
// Pass policy. Admins know these numbers, so we keep them.
const (
	MinLifetimeMinutes = 10
	MaxLifetimeMinutes = 43200
	MinPassLength      = 8
	MaxPassLength      = 48
)

// AllUsers is the include target id that means every user, as in Graph.
const AllUsers = "all_users"

// Target names a user or group the policy includes or excludes. TargetType is
// "user" or "group"; ID is a UPN, a group name, or AllUsers.
type Target struct {
	TargetType string `json:"targetType"`
	ID         string `json:"id"`
}

// Policy is the tenant's Temporary Access Pass policy. Field names follow
// Microsoft Graph's temporaryAccessPassAuthenticationMethodConfiguration so
// admins recognise them.
type Policy struct {
	State                    string   `json:"state"` // "enabled" or "disabled"
	IncludeTargets           []Target `json:"includeTargets"`
	ExcludeTargets           []Target `json:"excludeTargets"`
	MinimumLifetimeInMinutes int      `json:"minimumLifetimeInMinutes"`
	MaximumLifetimeInMinutes int      `json:"maximumLifetimeInMinutes"`
	DefaultLifetimeInMinutes int      `json:"defaultLifetimeInMinutes"`
	IsUsableOnce             bool     `json:"isUsableOnce"`
	DefaultLength            int      `json:"defaultLength"`
}

// PolicyPatch is a partial update: nil fields are left as they are. A patch is
// applied to a copy and the whole result validated, so nothing is half-saved.
type PolicyPatch struct {
	State                    *string   `json:"state,omitempty"`
	IncludeTargets           *[]Target `json:"includeTargets,omitempty"`
	ExcludeTargets           *[]Target `json:"excludeTargets,omitempty"`
	MinimumLifetimeInMinutes *int      `json:"minimumLifetimeInMinutes,omitempty"`
	MaximumLifetimeInMinutes *int      `json:"maximumLifetimeInMinutes,omitempty"`
	DefaultLifetimeInMinutes *int      `json:"defaultLifetimeInMinutes,omitempty"`
	IsUsableOnce             *bool     `json:"isUsableOnce,omitempty"`
	DefaultLength            *int      `json:"defaultLength,omitempty"`
}

// DefaultPolicy is what a fresh service starts with: disabled, all users
// included, the Entra defaults for everything else.
func DefaultPolicy() Policy {
	return Policy{
		State:                    "disabled",
		IncludeTargets:           []Target{{TargetType: "group", ID: AllUsers}},
		ExcludeTargets:           []Target{},
		MinimumLifetimeInMinutes: 60,
		MaximumLifetimeInMinutes: 480,
		DefaultLifetimeInMinutes: 60,
		IsUsableOnce:             false,
		DefaultLength:            8,
	}
}

// FieldError says which field is wrong and why, in words an admin can act on.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Apply returns p with the patch applied, validated as a whole.
func (p Policy) Apply(patch PolicyPatch) (Policy, error) {
	n := p
	if patch.State != nil {
		n.State = *patch.State
	}
	if patch.IncludeTargets != nil {
		n.IncludeTargets = *patch.IncludeTargets
	}
	if patch.ExcludeTargets != nil {
		n.ExcludeTargets = *patch.ExcludeTargets
	}
	if patch.MinimumLifetimeInMinutes != nil {
		n.MinimumLifetimeInMinutes = *patch.MinimumLifetimeInMinutes
	}
	if patch.MaximumLifetimeInMinutes != nil {
		n.MaximumLifetimeInMinutes = *patch.MaximumLifetimeInMinutes
	}
	if patch.DefaultLifetimeInMinutes != nil {
		n.DefaultLifetimeInMinutes = *patch.DefaultLifetimeInMinutes
	}
	if patch.IsUsableOnce != nil {
		n.IsUsableOnce = *patch.IsUsableOnce
	}
	if patch.DefaultLength != nil {
		n.DefaultLength = *patch.DefaultLength
	}
	if err := n.Validate(); err != nil {
		return p, err
	}
	return n, nil
}

// Validate checks every range. The first problem found is returned, naming
// the field and the allowed range.
func (p Policy) Validate() error {
	if p.State != "enabled" && p.State != "disabled" {
		return &FieldError{"state", fmt.Sprintf("must be \"enabled\" or \"disabled\", not %q", p.State)}
	}
	inRange := func(field string, v, lo, hi int) error {
		if v < lo || v > hi {
			return &FieldError{field, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, v)}
		}
		return nil
	}
	if err := inRange("minimumLifetimeInMinutes", p.MinimumLifetimeInMinutes, MinLifetimeMinutes, MaxLifetimeMinutes); err != nil {
		return err
	}
	if err := inRange("maximumLifetimeInMinutes", p.MaximumLifetimeInMinutes, MinLifetimeMinutes, MaxLifetimeMinutes); err != nil {
		return err
	}
	if p.MaximumLifetimeInMinutes < p.MinimumLifetimeInMinutes {
		return &FieldError{"maximumLifetimeInMinutes", fmt.Sprintf("must be at least minimumLifetimeInMinutes (%d), got %d", p.MinimumLifetimeInMinutes, p.MaximumLifetimeInMinutes)}
	}
	if err := inRange("defaultLifetimeInMinutes", p.DefaultLifetimeInMinutes, p.MinimumLifetimeInMinutes, p.MaximumLifetimeInMinutes); err != nil {
		return err
	}
	if err := inRange("defaultLength", p.DefaultLength, MinPassLength, MaxPassLength); err != nil {
		return err
	}
	if err := validateTargets("includeTargets", p.IncludeTargets); err != nil {
		return err
	}
	return validateTargets("excludeTargets", p.ExcludeTargets)
}

func validateTargets(field string, ts []Target) error {
	for i, t := range ts {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch t.TargetType {
		case "user":
			if _, err := NormalizeUPN(t.ID); err != nil {
				return &FieldError{f + ".id", err.Error()}
			}
		case "group":
			if err := ValidGroupName(t.ID); err != nil {
				return &FieldError{f + ".id", err.Error()}
			}
		default:
			return &FieldError{f + ".targetType", fmt.Sprintf("must be \"user\" or \"group\", not %q", t.TargetType)}
		}
	}
	return nil
}

// Member is what the policy needs to know about a user to decide targeting.
type Member struct {
	UPN    string
	Groups []string
}

// Targets reports whether the policy's targets cover the user. Exclude wins
// over include, as in Entra.
func (p Policy) Targets(m Member) bool {
	match := func(ts []Target) bool {
		for _, t := range ts {
			switch t.TargetType {
			case "user":
				if strings.EqualFold(t.ID, m.UPN) {
					return true
				}
			case "group":
				if t.ID == AllUsers {
					return true
				}
				for _, g := range m.Groups {
					if strings.EqualFold(g, t.ID) {
						return true
					}
				}
			}
		}
		return false
	}
	return match(p.IncludeTargets) && !match(p.ExcludeTargets)
}
