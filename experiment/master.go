package experiment

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// MasterInfo is the answer of GET /api/v1/master.
type MasterInfo struct {
	Version     string `json:"version"`
	MasterID    string `json:"masterId"`
	ClusterID   string `json:"clusterId"`
	ClusterName string `json:"clusterName"`
}

// Version is a master's release number.
type Version struct{ Major, Minor, Patch int }

// ParseVersion reads "0.38.1" (suffixes such as "-dev0" or "+abc" are
// ignored).
func ParseVersion(s string) (Version, error) {
	core := strings.TrimPrefix(s, "v")
	if i := strings.IndexAny(core, "-+ "); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, &ConfigError{Field: "master version", Reason: fmt.Sprintf("%q", s)}
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, &ConfigError{Field: "master version", Reason: fmt.Sprintf("%q", s)}
		}
		v[i] = n
	}
	return Version{v[0], v[1], v[2]}, nil
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// String formats v.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Protocol is what a master version supports, decided once per client.
type Protocol struct {
	Version Version
	// SearcherOps: the trial must loop on searcher operations (< 0.38).
	SearcherOps bool
	// GenericMetrics: POST /trials/{id}/metrics with a group (>= 0.23).
	GenericMetrics bool
	// RunsStart: POST /api/v1/runs/start and storageId (>= 0.29).
	RunsStart bool
	// ProgressObject: progress body {progress, isRaw} (>= 0.37).
	ProgressObject bool
	// Unmanaged: detached experiments (>= 0.25 for by-external-id).
	Unmanaged bool
}

// ProtocolFor returns the protocol of master version v.
func ProtocolFor(v Version) Protocol {
	return Protocol{
		Version:        v,
		SearcherOps:    !v.AtLeast(0, 38),
		GenericMetrics: v.AtLeast(0, 23),
		RunsStart:      v.AtLeast(0, 29),
		ProgressObject: v.AtLeast(0, 37),
		Unmanaged:      v.AtLeast(0, 25),
	}
}

// MasterInfo asks the master who it is (no authentication needed); the
// answer is cached.
func (c *Client) MasterInfo(ctx context.Context) (*MasterInfo, error) {
	c.mu.Lock()
	info := c.info
	c.mu.Unlock()
	if info != nil {
		return info, nil
	}
	var out MasterInfo
	err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/master", out: &out,
		retry: true, noAuth: true})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.info = &out
	c.mu.Unlock()
	return &out, nil
}

// Protocol detects what the master speaks from its version.
func (c *Client) Protocol(ctx context.Context) (Protocol, error) {
	info, err := c.MasterInfo(ctx)
	if err != nil {
		return Protocol{}, err
	}
	v, err := ParseVersion(info.Version)
	if err != nil {
		return Protocol{}, err
	}
	return ProtocolFor(v), nil
}

// passwordSalt is the fixed client-side salt of Determined's login.
const passwordSalt = "GubPEmmotfiK9TMD6Zdw"

// HashPassword applies the SDK's client-side hashing: hex(sha512(salt +
// password)); an empty password stays empty.
func HashPassword(password Secret) Secret {
	if password.Empty() {
		return password
	}
	sum := sha512.Sum512([]byte(passwordSalt + password.Reveal()))
	return NewSecret(hex.EncodeToString(sum[:]))
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	IsHashed bool   `json:"isHashed"`
}

// Login authenticates as username, sending the password hashed the way
// the SDK does (isHashed true), and makes the client use the session
// token it gets.
func (c *Client) Login(ctx context.Context, username string, password Secret) error {
	hashed := HashPassword(password)
	c.remember(password, hashed)
	body := loginRequest{Username: username, Password: hashed.Reveal(), IsHashed: true}
	var out struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/auth/login", body: body,
		out: &out, retry: true, noAuth: true})
	if err != nil {
		return err
	}
	if out.Token == "" {
		return fmt.Errorf("experiment: login as %q: the master returned no token", username)
	}
	c.SetCredentials(UserToken(NewSecret(out.Token)))
	return nil
}
