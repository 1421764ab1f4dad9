package experiment

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// defaultIgnores are skipped in every model definition, as the SDK does.
var defaultIgnores = []string{
	"__pycache__/", "*.py[co]", "*$py.class", "terraform", "terraform_data",
	"terraform.tfstate*", "terraform.tfvars*", ".terraform*", ".git/", ".vscode/",
	".idea/", ".mypy_cache/", "/shared_fs",
}

// ignoreRule is one gitignore-style pattern.
type ignoreRule struct {
	segs     []string // pattern split on "/"
	negate   bool     // "!pattern" re-includes
	dirOnly  bool     // "pattern/" matches directories only
	anchored bool     // a leading or inner "/": matched from the root
}

// Ignore decides which paths of a model definition are left out. It
// implements this subset of gitignore: blank lines and "#" comments,
// "!" negation (last match wins), a trailing "/" for directories only, a
// leading or inner "/" anchoring the pattern at the root (otherwise it
// matches the base name at any depth), "*", "?" and "[...]" within one
// segment, and "**" for any number of segments. Escapes ("\#") and
// trailing-space rules are not implemented.
type Ignore struct {
	rules []ignoreRule
}

// ParseIgnore reads .detignore text (name is used in errors) on top of
// the default patterns.
func ParseIgnore(r io.Reader, name string) (*Ignore, error) {
	ig := &Ignore{}
	for _, p := range defaultIgnores {
		if err := ig.add(p); err != nil {
			return nil, err
		}
	}
	if r == nil {
		return ig, nil
	}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		if err := ig.add(sc.Text()); err != nil {
			return nil, fmt.Errorf("experiment: %s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", name, err)
	}
	return ig, nil
}

func (ig *Ignore) add(p string) error {
	p = strings.TrimRight(p, " \t\r")
	if p == "" || strings.HasPrefix(p, "#") {
		return nil
	}
	var r ignoreRule
	if strings.HasPrefix(p, "!") {
		r.negate, p = true, p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly, p = true, strings.TrimRight(p, "/")
	}
	if strings.Contains(p, "/") {
		r.anchored, p = true, strings.TrimPrefix(p, "/")
	}
	if p == "" {
		return fmt.Errorf("empty pattern")
	}
	r.segs = strings.Split(p, "/")
	for _, s := range r.segs {
		if s != "**" {
			if _, err := path.Match(s, ""); err != nil {
				return fmt.Errorf("bad pattern %q", p)
			}
		}
	}
	ig.rules = append(ig.rules, r)
	return nil
}

// Match reports whether rel (slash-separated, relative to the root) is
// ignored. Callers walk top-down and skip ignored directories whole.
func (ig *Ignore) Match(rel string, isDir bool) bool {
	ignored := false
	segs := strings.Split(rel, "/")
	for _, r := range ig.rules {
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			ok = matchSegs(r.segs, segs)
		} else {
			ok = matchSegs(r.segs, segs[len(segs)-1:])
		}
		if ok {
			ignored = !r.negate
		}
	}
	return ignored
}

// matchSegs matches pattern segments against path segments with "**".
func matchSegs(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchSegs(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], segs[0])
	return ok && matchSegs(pat[1:], segs[1:])
}
