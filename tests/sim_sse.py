"""Reading the simulator's SSE bodies in tests: just enough of the format to check them."""

from __future__ import annotations

from dataclasses import dataclass

AUTH = {"Authorization": "Bearer sim-token"}
"""The simulator's default Develocity credentials."""


@dataclass(frozen=True)
class Message:
    """One SSE message: its id, event name and data."""

    id: str
    event: str
    data: str


def parse_sse(body: str) -> list[Message]:
    """The complete messages of an SSE body (comments and a trailing partial message left out)."""
    messages = []
    for block in body.split("\n\n")[:-1]:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            messages.append(
                Message(fields.get("id", ""), fields.get("event", "message"), fields["data"])
            )
    return messages
