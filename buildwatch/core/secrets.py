"""A string that never shows itself by accident."""

from __future__ import annotations

from buildwatch.core.log_redaction import register_secret


class Secret:
    """Holds a token, password or API key.

    `str()`, `repr()` and f-strings show only a mask, so a secret that ends up in an error
    message, a log record, a traceback's locals or a screenshot reveals nothing. Call `reveal()`
    at the one place that must send it. Every secret is registered with the log redaction, so
    even a library's log line that quotes it (raw or base64-encoded) shows only a mask.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The secret itself, for the request header that carries it."""
        return self._value

    def masked(self) -> str:
        """At most the last four characters, for `auth status`."""
        if len(self._value) <= 8:
            return "****"
        return f"****{self._value[-4:]}"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__
