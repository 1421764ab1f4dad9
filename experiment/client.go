package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Header names of the two kinds of credentials the master accepts.
const (
	headerAuthorization   = "Authorization"
	headerAllocationToken = "Grpc-Metadata-x-allocation-token"
)

// Credentials says how requests authenticate: a user session token
// (Authorization: Bearer) or a trial's allocation token
// (Grpc-Metadata-x-allocation-token: Bearer). The zero value sends none.
type Credentials struct {
	token      Secret
	allocation bool
}

// UserToken authenticates as a user (from login or DET_USER_TOKEN).
func UserToken(token Secret) Credentials { return Credentials{token: token} }

// AllocationToken authenticates as a running trial (DET_SESSION_TOKEN).
func AllocationToken(token Secret) Credentials {
	return Credentials{token: token, allocation: true}
}

// IsUser reports whether the credentials are a user token.
func (c Credentials) IsUser() bool { return !c.allocation && !c.token.Empty() }

func (c Credentials) apply(h http.Header) {
	if c.token.Empty() {
		return
	}
	if c.allocation {
		h.Set(headerAllocationToken, "Bearer "+c.token.Reveal())
		return
	}
	h.Set(headerAuthorization, "Bearer "+c.token.Reveal())
}

// RetryPolicy says how calls that may be repeated are retried on 502, 503,
// 504 and connection errors: exponential backoff from Base, capped at Max,
// with full jitter.
type RetryPolicy struct {
	// Attempts is the number of tries in all; 0 means 6, 1 disables retries.
	Attempts int
	// Base is the first backoff; 0 means 500ms.
	Base time.Duration
	// Max caps one backoff; 0 means 30s.
	Max time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 6
	}
	if p.Base <= 0 {
		p.Base = 500 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	return p
}

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends the requests; nil means a client with default
	// transport and no overall timeout (Timeout bounds each request).
	HTTPClient *http.Client
	// Logger receives debug lines about retries; nil discards.
	Logger *slog.Logger
	// Timeout bounds one request attempt; 0 means 30s.
	Timeout time.Duration
	// Retry is the policy for idempotent calls and reports.
	Retry RetryPolicy
	// Sleep waits between attempts; nil means a timer honouring ctx.
	// Tests inject one that records the delays.
	Sleep func(ctx context.Context, d time.Duration) error
	// Seed seeds the jitter's random source.
	Seed uint64
}

// Client talks to one Determined master over its REST API. It is safe
// for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	log     *slog.Logger
	timeout time.Duration
	retry   RetryPolicy
	sleep   func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex // guards creds, rng, info and known
	creds Credentials
	rng   *rand.Rand
	info  *MasterInfo
	// known are secrets the client has held (tokens, a login's password
	// and its hash): they are cut out of every error the master answers,
	// since a master or a proxy may echo a request into its error body.
	known []string
}

// NewClient returns a client for the master at addr ("host:port",
// "http://host:port" or "https://..."; no scheme means http and port 8080).
func NewClient(addr string, creds Credentials, opts *Options) (*Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	base, err := CanonicalMaster(addr)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:    base,
		http:    opts.HTTPClient,
		log:     opts.Logger,
		timeout: opts.Timeout,
		retry:   opts.Retry.withDefaults(),
		sleep:   opts.Sleep,
		creds:   creds,
		rng:     rand.New(rand.NewPCG(opts.Seed, 0x6368726e)),
	}
	c.remember(creds.token)
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c, nil
}

// CanonicalMaster parses a master address the way Determined's SDK does:
// http:// when no scheme is given, port 8080 when neither scheme nor port
// is, no trailing slash.
func CanonicalMaster(addr string) (*url.URL, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, &ConfigError{Field: "master", Reason: "empty address"}
	}
	hasScheme := strings.Contains(addr, "://")
	if !hasScheme {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return nil, &ConfigError{Field: "master", Reason: fmt.Sprintf("bad address %q", addr)}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, &ConfigError{Field: "master", Reason: "scheme must be http or https"}
	}
	if !hasScheme && u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "8080")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// Master returns the canonical master URL.
func (c *Client) Master() string { return c.base.String() }

// Credentials returns the credentials requests carry now.
func (c *Client) Credentials() Credentials {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.creds
}

// SetCredentials replaces the credentials (after a login).
func (c *Client) SetCredentials(creds Credentials) {
	c.remember(creds.token)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creds = creds
}

// remember adds secrets to those cut out of the master's error bodies.
func (c *Client) remember(secrets ...Secret) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range secrets {
		if v := s.Reveal(); len(v) >= 4 && !slices.Contains(c.known, v) {
			c.known = append(c.known, v)
		}
	}
}

// redact replaces every secret the client has held in s.
func (c *Client) redact(s string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.known {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}

// request describes one call.
type request struct {
	method string
	path   string // starting with "/"
	query  url.Values
	body   any // nil: no body; json.RawMessage sent as is
	out    any // decoded from the JSON answer unless nil
	// retry marks calls safe to repeat (idempotent, or reports the master
	// deduplicates or that we must not lose).
	retry bool
	// policy overrides the client's retry policy when set.
	policy *RetryPolicy
	// timeout overrides the per-attempt timeout (long polls).
	timeout time.Duration
	// header adds headers (Accept for downloads).
	header http.Header
	// raw, when set, receives the successful response instead of out; the
	// caller closes the body.
	raw **http.Response
	// noAuth sends no credentials (login).
	noAuth bool
	// duplicate recognises the master's refusal of a report it already
	// holds. After an attempt whose outcome is unknown (a transient
	// failure: the master may have stored the report and the answer was
	// lost), such a refusal means the earlier attempt got through, and
	// the call succeeds.
	duplicate func(error) bool
}

// do runs r with retries where allowed.
func (c *Client) do(ctx context.Context, r request) error {
	policy := c.retry
	if r.policy != nil {
		policy = r.policy.withDefaults()
	}
	if !r.retry {
		policy.Attempts = 1
	}
	var err error
	unknown := false // an earlier attempt may have reached the master
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, r)
		if err != nil && unknown && r.duplicate != nil && r.duplicate(err) {
			c.log.DebugContext(ctx, "the master already holds this report: an earlier "+
				"attempt got through", "method", r.method, "path", r.path, "attempt", attempt)
			return nil
		}
		if err == nil || attempt >= policy.Attempts || !retryable(ctx, err) {
			return err
		}
		unknown = true
		d := c.backoff(policy, attempt)
		c.log.DebugContext(ctx, "retrying master call", "method", r.method,
			"path", r.path, "attempt", attempt, "delay", d, "error", err)
		if serr := c.sleep(ctx, d); serr != nil {
			return err
		}
	}
}

// retryable reports whether err is a transient failure and ctx is alive.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnreachable)
}

// backoff returns the full-jitter delay before attempt+1.
func (c *Client) backoff(p RetryPolicy, attempt int) time.Duration {
	ceil := p.Base << min(attempt-1, 30)
	if ceil > p.Max || ceil <= 0 {
		ceil = p.Max
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return ceil/2 + time.Duration(c.rng.Int64N(int64(ceil/2)+1))
}

// once sends r a single time.
func (c *Client) once(ctx context.Context, r request) error {
	timeout := c.timeout
	if r.timeout > 0 {
		timeout = r.timeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	req, err := c.newRequest(actx, r)
	if err != nil {
		cancel()
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("experiment: %s %s: %w", r.method, r.path, ctx.Err())
		}
		return fmt.Errorf("%w at %s: %s %s: %w", ErrUnreachable, c.base.Redacted(), r.method,
			r.path, stripURL(err))
	}
	if resp.StatusCode >= 300 {
		defer cancel()
		defer resp.Body.Close()
		e := decodeError(r, resp)
		e.Message = c.redact(e.Message)
		return e
	}
	if r.raw != nil {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		*r.raw = resp
		return nil
	}
	defer cancel()
	defer resp.Body.Close()
	return c.decode(r, resp)
}

// newRequest builds the HTTP request for r.
func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	target := c.base.String() + r.path // r.path is already escaped
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := marshalBody(r.body)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s %s: encode body: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("experiment: %s %s: %w", r.method, r.path, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if !r.noAuth {
		c.Credentials().apply(req.Header)
	}
	return req, nil
}

func marshalBody(v any) ([]byte, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// decode reads a successful JSON answer into r.out.
func (c *Client) decode(r request, resp *http.Response) error {
	if r.out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(r.out); err != nil {
		return fmt.Errorf("experiment: %s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// decodeError turns a failed answer into an *APIError.
func decodeError(r request, resp *http.Response) *APIError {
	e := &APIError{Method: r.method, Path: r.path, Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error *struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
			Error  string `json:"error"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &body) == nil {
		if body.Error != nil {
			e.Code, e.Reason, e.Message = body.Error.Code, body.Error.Reason, body.Error.Error
		} else {
			e.Message = body.Message
		}
	} else if len(b) > 0 && len(b) < 512 {
		e.Message = strings.TrimSpace(string(b))
	}
	return e
}

// stripURL drops the request URL from a transport error (the path is
// already in the message; the URL could carry credentials in userinfo).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// cancelBody releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and ends the attempt's context.
func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// sleepCtx waits d or until ctx ends.
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
