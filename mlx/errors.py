"""Errors that mean "the user asked for something we cannot do".

Every one carries a single-line message that names the problem and what is allowed.
The CLI prints it as ``mlx: error: <message>`` and exits with status 2 (usage error);
no traceback is shown. Library callers catch them like any ``ValueError``.
"""


class UsageError(ValueError):
    """Bad input from the user: one line, exit status 2 at the CLI."""

    def __init__(self, message: str):
        # Keep messages on one line whatever the caller built.
        super().__init__(" ".join(str(message).split()))


class ConfigError(UsageError):
    """An unknown key, a value of the wrong type, a value out of range."""


class DataError(UsageError):
    """Missing, corrupt or unusable data (files, labels, NaN, empty classes)."""
