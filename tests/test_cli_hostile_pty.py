"""Every line the command line writes on stderr about an id, a URI or a name it was given or
was sent passes the sanitiser: read as raw bytes on a real terminal, a hostile id's OSC title,
screen clear and CR LF come out inert."""

from __future__ import annotations

import json
import sys

import pytest
from aiohttp import web
from hostile_server import serve_app
from terminal import PtyProcess

pytestmark = pytest.mark.timeout(60)

HOSTILE_ID = "\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[H\r\nFAKE-LINE\x9b6n"


async def _listing(request: web.Request) -> web.Response:
    if request.headers.get("Last-Event-ID"):
        return web.Response(status=204)  # nothing after it: the listing ends
    build = {"buildId": HOSTILE_ID, "toolType": "gradle", "timestamp": 1_700_000_000_000}
    body = f"event: Build\nid: 1\ndata: {json.dumps(build)}\n\n"
    return web.Response(text=body, content_type="text/event-stream")


async def _unknown(_: web.Request) -> web.Response:
    return web.Response(status=404, text="no such build")


@pytest.fixture(scope="module")
def hostile_url() -> str:
    """A Develocity server that lists one build with a hostile id and knows nothing else."""

    def routes(app: web.Application) -> None:
        app.router.add_get("/build-export/v2/builds/since/{since}", _listing)
        app.router.add_route("*", "/{tail:.*}", _unknown)

    return serve_app(routes)


def on_terminal(url: str, *args: str) -> tuple[int, bytes]:
    env = {
        "BUILDWATCH_DEVELOCITY_URL": url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "token",
        "BUILDWATCH_BUILDBUDDY_URL": url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": "key",
    }
    with PtyProcess([sys.executable, "-m", "buildwatch", *args], env) as terminal:
        code = terminal.wait(timeout=30)
        return code, bytes(terminal.output)


def assert_inert(output: bytes) -> None:
    # No OSC, no screen clear or cursor move, no 8-bit CSI (a colour reset of buildwatch's own
    # may remain).
    for sequence in (b"\x1b]", b"\x1b[2J", b"\x1b[H", b"\xc2\x9b", b"\x9b"):
        assert sequence not in output
    assert b"\nFAKE-LINE" not in output  # the CR LF did not start a line of its own


@pytest.mark.parametrize(
    "args",
    [
        ["tail", "--since", "0", "--summary"],  # the id comes from the server
        ["events", HOSTILE_ID],
        ["tail", "--since-build", HOSTILE_ID],
        ["bb", "targets", HOSTILE_ID],
        ["bb", "file", "get", f"bytestream://host/blobs/{HOSTILE_ID}/1"],
        ["bb", "file", "get", "bytestream://host/blobs/abc/1", "-o", f"/nonexistent/{HOSTILE_ID}"],
        ["--profile", HOSTILE_ID, "tail"],
        ["tail", HOSTILE_ID],  # an argument argparse does not expect
    ],
    ids=["tail --summary, id from the server", "events ID", "tail --since-build ID",
         "bb targets ID", "bb file get URI", "bb file get -o PATH", "--profile NAME",
         "unexpected argument"],
)
def test_a_hostile_id_reaches_the_terminal_inert(hostile_url: str, args: list[str]) -> None:
    code, output = on_terminal(hostile_url, *args)

    assert_inert(output)
    assert b"FAKE-LINE" in output  # the message is there, quoting what it was given
    assert b"Traceback" not in output
    assert code != 0 or b"warning:" in output
