"""The messages a run's end is recorded with, when an execution backend (not the trainer)
decides it: one home, so the page, the CLI and the tests read the same words.

The statuses they go with are the store's (``mtl_core.store.schema.STATUSES``); the
scheduler core (``scheduler.py``) and its three adapters (``parallel.py``, ``ray_backend.py``
and the dashboard's ``RunManager``) take both from here and from there only.
"""

# -- any backend ---------------------------------------------------------------------------
NO_WORKER = "could not start a worker process ({}); try again later"  # the exception's type
STOPPED_BEFORE = "stopped before it started"
INTERNAL = "internal error: {}"  # a bug outside the trainer, or in the worker's plumbing

# -- the local batch (CLI, studies): parallel.py -------------------------------------------
DIED = "the worker process died (killed by the system, perhaps for lack of memory?)"
NOT_STARTED = "stopped before it started (Ctrl-C)"
BATCH_INTERRUPTED = "interrupted: the batch was stopped while this run trained"

# -- the dashboard's server: mtl_core/dashboard/runs.py --------------------------------------------
INTERRUPTED = "the server was stopped while this run trained; its finished epochs are kept"
DIED_KEPT = f"{DIED}; its finished epochs are kept"
ORPHAN_QUEUED = "the dashboard server stopped before this run started; re-run it from History"
ORPHAN_RUNNING = (
    "the training process stopped without finishing (no heartbeat); its finished epochs are kept"
)
SHUT_DOWN = "the dashboard server shut down"


def abandoned_message(after: float) -> str:
    return (
        f"stopped: its page was closed (not seen for {after:g} s, MTL_ABANDON_AFTER); "
        "its finished epochs are kept"
    )


# -- the Ray driver: ray_backend.py ({epoch} is the epoch the run was in) -------------------
RAY_DIED = "the Ray worker died during epoch {epoch} (killed, out of memory, or its node was lost)"
RAY_STOPPED = "stopped by request during epoch {epoch}; its finished epochs are kept"
RAY_INTERRUPTED = "stopped during epoch {epoch}: the sweep was interrupted (Ctrl-C)"
RAY_FAILED = "stopped during epoch {{epoch}}: the sweep failed: {!r}"  # the exception
NO_RESULT = "internal error: the task ended without a result"
DELETED = "deleted while it trained"
