"""Error types that carry a one-line, user-facing message.

Every error a user can cause (a bad config, a missing or damaged file, a broken store)
is raised as one of these; the CLI and the dashboard print ``str(error)`` and never a
traceback. Anything else escaping is a bug.
"""


class MtlError(Exception):
    """Base class: the message names the problem and the fix, in one line."""


class ConfigError(MtlError):
    """A run config (or a field of it) is invalid; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class DataError(MtlError):
    """A dataset is missing, truncated or corrupt; the message says what to do."""


class StoreError(MtlError):
    """The run store cannot be read or written."""
