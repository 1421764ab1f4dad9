package pachyderm

import "sort"

// Diff is what changed between two listings of a repo.
type Diff struct {
	// Added are files only in the newer commit.
	Added []Object
	// Modified are files in both whose content hash or size differ; they
	// carry the newer commit's entry.
	Modified []Object
	// Deleted are files only in the older commit.
	Deleted []Object
}

// Changed returns Added and Modified together, sorted by key: the files a
// run that trains on new data must read.
func (d Diff) Changed() []Object {
	out := append(append([]Object(nil), d.Added...), d.Modified...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Compare lists what changed from old to cur, keyed by file path. Files
// compare by ETag (Pachyderm's content hash, so a file carried over from
// an earlier commit compares equal) and size; the modification time is
// the commit's, the same for every file, and is not looked at.
func Compare(old, cur []Object) Diff {
	before := make(map[string]Object, len(old))
	for _, o := range old {
		before[o.Key] = o
	}
	var d Diff
	for _, o := range cur {
		prev, ok := before[o.Key]
		switch {
		case !ok:
			d.Added = append(d.Added, o)
		case prev.ETag != o.ETag || prev.Size != o.Size:
			d.Modified = append(d.Modified, o)
		}
		delete(before, o.Key)
	}
	for _, o := range old {
		if _, gone := before[o.Key]; gone {
			d.Deleted = append(d.Deleted, o)
		}
	}
	return d
}
