package pachyderm

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultBranch is the branch a Commit names when Branch is empty.
const DefaultBranch = "master"

// commitID is the form the S3 gateway recognises as a commit prefix: a
// UUID without dashes.
var commitID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Commit names one commit of a repo, or a branch head when ID is empty.
type Commit struct {
	// ID is the commit (32 lowercase hex digits); empty means the head of
	// Branch, which can move while it is read.
	ID string
	// Branch is the branch; empty means DefaultBranch.
	Branch string
	// Repo is the repository; required.
	Repo string
	// Project is the Pachyderm project; empty means "default".
	Project string
}

// Validate checks the parts that make up the bucket name.
func (c Commit) Validate() error {
	if c.ID != "" && !commitID.MatchString(c.ID) {
		return fmt.Errorf("pachyderm: commit %q: want 32 lowercase hex digits", c.ID)
	}
	if c.Repo == "" {
		return fmt.Errorf("pachyderm: commit %q: repo is required", c.ID)
	}
	for _, f := range [][2]string{{"branch", c.Branch}, {"repo", c.Repo}, {"project", c.Project}} {
		if strings.ContainsAny(f[1], "./ ") {
			return fmt.Errorf("pachyderm: %s %q: must not contain '.', '/' or spaces", f[0], f[1])
		}
	}
	return nil
}

// Bucket is the S3 gateway's bucket for c: [<id>.]<branch>.<repo>[.<project>].
// The branch is always spelled out, which every project needs but default.
func (c Commit) Bucket() string {
	parts := make([]string, 0, 4)
	if c.ID != "" {
		parts = append(parts, c.ID)
	}
	branch := c.Branch
	if branch == "" {
		branch = DefaultBranch
	}
	parts = append(parts, branch, c.Repo)
	if c.Project != "" {
		parts = append(parts, c.Project)
	}
	return strings.Join(parts, ".")
}

// String names the commit the way pachctl does: project/repo@branch=id.
func (c Commit) String() string {
	branch := c.Branch
	if branch == "" {
		branch = DefaultBranch
	}
	s := c.Repo + "@" + branch
	if c.ID != "" {
		s += "=" + c.ID
	}
	if c.Project != "" {
		s = c.Project + "/" + s
	}
	return s
}
