"""A Develocity and BuildBuddy server whose every string is hostile: escape sequences, markup,
invalid UTF-8. The app must show all of it as harmless text."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

HOSTILE = (
    "\x1b]0;PWNED-TITLE\x07 \x1b]2;PWNED-TITLE-2\x1b\\ \x1b]52;c;ZXZpbA==\x07 "
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[6n \x1b[2J\x1b[H\x1b[5A "
    "\x1bP+q544e\x1b\\ \x9b6n \x1bc [bold red]FAKE[/] [link=https://evil.example]x[/link] "
    "semi;colon\x9c"
)
"""OSC 0/2 title, OSC 52 clipboard, OSC 8 link, CSI 6n query, screen clear, cursor moves, DCS,
8-bit CSI, reset, Rich markup, and what would end a field or a sequence of a desktop
notification: a `;` and an 8-bit ST."""
HOSTILE_SHOWN = "[bold red]FAKE[/]"
"""What of HOSTILE's markup must be on the screen, literally."""

FILE_BYTES = (HOSTILE + "\n").encode() + b"bad utf-8: \xff\xfe\xc3\n" + b"A" * 1_000_000 + b"\n"
FILE_SHA = hashlib.sha256(FILE_BYTES).hexdigest()
INVOCATION_ID = "0bad0bad-0000-4000-8000-000000000001"
BUILD_ID = "hostilebuild1"
"""A plain id (the clients refuse others): its build's and invocation's other strings are hostile."""
HOSTILE_BUILD_ID = "x\x1b]0;PWNED-ID\x07\x1b[2J\x1b[H\r\n[b]ID[/]"
"""A listed build whose id retitles the terminal, clears it and breaks the line."""
HOSTILE_BUILD_ID_SHOWN = "x [b]ID[/]"
HOSTILE_INVOCATION_ID = "0bad\x1b]0;PWNED-INV\x07\x1b[2J\r\n[b]INV[/]"
HOSTILE_INVOCATION_ID_SHOWN = "0bad [b]INV[/]"
WATCHED_COMMIT = "c0ffee" * 6 + "c0ff"
"""A commit whose invocations are the two above."""

FORBIDDEN = {
    "OSC 0 title": b"\x1b]0;PWNED",
    "OSC 2 title": b"\x1b]2;PWNED",
    "OSC 52 clipboard write of the server's": b"\x1b]52;c;ZXZpbA==",
    "OSC 8 link to the attacker": b"\x1b]8;;https://evil",
    "CSI 6n cursor query": b"\x1b[6n",
    "CSI screen clear": b"\x1b[2J",
    "DCS": b"\x1bP",
    "8-bit CSI": b"\xc2\x9b",
    "8-bit ST": b"\xc2\x9c",
    "terminal reset": b"\x1bc",
    "a line break from an id": b"\r\n[b]",
}
"""What the server sends and the app must never write to the terminal."""


def assert_harmless(output: bytes, *shown: bytes) -> None:
    """`output` (every byte the app wrote) holds none of FORBIDDEN, and each of `shown`."""
    found = [name for name, sequence in FORBIDDEN.items() if sequence in output]
    assert not found, f"the app wrote {found} to the terminal"
    missing = [text for text in shown if text not in output]
    assert not missing, f"the app never showed {missing}"


def _event(kind: str, data: dict[str, Any], timestamp: int = 1_700_000_000_000) -> dict[str, Any]:
    return {"timestamp": timestamp, "type": {"eventType": kind, "majorVersion": 1,
                                             "minorVersion": 0}, "data": data}


EVENTS = [
    _event("BuildStarted", {}),
    _event("ProjectStructure", {"rootProjectName": HOSTILE}),
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


def _build(build_id: str) -> dict[str, Any]:
    # Published now: a failed build published after the app started raises a notification.
    return {"buildId": build_id, "toolType": "gradle", "toolVersion": HOSTILE,
            "agentVersion": HOSTILE, "timestamp": int(time.time() * 1000)}


async def _events(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Last-Event-ID"):
        return web.Response(status=204)
    body = _sse([("Build", _build(BUILD_ID)), *(("BuildEvent", event) for event in EVENTS)])
    return web.Response(body=body, content_type="text/event-stream")


async def _listing(request: web.Request) -> web.StreamResponse:
    """Both builds from a time; nothing new after a build or on a resume (204 without
    `?stream`); with `?stream`, the connection stays open with heartbeats, as Develocity's does."""
    stream = "stream" in request.query
    resumed = bool(request.headers.get("Last-Event-ID"))
    if resumed and not stream:
        return web.Response(status=204)  # a finite listing, read to its end
    fresh = "date" in request.match_info and not resumed
    builds = [_build(HOSTILE_BUILD_ID), _build(BUILD_ID)] if fresh else []
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(_sse([("Build", build) for build in builds]))
    try:
        while stream:
            await asyncio.sleep(1)  # the pace of this server's heartbeats
            await response.write(b":\n\n")
    except ConnectionResetError:  # the client went away
        pass
    return response


def _invocation(invocation_id: str = INVOCATION_ID) -> dict[str, Any]:
    # Created now: a failure that ends after the app started raises a notification.
    return {"id": {"invocationId": invocation_id}, "invocationStatus": "COMPLETE_INVOCATION_STATUS",
            "success": False, "bazelExitCode": HOSTILE, "user": HOSTILE, "host": HOSTILE,
            "command": "test", "pattern": HOSTILE, "role": HOSTILE, "repoUrl": HOSTILE,
            "commitSha": HOSTILE, "branchName": HOSTILE, "actionCount": "3",
            "createdAtUsec": str(int(time.time() * 1_000_000)), "durationUsec": "5000000"}


def _invocations(selector: dict[str, Any]) -> dict[str, Any]:
    """By commit: both invocations; by id: that one, if it is one of them (else `{}`, as
    BuildBuddy answers for an id it does not know)."""
    if selector.get("commit_sha") == WATCHED_COMMIT:
        return {"invocation": [_invocation(HOSTILE_INVOCATION_ID), _invocation()]}
    if selector.get("invocation_id") == INVOCATION_ID:
        return {"invocation": [_invocation()]}
    return {}


def _file() -> dict[str, Any]:
    return {"name": "evil" + HOSTILE + ".log",
            "uri": f"bytestream://hostile/blobs/{FILE_SHA}/{len(FILE_BYTES)}",
            "hash": FILE_SHA, "sizeBytes": str(len(FILE_BYTES))}


def _hostile_file() -> dict[str, Any]:
    """A file whose name, URI and digest are all hostile (the client refuses to fetch it)."""
    return {"name": HOSTILE, "uri": f"bytestream://{HOSTILE}/blobs/{HOSTILE}/9",
            "hash": HOSTILE, "sizeBytes": "9"}


_ANSWERS: dict[str, Any] = {
    "GetTarget": lambda: {"target": [{"id": {"invocationId": INVOCATION_ID, "targetId": "t1"},
                                      "label": "//evil:" + HOSTILE, "status": "FAILED",
                                      "ruleType": HOSTILE, "tag": [HOSTILE],
                                      "language": HOSTILE}]},
    "GetAction": lambda: {"action": [{"id": {"invocationId": INVOCATION_ID, "targetId": "t1",
                                             "actionId": "YQ"}, "targetLabel": HOSTILE,
                                      "file": [_file(), _hostile_file()]}]},
    "GetLog": lambda: {"log": {"contents": (HOSTILE + "\n") * 3 + "ERROR: " + HOSTILE + "\n"
                                           + "B" * 1_000_000 + "\n"}},
}


async def _rpc(request: web.Request) -> web.StreamResponse:
    method = request.match_info["method"]
    if method == "GetFile":
        return web.Response(body=FILE_BYTES, content_type="application/octet-stream")
    if method == "GetInvocation":
        request_body = await request.json()
        return web.json_response(_invocations(request_body.get("selector", {})))
    answer = _ANSWERS.get(method)
    if answer is None:
        return web.Response(status=404)
    return web.json_response(answer())


def serve() -> str:
    """Start the server on a free port in a daemon thread; return its base URL."""

    def routes(app: web.Application) -> None:
        app.router.add_get("/build-export/v2/build/{build_id}/events", _events)
        app.router.add_get("/build-export/v2/builds/since/{date}", _listing)
        app.router.add_get("/build-export/v2/builds/sinceBuild/{build_id}", _listing)
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
