// Package graph is a small Microsoft Graph client for what tapd needs in
// Entra mode: users and their groups, Temporary Access Pass and FIDO2
// methods, the authentication methods list, and the two method policies.
// It keeps Graph's JSON shapes, retries throttling and outages within
// bounds, and returns every response's request-id for the audit trail.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// TokenSource gives a bearer token for Graph (azidentity in tapd, a fixed
// token against the simulator).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a fixed token.
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Client calls Graph.
type Client struct {
	// BaseURL is https://graph.microsoft.com/v1.0, or a simulator.
	BaseURL string
	Tokens  TokenSource
	HTTP    *http.Client
	// Timeout bounds one attempt; Graph itself cuts authentication-method
	// calls at 60 s.
	Timeout time.Duration
	// MaxAttempts bounds retries of throttled (429) and unavailable
	// (503, 504) answers; MaxWait bounds one wait tapd chooses itself
	// (no Retry-After), 30 s by default.
	MaxAttempts int
	MaxWait     time.Duration
	// MaxRetryAfter bounds the waits Graph asks for with Retry-After,
	// all of one call's together (2 minutes by default). A wait that
	// would go past it is not waited: the call fails with a
	// *ThrottledError at once, so nobody stands at the kiosk for longer.
	MaxRetryAfter time.Duration
	// Sleep waits between attempts; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrUnavailable means Graph could not be reached or kept failing: the
// directory is unavailable. Nothing is known to have changed.
var ErrUnavailable = errors.New("the directory (Microsoft Graph) is unavailable")

// Error is an error answer from Graph.
type Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph %d %s: %s (request-id %s)", e.Status, e.Code, e.Message, e.RequestID)
}

// Result is what every call returns beside its value: Graph's request id
// and the client-request-id tapd sent, for the audit trail, and how many
// attempts it took.
type Result struct {
	RequestID       string
	ClientRequestID string
	Attempts        int
}

// ThrottledError is Graph asking tapd to wait longer than MaxRetryAfter
// allows. Err is Graph's own answer (a 429 or 503 *Error).
type ThrottledError struct {
	RetryAfter time.Duration
	Limit      time.Duration
	Err        error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Microsoft Graph asked tapd to wait %s before trying again, more than the %s tapd waits for one call (--graph-max-retry-after): %v",
		e.RetryAfter, e.Limit, e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) defaults() {
	if c.HTTP == nil {
		c.HTTP = &http.Client{}
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 4
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 30 * time.Second
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
}

// retryable says whether a failed attempt may be tried again. Throttling
// (429) means Graph did nothing, so any method may retry. An unavailable
// Graph (5xx, no answer, a timeout) may have done the work, so only reads
// and deletes, which are idempotent, retry then.
func retryable(method string, status int, err error) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	return errors.Is(err, ErrUnavailable) && (method == http.MethodGet || method == http.MethodDelete)
}

// DefaultMaxRetryAfter is how long, in all, tapd waits on Graph's
// Retry-After for one call unless told otherwise.
const DefaultMaxRetryAfter = 2 * time.Minute

// backoff is how long to wait before attempt n (1-based): Retry-After when
// Graph gives it (asked tells which), else 1 s doubling, with ±20 %
// jitter, at most MaxWait.
func (c *Client) backoff(n int, retryAfter string) (d time.Duration, asked bool) {
	if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	d = time.Second << (n - 1)
	j := 0.8 + 0.4*rand.Float64()
	return min(time.Duration(float64(d)*j), c.MaxWait), false
}

// do sends one request (with retries) and decodes the JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (Result, error) {
	return c.doWith(ctx, method, path, nil, in, out)
}

// doWith is do with extra request headers, such as ConsistencyLevel.
func (c *Client) doWith(ctx context.Context, method, path string, header http.Header, in, out any) (Result, error) {
	c.defaults()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return Result{}, err
		}
	}
	// One client-request-id for the call, the same on each retry, so
	// Microsoft support can follow all of its attempts.
	res := Result{ClientRequestID: uuid.NewString()}
	var asked time.Duration // the Retry-After waits so far
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		status, retryAfter, err := c.once(ctx, method, path, header, body, out, &res)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
		}
		if !retryable(method, status, err) || attempt >= c.MaxAttempts {
			return res, err
		}
		wait, fromGraph := c.backoff(attempt, retryAfter)
		if fromGraph {
			if asked+wait > c.MaxRetryAfter {
				return res, &ThrottledError{RetryAfter: wait, Limit: c.MaxRetryAfter, Err: err}
			}
			asked += wait
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return res, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, header http.Header, body []byte, out any, res *Result) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	tok, err := c.Tokens.Token(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("%w: no token for Graph: %v", ErrUnavailable, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, "", err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("client-request-id", res.ClientRequestID)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	res.RequestID = resp.Header.Get("request-id")
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("%w: reading the answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(data, &eb)
		e := &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, RequestID: res.RequestID}
		if resp.StatusCode >= 500 {
			return resp.StatusCode, resp.Header.Get("Retry-After"), fmt.Errorf("%w: %v", ErrUnavailable, e)
		}
		return resp.StatusCode, resp.Header.Get("Retry-After"), e
	}
	if out != nil {
		// Every call that expects an answer expects a JSON body: an empty
		// 200 (a proxy's, or a connection cut as it came in) is not a user
		// or a policy with every field empty.
		if len(bytes.TrimSpace(data)) == 0 {
			return resp.StatusCode, "", errEmptyAnswer
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, "", fmt.Errorf("graph sent a malformed answer: %w", err)
		}
	}
	return resp.StatusCode, "", nil
}

// errEmptyAnswer is once's error for a 2xx with no body where an answer
// was expected.
var errEmptyAnswer = errors.New("graph sent an empty answer")

func esc(s string) string { return url.PathEscape(s) }

// Probe sends one request as given, without retries, and returns Graph's
// status and raw answer whatever it is: for tapd entra-check, which shows
// a tenant's answers rather than acting on them.
func (c *Client) Probe(ctx context.Context, method, path string, header http.Header, in any) (int, json.RawMessage, Result, error) {
	c.defaults()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, nil, Result{}, err
		}
	}
	res := Result{ClientRequestID: uuid.NewString(), Attempts: 1}
	var out json.RawMessage
	st, _, err := c.once(ctx, method, path, header, body, &out, &res)
	if errors.Is(err, errEmptyAnswer) {
		return st, out, res, nil // an empty answer is shown as it is
	}
	var ge *Error
	if errors.As(err, &ge) {
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": ge.Code, "message": ge.Message}})
		return ge.Status, b, res, nil
	}
	return st, out, res, err
}

// PathEscape escapes a user id or UPN for a Graph path.
func PathEscape(s string) string { return esc(s) }
