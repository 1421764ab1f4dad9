package pachyderm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/churn-pdk/churn/experiment"
)

// DefaultPattern selects the files a Source fetches when Settings.Pattern
// is empty.
const DefaultPattern = "*.csv"

// Settings are the keys of an experiment config's data.pachyderm section.
// They name the data, never carry a secret: the token is read from the
// environment variable TokenEnv of the process that fetches.
type Settings struct {
	// Endpoint is the S3 gateway address (http://pachd.<ns>:30600).
	// Empty means read the Mount only, which cannot compute a diff.
	Endpoint string `json:"endpoint,omitempty"`
	// Repo is the data repository; required.
	Repo string `json:"repo"`
	// Branch is the branch; empty means master.
	Branch string `json:"branch,omitempty"`
	// Commit pins the data to one commit; empty reads the branch head.
	Commit string `json:"commit,omitempty"`
	// Project is the Pachyderm project; empty means default.
	Project string `json:"project,omitempty"`
	// PreviousCommit, when set, limits the fetch to files added or
	// modified since that commit: what an earlier model has not seen.
	PreviousCommit string `json:"previous_commit,omitempty"`
	// TokenEnv names the environment variable holding the Pachyderm
	// token; empty means auth is off.
	TokenEnv string `json:"token_env,omitempty"`
	// Mount is a directory where the commit is mounted (/pfs/<input>);
	// files found there whole are read in place instead of downloaded.
	Mount string `json:"mount,omitempty"`
	// Pattern filters files by base name (path.Match); empty means
	// DefaultPattern.
	Pattern string `json:"pattern,omitempty"`
}

// ParseSettings decodes a data.pachyderm section and checks it.
func ParseSettings(m map[string]any) (Settings, error) {
	var s Settings
	b, err := json.Marshal(m)
	if err != nil {
		return s, fmt.Errorf("pachyderm: data.pachyderm: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("pachyderm: data.pachyderm: %w", err)
	}
	return s, s.Validate()
}

// Validate checks that the settings name a readable commit.
func (s Settings) Validate() error {
	if s.Endpoint == "" && s.Mount == "" {
		return fmt.Errorf("pachyderm: data.pachyderm.endpoint: required without a mount")
	}
	if s.Endpoint == "" && s.PreviousCommit != "" {
		return fmt.Errorf("pachyderm: data.pachyderm.previous_commit: needs the gateway endpoint")
	}
	if _, err := path.Match(s.pattern(), "x"); err != nil {
		return fmt.Errorf("pachyderm: data.pachyderm.pattern %q: %w", s.Pattern, err)
	}
	if err := s.commit(s.Commit).Validate(); err != nil {
		return fmt.Errorf("data.pachyderm: %w", err)
	}
	if s.PreviousCommit != "" {
		if err := s.commit(s.PreviousCommit).Validate(); err != nil {
			return fmt.Errorf("data.pachyderm.previous_commit: %w", err)
		}
	}
	return nil
}

// Map returns the settings as a config section.
func (s Settings) Map() map[string]any {
	b, _ := json.Marshal(s) // a struct of strings always marshals
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func (s Settings) commit(id string) Commit {
	return Commit{ID: id, Branch: s.Branch, Repo: s.Repo, Project: s.Project}
}

func (s Settings) pattern() string {
	if s.Pattern == "" {
		return DefaultPattern
	}
	return s.Pattern
}

// Fetched is what a fetch produced.
type Fetched struct {
	// Files are local paths of the files to train on, sorted by key.
	Files []string
	// Keys are the matching files' paths in the commit, in Files' order.
	Keys []string
	// Incremental is true when only changes since PreviousCommit were
	// fetched.
	Incremental bool
	// Unchanged counts matching files skipped because an earlier model
	// has seen them.
	Unchanged int
}

// Source fetches training data from a Pachyderm commit.
type Source struct {
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Transport carries gateway requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
}

// Fetch makes the files of s's commit that match the pattern (only those
// changed since PreviousCommit, when it is set) readable under dir, and
// returns their local paths.
func (src *Source) Fetch(ctx context.Context, s Settings, dir string) (*Fetched, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	log := src.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Endpoint == "" {
		return fetchMount(s, log)
	}
	g, err := NewGateway(GatewayConfig{
		Endpoint: s.Endpoint, Token: src.token(s), Transport: src.Transport, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	want, all, err := src.selectObjects(ctx, g, s)
	if err != nil {
		return nil, err
	}
	out := &Fetched{Incremental: s.PreviousCommit != "", Unchanged: all - len(want)}
	for _, o := range want {
		p, err := src.place(ctx, g, s, o, dir)
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, p)
		out.Keys = append(out.Keys, o.Key)
	}
	log.Info("fetched data", "commit", s.commit(s.Commit).String(),
		"previous_commit", s.PreviousCommit, "files", len(out.Files), "unchanged", out.Unchanged)
	return out, nil
}

func (src *Source) token(s Settings) experiment.Secret {
	if s.TokenEnv == "" {
		return experiment.Secret{}
	}
	getenv := src.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return experiment.NewSecret(getenv(s.TokenEnv))
}

// selectObjects lists the commit and keeps the matching files to fetch;
// all counts every matching file of the commit.
func (src *Source) selectObjects(ctx context.Context, g *Gateway, s Settings) (
	[]Object, int, error) {
	cur, err := g.List(ctx, s.commit(s.Commit))
	if err != nil {
		return nil, 0, err
	}
	cur = filterObjects(cur, s.pattern())
	if s.PreviousCommit == "" {
		return cur, len(cur), nil
	}
	old, err := g.List(ctx, s.commit(s.PreviousCommit))
	if err != nil {
		return nil, 0, err
	}
	return Compare(filterObjects(old, s.pattern()), cur).Changed(), len(cur), nil
}

func filterObjects(objs []Object, pattern string) []Object {
	var out []Object
	for _, o := range objs {
		if ok, _ := path.Match(pattern, path.Base(o.Key)); ok {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// place returns a local path holding o: the mounted file when the mount
// has it whole (not an empty_files placeholder), else a download.
func (src *Source) place(ctx context.Context, g *Gateway, s Settings, o Object,
	dir string) (string, error) {
	rel := filepath.FromSlash(o.Key)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("pachyderm: %s: file %q escapes the download directory",
			s.commit(s.Commit), o.Key)
	}
	if s.Mount != "" {
		p := filepath.Join(s.Mount, rel)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == o.Size {
			return p, nil
		}
	}
	p := filepath.Join(dir, rel)
	return p, g.Download(ctx, s.commit(s.Commit), o, p)
}

// fetchMount reads every matching file of the mount in place.
func fetchMount(s Settings, log *slog.Logger) (*Fetched, error) {
	out := &Fetched{}
	err := filepath.WalkDir(s.Mount, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ok, _ := path.Match(s.pattern(), d.Name()); !ok {
			return nil
		}
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(s.Mount, p)
		if err != nil {
			return err
		}
		out.Files = append(out.Files, p)
		out.Keys = append(out.Keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pachyderm: mount %s: %w", s.Mount, err)
	}
	log.Info("read mounted data", "mount", s.Mount, "files", len(out.Files))
	return out, nil
}
