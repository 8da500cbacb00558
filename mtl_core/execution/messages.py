"""The messages a run's end is recorded with, when an execution backend (not the trainer)
decides it: one home, so the page, the CLI and the tests read the same words."""

INTERRUPTED = "the server was stopped while this run trained; its finished epochs are kept"
