"""`buildwatch tail` and `buildwatch events` as scripts use them: real processes, the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from sim_sse import AUTH, parse_sse

from buildwatch.cli.develocity import parse_since
from buildwatch.core.errors import ConfigError
from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=8, builds=16, heartbeat_s=0.2, not_ready_s=0.2)) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(sim: SimulatorThread) -> Iterator[None]:
    yield
    sim.set_faults(FaultSpec())


def environment(sim: SimulatorThread, token: str = "sim-token") -> dict[str, str]:
    return {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": token,
    }


def buildwatch(
    sim: SimulatorThread, *args: str, token: str = "sim-token"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", *args],
        env=environment(sim, token),
        capture_output=True,
        text=True,
        timeout=30,
    )


def server_messages(sim: SimulatorThread, path: str) -> list[str]:
    """The data of every message at `path`, read with plain httpx."""
    response = httpx.get(f"{sim.develocity_url}/build-export/v2/{path}", headers=AUTH)
    return [message.data for message in parse_sse(response.text)]


def builds(sim: SimulatorThread) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = httpx.get(
        f"{sim.develocity_url}/_sim/develocity/builds"
    ).json()
    return listed


def small_build(sim: SimulatorThread, tool: str = "gradle") -> str:
    return str(
        next(b["buildId"] for b in builds(sim) if b["toolType"] == tool and not b["eventCount"])
    )


def test_tail_json_prints_each_build_exactly_as_the_server_sent_it(sim: SimulatorThread) -> None:
    done = buildwatch(sim, "tail", "--since", "0", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == server_messages(sim, "builds/since/0")


def test_tail_since_build_starts_after_that_build(sim: SimulatorThread) -> None:
    ids = [str(b["buildId"]) for b in builds(sim)]
    done = buildwatch(sim, "tail", "--since-build", ids[4], "--json")
    assert done.returncode == 0
    assert done.stdout.splitlines() == server_messages(sim, "builds/since/0")[5:]


def test_tail_prints_one_aligned_line_per_build_with_id_time_and_tool(sim: SimulatorThread) -> None:
    done = buildwatch(sim, "tail", "--since", "0")
    lines = done.stdout.splitlines()
    assert done.returncode == 0
    assert [line.split()[0] for line in lines] == [b["buildId"] for b in builds(sim)]
    assert len({line.index(line.split()[3]) for line in lines}) == 1  # the tool column lines up
    assert {line.split()[3] for line in lines} <= {"gradle", "maven", "bazel", "npm"}


def test_tail_summary_adds_each_builds_outcome(sim: SimulatorThread) -> None:
    done = buildwatch(sim, "tail", "--since", "0", "--summary")
    assert done.returncode == 0, done.stderr
    outcomes = [line.split()[5] for line in done.stdout.splitlines()]
    assert outcomes == ["failed" if b["failed"] else "success" for b in builds(sim)]


def test_events_json_prints_the_build_then_every_event_as_sent(sim: SimulatorThread) -> None:
    build_id = small_build(sim)
    done = buildwatch(sim, "events", build_id, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == server_messages(sim, f"build/{build_id}/events")


def test_events_with_types_prints_readable_lines_of_those_types(sim: SimulatorThread) -> None:
    build_id = small_build(sim)
    done = buildwatch(sim, "events", build_id, "--types", "BuildStarted,BuildFinished")
    lines = done.stdout.splitlines()
    assert done.returncode == 0
    assert lines[0].startswith(f"Build {build_id}")
    assert [line.split()[1] for line in lines[1:]] == ["BuildStarted", "BuildFinished"]


def test_malformed_json_is_reported_on_stderr_and_the_rest_printed(sim: SimulatorThread) -> None:
    build_id = small_build(sim, "maven")
    total = len(server_messages(sim, f"build/{build_id}/events"))
    sim.set_faults(FaultSpec(bad_json=0.05))
    done = buildwatch(sim, "events", build_id, "--json")
    warnings = done.stderr.splitlines()
    assert done.returncode == 0
    assert warnings and all("malformed JSON" in line for line in warnings)
    assert len(done.stdout.splitlines()) + len(warnings) == total


def test_an_unknown_build_exits_4_with_one_line(sim: SimulatorThread) -> None:
    done = buildwatch(sim, "events", "nosuchbuild00")
    assert done.returncode == 4
    assert done.stderr.splitlines() == [
        f"buildwatch: build nosuchbuild00 not found on {sim.develocity_url.removeprefix('http://')}"
    ]


def test_a_refused_token_exits_3_with_one_line_and_no_secret(sim: SimulatorThread) -> None:
    done = buildwatch(sim, "tail", "--since", "0", token="not-the-token-5678")
    assert done.returncode == 3
    assert len(done.stderr.splitlines()) == 1 and "401" in done.stderr
    assert "not-the-token" not in done.stderr + done.stdout


def test_a_bad_since_exits_2_with_one_line(sim: SimulatorThread) -> None:
    done = buildwatch(sim, "tail", "--since", "yesterday")
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "--since" in done.stderr


def wait_until_listing_in_flight(sim: SimulatorThread) -> None:
    """Wait until the simulator is answering a build listing: the client is connected."""
    deadline = time.monotonic() + 20
    while not any(
        "/builds/since/" in route and gauge["now"]
        for route, gauge in httpx.get(f"{sim.develocity_url}/_sim/in-flight").json().items()
    ):
        assert time.monotonic() < deadline, "the client never connected"
        time.sleep(0.02)


def test_follow_prints_new_builds_and_ctrl_c_exits_0(sim: SimulatorThread) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "tail", "--since", "now", "--follow", "--json"],
        env=environment(sim),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_listing_in_flight(sim)
        published = [i for i in sim.publish_builds(2) if len(i) == 13]
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
    finally:
        process.kill()
    assert code == 0
    assert [line.split('"buildId":"')[1][:13] for line in lines] == published


def test_the_headless_commands_never_import_textual(sim: SimulatorThread) -> None:
    code = (
        "import sys; from buildwatch.cli import main; "
        f"main(['events', '{small_build(sim)}', '--json']); "
        "print('textual' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment(sim), capture_output=True, text=True
    )
    assert done.stderr.strip() == "False"


NOW_MS = 200_000_000


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("now", "now"),
        ("0", 0),
        ("1700000000000", 1_700_000_000_000),
        ("90s", NOW_MS - 90_000),
        ("30m", NOW_MS - 1_800_000),
        ("1d12h", NOW_MS - 129_600_000),
        ("1000d", 0),
    ],
)
def test_since_takes_now_epoch_ms_or_a_duration_ago(given: str, expected: object) -> None:
    assert parse_since(given, now_ms=NOW_MS) == expected


@pytest.mark.parametrize("given", ["yesterday", "-5", "5x", "", "1.5h"])
def test_since_refuses_anything_else(given: str) -> None:
    with pytest.raises(ConfigError):
        parse_since(given)
