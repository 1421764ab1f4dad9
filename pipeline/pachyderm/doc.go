// Package pachyderm reads versioned data out of Pachyderm: commits through
// the S3 gateway (listing, download, the files changed between two
// commits) and, where a pipeline worker has it, the /pfs mount. Its Source
// is the trial's data source for data.source = "pachyderm".
package pachyderm
