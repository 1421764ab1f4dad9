package main

// Exit statuses of the training verbs besides 0 (success) and 1 (any
// other failure). experiment create --follow and experiment wait exit 2
// when the experiment ended in a state other than COMPLETED.
const (
	// exitNoCheckpoint: train --resume RUN_DIR found no complete,
	// verifiable checkpoint (the run died before its first one).
	exitNoCheckpoint = 3
	// exitBadCheckpoint: the checkpoint given to --resume or --warm-start
	// fails verification (a file corrupted, truncated or edited).
	exitBadCheckpoint = 4
	// exitRunComplete: train --resume RUN_DIR names a run that already
	// finished (it holds run.json).
	exitRunComplete = 5
)
