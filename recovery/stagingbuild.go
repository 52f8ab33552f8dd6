package recovery

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// StagingBuild is a staging batch being made: each person is checked as
// they are read (Add: known to the directory, manageable by the caller,
// not held by another batch's row (heldBy), once only), and the
// batch is kept at the end (Finish) only when all passed. Nothing is
// written before then.
type StagingBuild struct {
	s        *Service
	c        *Caller
	name     string
	details  map[string]string
	n        int
	rows     []store.StagingRow
	problems rowProblems
	seen     map[string]int
}

// StartStagingBatch begins a batch from a CSV read row by row.
func (s *Service) StartStagingBatch(c *Caller, name string) (*StagingBuild, error) {
	return s.startStagingBatch(c, name, map[string]string{})
}

func (s *Service) startStagingBatch(c *Caller, name string, details map[string]string) (*StagingBuild, error) {
	name, err := batchName(name)
	if err != nil {
		return nil, err
	}
	return &StagingBuild{s: s, c: c, name: name, details: details, seen: map[string]int{}}, nil
}

// Add checks one person. A bad one is kept as a problem; the error is the
// input's end (past MaxStagingRows: 413 tooManyRows) or the store's or
// directory's trouble.
func (sb *StagingBuild) Add(ctx context.Context, r StagingInput) error {
	if sb.n++; sb.n > MaxStagingRows {
		return tooManyRows("people", MaxStagingRows)
	}
	p := r.Person
	if r.Err != "" {
		sb.problems.add(r.Row, "", "%s", r.Err)
		return nil
	}
	upn, err := tap.NormalizeUPN(p.UserPrincipalName)
	if err != nil {
		sb.problems.add(r.Row, p.UserPrincipalName, "userPrincipalName %s", err.Error())
		return nil
	}
	if first, dup := sb.seen[tap.UPNKey(upn)]; dup {
		sb.problems.add(r.Row, upn, "repeats row %d", first)
		return nil
	}
	sb.seen[tap.UPNKey(upn)] = r.Row
	display := strings.TrimSpace(p.DisplayName)
	if display != "" {
		if display, err = tap.NormalizeDisplayName(display); err != nil {
			sb.problems.add(r.Row, upn, "displayName %s", err.Error())
			return nil
		}
	}
	key := strings.TrimSpace(p.KeyName)
	if err := badName("keyName", key); key != "" && err != nil {
		sb.problems.add(r.Row, upn, "%s", strings.TrimSuffix(err.Message, "."))
		return nil
	}
	lang := strings.TrimSpace(p.PreferredLanguage)
	if lang != "" && !languageTag.MatchString(lang) {
		sb.problems.add(r.Row, upn, "preferredLanguage %q is not a language tag such as sv or sv-SE", lang)
		return nil
	}
	u, err := sb.s.dir.User(ctx, upn)
	if isCode(err, api.CodeUserNotFound) {
		sb.problems.add(r.Row, upn, "no such user in the directory")
		return nil
	}
	if err != nil {
		return err
	}
	if _, why := whyNotManage(sb.c, u); why != nil {
		sb.problems.add(r.Row, upn, "%s", strings.TrimSuffix(why.Message, "."))
		return nil
	}
	held, err := sb.s.heldBy(ctx, sb.c, u.UPN)
	if err != nil {
		return err
	}
	if held != "" {
		sb.problems.add(r.Row, upn, "%s", held)
		return nil
	}
	if display == "" {
		display = u.DisplayName
	}
	sb.rows = append(sb.rows, store.StagingRow{ID: uuid.NewString(), UPN: u.UPN, DisplayName: display, KeyName: key, Language: lang, State: store.StagingPending})
	return nil
}

// Finish keeps the batch with its audit entry, or refuses it (audited)
// when a person was bad.
func (sb *StagingBuild) Finish(ctx context.Context) (api.StagingBatch, error) {
	s, c, name, details := sb.s, sb.c, sb.name, sb.details
	if sb.n == 0 {
		return api.StagingBatch{}, api.Invalid("users", "A batch needs at least one person: list them in users, or name a group.")
	}
	details["name"], details["rows"], details["rowsFailed"] = name, strconv.Itoa(sb.n), strconv.Itoa(sb.problems.count)
	if sb.problems.count > 0 {
		e := sb.problems.refusal("%d person(s) cannot be staged, so no batch was made. Fix them and try again.", sb.problems.count)
		return api.StagingBatch{}, s.refuse(ctx, c, api.ActionCreateStagingBatch, "", "badRows", e, details)
	}
	_, by := c.Actor()
	b := store.StagingBatch{ID: uuid.NewString(), Name: name, CreatedAt: ms(s.now()), CreatedBy: by}
	details["batchId"] = b.ID
	err := s.inStore(ctx, func(u unit) error {
		if err := u.st.CreateStagingBatch(ctx, b, sb.rows); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return api.Conflict(api.CodeAlreadyExists, "A staging batch named %s exists already; choose another name.", name).Because(err)
			}
			return err
		}
		return s.done(ctx, c, u, api.ActionCreateStagingBatch, "", details)
	})
	if err != nil {
		return api.StagingBatch{}, err
	}
	return s.StagingBatch(ctx, b.ID)
}
