"""A Develocity and BuildBuddy server whose every string is hostile: escape sequences, markup,
invalid UTF-8. The app must show all of it as harmless text."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

HOSTILE = (
    "\x1b]0;PWNED-TITLE\x07 \x1b]2;PWNED-TITLE-2\x1b\\ \x1b]52;c;ZXZpbA==\x07 "
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[6n \x1b[2J\x1b[H\x1b[5A "
    "\x1bP+q544e\x1b\\ \x9b6n \x1bc [bold red]FAKE[/] [link=https://evil.example]x[/link]"
)
"""OSC 0/2 title, OSC 52 clipboard, OSC 8 link, CSI 6n query, screen clear, cursor moves, DCS,
8-bit CSI, reset, and Rich markup."""

FILE_BYTES = (HOSTILE + "\n").encode() + b"bad utf-8: \xff\xfe\xc3\n" + b"A" * 1_000_000 + b"\n"
FILE_SHA = hashlib.sha256(FILE_BYTES).hexdigest()
INVOCATION_ID = "0bad0bad-0000-4000-8000-000000000001"
BUILD_ID = "hostilebuild1"


def _event(kind: str, data: dict[str, Any], timestamp: int = 1_700_000_000_000) -> dict[str, Any]:
    return {"timestamp": timestamp, "type": {"eventType": kind, "majorVersion": 1,
                                             "minorVersion": 0}, "data": data}


EVENTS = [
    _event("BuildStarted", {}),
    _event("BuildAgent", {"username": HOSTILE, "publicHostname": HOSTILE}),
    _event("BuildRequestedTasks", {"requested": [HOSTILE]}),
    _event("UserTag", {"tag": HOSTILE}),
    _event("UserNamedValue", {"key": "Git branch", "value": HOSTILE}),
    _event("TaskStarted", {"id": 1, "path": ":" + HOSTILE}),
    _event("TestStarted", {"task": 1, "id": 2, "name": HOSTILE, "className": HOSTILE,
                           "suite": False}),
    _event("TestFinished", {"task": 1, "id": 2, "failed": True, "failureId": 9}),
    _event("OutputStyledTextEvent", {"spans": [{"text": HOSTILE + "\n", "style": "Failure"}]}),
    _event("OutputLogEvent", {"message": HOSTILE}),
    _event("OutputLogEvent", {"message": "bad-utf8 in a log line"}),
    _event("TaskFinished", {"id": 1, "path": ":" + HOSTILE, "outcome": "failed"}),
    _event("ExceptionData", {"exceptions": {"9": {"className": HOSTILE, "message": HOSTILE}}}),
    _event("BuildFinished", {"failureId": 9}, 1_700_000_005_000),
]


def _sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    out = b""
    for position, (kind, body) in enumerate(events):
        # Invalid UTF-8 inside a JSON string: the client reads it with replacement characters.
        data = json.dumps(body).encode().replace(b"bad-utf8", b"\xff\xfe")
        out += f"event: {kind}\nid: {position}\n".encode() + b"data: " + data + b"\n\n"
    return out


async def _events(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Last-Event-ID"):
        return web.Response(status=204)
    build = {"buildId": BUILD_ID, "toolType": "gradle", "toolVersion": HOSTILE,
             "timestamp": 1_700_000_006_000}
    body = _sse([("Build", build), *(("BuildEvent", event) for event in EVENTS)])
    return web.Response(body=body, content_type="text/event-stream")


def _invocation() -> dict[str, Any]:
    return {"id": {"invocationId": INVOCATION_ID}, "invocationStatus": "COMPLETE_INVOCATION_STATUS",
            "success": False, "bazelExitCode": HOSTILE, "user": HOSTILE, "host": HOSTILE,
            "command": "test", "pattern": HOSTILE, "role": HOSTILE, "repoUrl": HOSTILE,
            "commitSha": "abc", "actionCount": "3"}


def _file() -> dict[str, Any]:
    return {"name": "evil" + HOSTILE + ".log",
            "uri": f"bytestream://hostile/blobs/{FILE_SHA}/{len(FILE_BYTES)}",
            "hash": FILE_SHA, "sizeBytes": str(len(FILE_BYTES))}


_ANSWERS: dict[str, Any] = {
    "GetInvocation": lambda: {"invocation": [_invocation()]},
    "GetTarget": lambda: {"target": [{"id": {"invocationId": INVOCATION_ID, "targetId": "t1"},
                                      "label": "//evil:" + HOSTILE, "status": "FAILED",
                                      "ruleType": HOSTILE, "tag": [HOSTILE],
                                      "language": HOSTILE}]},
    "GetAction": lambda: {"action": [{"id": {"invocationId": INVOCATION_ID, "targetId": "t1",
                                             "actionId": "YQ"}, "targetLabel": HOSTILE,
                                      "file": [_file()]}]},
    "GetLog": lambda: {"log": {"contents": (HOSTILE + "\n") * 3 + "ERROR: " + HOSTILE + "\n"
                                           + "B" * 1_000_000 + "\n"}},
}


async def _rpc(request: web.Request) -> web.StreamResponse:
    method = request.match_info["method"]
    if method == "GetFile":
        return web.Response(body=FILE_BYTES, content_type="application/octet-stream")
    answer = _ANSWERS.get(method)
    if answer is None:
        return web.Response(status=404)
    return web.json_response(answer())


def serve() -> str:
    """Start the server on a free port in a daemon thread; return its base URL."""

    def routes(app: web.Application) -> None:
        app.router.add_get("/build-export/v2/build/{build_id}/events", _events)
        app.router.add_post("/api/v1/{method}", _rpc)

    return serve_app(routes)


def serve_app(add_routes: Callable[[web.Application], None]) -> str:
    """Serve an aiohttp app with the routes `add_routes` adds, on a free port in a daemon
    thread; return its base URL."""
    ready = threading.Event()
    address: list[str] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        app = web.Application()
        add_routes(app)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        address.append(f"http://127.0.0.1:{port}")
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(10)
    return address[0]
