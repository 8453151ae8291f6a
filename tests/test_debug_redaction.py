"""`--debug` shows what goes over the wire and never a secret.

Each command runs as a user runs it, in its own process against the simulator, with canary
secrets in the environment; every byte it writes is then searched for the secrets, raw and
base64-encoded. Each test also checks that the debug output really shows the requests, so a
`--debug` that printed nothing could not pass.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from thread_server import QuietHandler, served

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.errors import ServerError
from buildwatch.core.log_redaction import MASK, RedactingFormatter, configure_logging
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)

SEED = 1
TOKEN = "canary-token-8d2f3"
KEY = "canary-key-77ab1"
USERNAME = "canary-user"
PASSWORD = "canary-password-5c1e9"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    config = SimConfig(
        seed=SEED, builds=8, token=TOKEN, api_key=KEY, username=USERNAME, password=PASSWORD,
        heartbeat_s=0.2, not_ready_s=0.2,
    )
    with SimulatorThread(config) as running:
        yield running


def buildwatch(sim: SimulatorThread, *args: str, **secrets: str) -> tuple[int, str]:
    """Run `buildwatch` with `secrets` as BUILDWATCH_* variables; exit code and all it wrote."""
    environment = {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        **{f"BUILDWATCH_{name.upper()}": value for name, value in secrets.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "buildwatch", *args],
        env=environment, capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
    )
    return done.returncode, done.stdout.decode("utf-8", "replace") + done.stderr.decode(
        "utf-8", "replace"
    )


def assert_hidden(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output
        assert b64(secret) not in output


def a_build_id(sim: SimulatorThread) -> str:
    listed = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
    return str(next(build["buildId"] for build in listed if not build["eventCount"]))


def test_debug_tail_logs_each_request_but_not_the_token(sim: SimulatorThread) -> None:
    code, output = buildwatch(sim, "--debug", "tail", "--since", "0", develocity_token=TOKEN)
    assert code == 0
    assert "HTTP Request: GET" in output and "/build-export/v2/builds/since/0" in output
    assert "receive_response_headers.complete" in output
    assert_hidden(output, TOKEN)


def test_debug_events_logs_the_events_request_but_not_the_token(sim: SimulatorThread) -> None:
    build = a_build_id(sim)
    code, output = buildwatch(sim, "--debug", "events", build, develocity_token=TOKEN)
    assert code == 0
    assert f"/build/{build}/events" in output
    assert_hidden(output, TOKEN)


def test_debug_file_takes_the_log_instead_of_stderr_readable_by_its_owner_only(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    log = tmp_path / "debug.log"
    code, output = buildwatch(
        sim, "--debug-file", str(log), "tail", "--since", "0", develocity_token=TOKEN
    )
    written = log.read_text()
    assert code == 0
    assert "HTTP Request: GET" in written and "HTTP Request" not in output
    assert log.stat().st_mode & 0o777 == 0o600
    assert_hidden(written, TOKEN)


def test_a_debug_file_that_cannot_be_written_is_one_line_before_anything_runs(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    code, output = buildwatch(
        sim, "--debug-file", str(tmp_path / "missing" / "debug.log"), "tail", "--since", "0"
    )
    assert code == 2
    assert output.splitlines() == [
        f"buildwatch: cannot write the debug log {tmp_path / 'missing' / 'debug.log'}: "
        "No such file or directory"
    ]


def test_a_refused_develocity_token_is_hidden_in_both_forms_it_was_sent_in(
    sim: SimulatorThread,
) -> None:
    wrong = "wrong-canary-token-0b7e1"
    code, output = buildwatch(sim, "--debug", "tail", "--since", "0", develocity_token=wrong)
    assert code == 3
    assert output.count('"HTTP/1.1 401 Unauthorized"') == 2  # raw, then base64-encoded
    assert_hidden(output, wrong)


def test_debug_with_basic_auth_hides_the_password_and_the_encoded_pair(
    sim: SimulatorThread,
) -> None:
    code, output = buildwatch(
        sim, "--debug", "tail", "--since", "0",
        develocity_username=USERNAME, develocity_password=PASSWORD,
    )
    assert code == 0
    assert "HTTP Request: GET" in output
    assert_hidden(output, PASSWORD, f"{USERNAME}:{PASSWORD}")


def test_debug_bb_invocations_logs_the_rpc_but_not_the_api_key(sim: SimulatorThread) -> None:
    commit = World(SEED).commits[10].sha
    code, output = buildwatch(
        sim, "--debug", "bb", "invocations", "--commit", commit, buildbuddy_api_key=KEY
    )
    assert code == 0
    assert "HTTP Request: POST" in output and "/api/v1/GetInvocation" in output
    assert_hidden(output, KEY)


def test_a_wrong_api_key_is_not_repeated_even_as_the_servers_masked_echo(
    sim: SimulatorThread,
) -> None:
    wrong = "wrong-canary-key-31c4d"
    commit = World(SEED).commits[10].sha
    code, output = buildwatch(
        sim, "--debug", "bb", "invocations", "--commit", commit, buildbuddy_api_key=wrong
    )
    assert code == 3
    assert "/api/v1/GetInvocation" in output
    assert "the server rejected the API key" in output
    assert f"{wrong[0]}***{wrong[-1]}" not in output
    assert_hidden(output, wrong)


def test_without_debug_the_http_libraries_log_nothing(sim: SimulatorThread) -> None:
    code, output = buildwatch(sim, "tail", "--since", "0", "--json", develocity_token=TOKEN)
    assert code == 0
    assert "HTTP Request" not in output
    assert "httpcore" not in output


def formatted(message: str, *args: object, exc_info: object = None) -> str:
    record = logging.LogRecord(
        "httpcore.http11", logging.DEBUG, __file__, 1, message, args, exc_info  # type: ignore[arg-type]
    )
    return RedactingFormatter("%(message)s").format(record)


def test_credential_headers_in_byte_tuples_are_masked() -> None:
    headers = [
        (b"Content-Type", b"text/plain"),
        (b"Authorization", b"Bearer unregistered-a1"),
        (b"x-buildbuddy-api-key", b"unregistered-b2"),
        (b"Set-Cookie", b"session=unregistered-c3"),
        (b"proxy-authorization", b"Basic unregistered-d4"),
    ]
    line = formatted("receive_response_headers.complete return_value=%r", headers)
    assert "unregistered" not in line
    assert f"(b'Authorization', b'{MASK}')" in line
    assert f"(b'Set-Cookie', b'{MASK}')" in line
    assert "(b'Content-Type', b'text/plain')" in line


def test_credential_headers_in_dicts_and_header_lines_are_masked() -> None:
    line = formatted("%r\n%s", {"Cookie": "unregistered-e5", "Accept": "*/*"}, "x-buildbuddy-api-key: k1")
    assert line == f"{{'Cookie': '{MASK}', 'Accept': '*/*'}}\nx-buildbuddy-api-key: {MASK}"


def test_a_registered_secret_is_masked_raw_escaped_and_inside_base64() -> None:
    password = "canary-pässword-6d0a4"
    Secret(password)
    pair = f"someone:{password}"
    line = formatted("%s %r %s %s", password, password.encode(), b64(password), b64(pair))
    assert line == " ".join([MASK, f"b'{MASK}'", MASK, MASK])


def test_a_secret_in_a_logged_traceback_is_masked() -> None:
    Secret("canary-traceback-2f9e")
    try:
        raise ValueError("refused canary-traceback-2f9e")
    except ValueError:
        line = formatted("failed", exc_info=sys.exc_info())
    assert "ValueError: refused ****" in line
    assert "canary-traceback-2f9e" not in line


class _EchoingHandler(QuietHandler):
    """Fails every request, quoting its Authorization header back in a header and the body."""

    def do_GET(self) -> None:
        echoed = self.headers.get("Authorization", "").encode()
        self.send_response(500)
        self.send_header("X-Echo", echoed.decode())
        self.send_header("Content-Length", str(len(echoed)))
        self.end_headers()
        self.wfile.write(echoed)


@pytest.fixture
def echoing_url() -> Iterator[str]:
    with served(ThreadingHTTPServer(("127.0.0.1", 0), _EchoingHandler)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def debug_logging() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("buildwatch", "httpx", "httpcore")]
    saved = [(logger.level, list(logger.handlers), logger.propagate) for logger in loggers]
    configure_logging(True)
    yield
    for logger, (level, handlers, propagate) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


@pytest.mark.parametrize(
    ("connection_secrets", "hidden"),
    [
        ({"token": Secret("canary-echo-token-93a1")}, ["canary-echo-token-93a1"]),
        (
            {"username": "echo-user", "password": Secret("canary-echo-pw-4b27")},
            ["canary-echo-pw-4b27", "echo-user:canary-echo-pw-4b27"],
        ),
    ],
    ids=["token", "basic"],
)
async def test_a_credential_the_server_echoes_is_masked_in_debug_log_and_error(
    echoing_url: str,
    debug_logging: None,
    capsys: pytest.CaptureFixture[str],
    connection_secrets: dict[str, object],
    hidden: list[str],
) -> None:
    connection = DevelocityConnection(base_url=echoing_url, **connection_secrets)  # type: ignore[arg-type]
    async with DevelocityClient(connection) as client:
        with pytest.raises(ServerError) as raised:
            await client.check_access()
    logged = capsys.readouterr().err
    assert "(b'X-Echo', b'" in logged
    assert_hidden(logged + str(raised.value) + repr(raised.value), *hidden)
