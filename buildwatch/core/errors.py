"""The exceptions buildwatch raises on purpose.

Every error a user can meet is a `BuildwatchError` whose `str()` is one clear line that names the
cause and, where there is one, what to do. The CLI prints that line and exits with `exit_code`; the
TUI shows it in the status bar or a notification. No message ever contains a secret.
"""

from __future__ import annotations


class BuildwatchError(Exception):
    """Base class: a failure explained to the user in one line."""

    exit_code = 1


class ConfigError(BuildwatchError):
    """The configuration, a command-line option or the environment is wrong or incomplete."""

    exit_code = 2


class AuthError(BuildwatchError):
    """The server refused the credentials (missing, wrong, or lacking a permission)."""

    exit_code = 3


class NotFoundError(BuildwatchError):
    """The server does not know the requested build, invocation or file."""

    exit_code = 4


class ServerError(BuildwatchError):
    """The server failed, answered something that is not the API, or could not be reached."""

    exit_code = 5


class UnavailableError(ServerError):
    """A read gave up while the server kept failing (an error status, no answer, a dropped
    connection): the same read may well succeed later."""
