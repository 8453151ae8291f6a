"""`buildwatch wait` as scripts use it: whole processes against the simulator, one exit code each.

The profile used polls every half second and waits at most half a second between retries, so
that a server that keeps failing exhausts the clients' retry budgets in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_server import BUILD_ID, HOSTILE_INVOCATION_ID_SHOWN, WATCHED_COMMIT, assert_harmless
from hostile_server import serve as serve_hostile
from keyring_backend import TempDirKeyring

from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread
from buildwatch.sim.develocity_data import BIG_BUILD_EVERY, plan_build
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(90)
SEED = 3
KEY = "sim-api-key"
PROFILE = """\
[profiles.default.ui]
poll_interval_seconds = 0.5
retry_max_seconds = 0.5
backfill_minutes = 240
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    # A published build answers 503 for 2.5 s: long beside the retries' half second, so a
    # command asking for a build just published meets the 503 however loaded the machine is.
    with SimulatorThread(SimConfig(seed=SEED, builds=30, not_ready_s=2.5)) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def no_faults(sim: SimulatorThread) -> Iterator[None]:
    yield
    sim.set_faults(FaultSpec())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(PROFILE)
    return path


def environment(
    sim: SimulatorThread, config: Path, *, token: str = "sim-token", key: str = KEY
) -> dict[str, str]:
    return {
        **os.environ,
        "BUILDWATCH_CONFIG": str(config),
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": token,
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": key,
    }


def wait(
    sim: SimulatorThread, config: Path, *args: str, **credentials: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", "wait", *args],
        env=environment(sim, config, **credentials), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60,
    )


def start(sim: SimulatorThread, config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "wait", *args],
        env=environment(sim, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
    )


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def summary(stdout: str) -> dict[str, Any]:
    last = lines(stdout)[-1]
    assert last["event"] == "summary"
    return last


def changes(stdout: str) -> list[tuple[str, str, str, str | None]]:
    """(event, tool, id, outcome) of each change line, in order."""
    return [
        (line["event"], line["tool"], line["id"], line["outcome"])
        for line in lines(stdout) if line["event"] != "summary"
    ]


def published(sim: SimulatorThread) -> list[dict[str, Any]]:
    builds: list[dict[str, Any]] = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
    return builds


def invocations(sim: SimulatorThread, commit: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{sim.buildbuddy_url}/api/v1/GetInvocation",
        json={"selector": {"commit_sha": commit}}, headers={"x-buildbuddy-api-key": KEY},
    )
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json().get("invocation", [])
    return found


def new_commit() -> str:
    """A commit no run has seen: its runs are the ones the test holds."""
    return uuid.uuid4().hex + "c0ffee00"


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def next_build(sim: SimulatorThread, *, failed: bool) -> str:
    """Publish builds until the next one to be published is a small one that `failed` (or not);
    its id, not yet known to the server."""
    world = World(SEED)
    index = len(published(sim))
    while index % BIG_BUILD_EVERY == 7 or plan_build(world, index, 0).failed != failed:
        index += 1
    sim.publish_builds(index - len(published(sim)))
    return plan_build(world, index, 0).build_id


def retry_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "; retrying in " in line]


def test_a_build_published_after_the_wait_began_is_waited_for_and_exits_0(
    sim: SimulatorThread, config: Path
) -> None:
    build_id = next_build(sim, failed=False)
    process = start(sim, config, "--build", build_id, "--json")
    until(
        lambda: any(f"/build/{build_id}/events" in r.path and r.status == 404 for r in sim.requests),
        "the command never asked for the build",
    )
    sim.publish_builds(1)  # now published, and answering 503 while it is processed
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert changes(stdout) == [
        ("appeared", "develocity", build_id, None), ("finished", "develocity", build_id, "succeeded"),
    ]
    assert summary(stdout)["outcome"] == "succeeded"
    said = retry_lines(stderr)
    assert any("not found" in line for line in said)
    assert any("answered 503" in line for line in said)
    assert said == stderr.splitlines()  # nothing but the retries: no build failure among them


def test_transient_503s_are_reported_on_stderr_and_the_exit_is_still_0(
    sim: SimulatorThread, config: Path
) -> None:
    build = next(b for b in published(sim) if not b["failed"] and not b["eventCount"])
    # Three 503s in a row before each request is let through.
    sim.set_faults(FaultSpec(unavailable=1.0, burst=3))
    done = wait(sim, config, "--build", build["buildId"], "--json")

    assert done.returncode == 0, done.stderr
    said = done.stderr.splitlines()
    assert len(said) >= 3
    assert all(line.startswith("buildwatch: ") and "answered 503; retrying in" in line for line in said)
    assert summary(done.stdout)["exitCode"] == 0


def test_a_failed_build_exits_1(sim: SimulatorThread, config: Path) -> None:
    build = next(b for b in published(sim) if b["failed"] and not b["eventCount"])
    done = wait(sim, config, "--build", build["buildId"], "--json")

    assert done.returncode == 1, done.stderr
    assert changes(done.stdout)[-1] == ("finished", "develocity", build["buildId"], "failed")
    assert summary(done.stdout) | {"runs": None} == {
        "event": "summary", "reason": "finished", "exitCode": 1, "outcome": "failed",
        "error": None, "runs": None,
    }


def finished_commit_with_a_failed_invocation(sim: SimulatorThread) -> tuple[str, list[str]]:
    """A commit of Develocity builds whose BuildBuddy invocations have all finished, one of them
    failing; and the ids of its builds."""
    world = World(SEED)
    builds: dict[str, list[str]] = {}
    for index, build in enumerate(published(sim)):
        builds.setdefault(plan_build(world, index, 0).commit.sha, []).append(build["buildId"])
    for commit, ids in builds.items():
        found = invocations(sim, commit)
        finished = all(i.get("invocationStatus") == "COMPLETE_INVOCATION_STATUS" for i in found)
        if found and finished and any(i.get("bazelExitCode") == "TESTS_FAILED" for i in found):
            return commit, ids
    raise AssertionError("no commit of a Develocity build has a finished, failed invocation")


def test_a_commit_waits_for_its_builds_and_invocations_and_exits_1_when_one_failed(
    sim: SimulatorThread, config: Path
) -> None:
    commit, build_ids = finished_commit_with_a_failed_invocation(sim)
    invocation_ids = [i["id"]["invocationId"] for i in invocations(sim, commit)]
    done = wait(sim, config, "--commit", commit, "--json")

    assert done.returncode == 1, done.stderr
    seen = changes(done.stdout)
    runs = {("develocity", i) for i in build_ids} | {("buildbuddy", i) for i in invocation_ids}
    assert {(tool, run) for event, tool, run, _ in seen if event == "appeared"} == runs
    assert {(tool, run) for event, tool, run, _ in seen if event == "finished"} == runs
    for event, tool, run, _ in seen:
        if event == "finished":  # and appeared before, with no outcome yet
            assert seen.index(("appeared", tool, run, None)) < seen.index((event, tool, run, _))
    last = summary(done.stdout)
    assert (last["outcome"], last["exitCode"]) == ("failed", 1)
    assert {run["commit"] for run in last["runs"]} == {commit}


def test_a_running_invocation_is_waited_for_until_it_succeeds(
    sim: SimulatorThread, config: Path
) -> None:
    commit = new_commit()
    invocation_id = sim.hold_invocation(commit)
    process = start(sim, config, "--commit", commit, "--tool", "buildbuddy", "--json")
    assert process.stdout is not None
    appeared = json.loads(process.stdout.readline())
    sim.end_invocation(invocation_id, "SUCCESS")
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert (appeared["event"], appeared["id"], appeared["outcome"]) == ("appeared", invocation_id, None)
    assert changes(stdout) == [("finished", "buildbuddy", invocation_id, "succeeded")]
    assert summary(stdout)["runs"] == [{
        "tool": "buildbuddy", "id": invocation_id, "commit": commit, "outcome": "succeeded",
        "url": f"{sim.buildbuddy_url}/invocation/{invocation_id}",
    }]
    assert stderr == ""


def test_a_build_of_the_commit_published_during_the_wait_is_found_in_the_listing(
    sim: SimulatorThread, config: Path
) -> None:
    world = World(SEED)
    index = len(published(sim))
    while index % BIG_BUILD_EVERY == 7:
        index += 1
    sim.publish_builds(index - len(published(sim)))
    upcoming = plan_build(world, index, 0)
    commit = upcoming.commit.sha
    invocation_id = sim.hold_invocation(commit)  # keeps the wait going until the test ends it
    before = len(sim.requests)
    process = start(sim, config, "--commit", commit, "--json")
    try:
        assert process.stdout is not None
        # Once it lists from the last build it read, it has read what was there at the start.
        until(
            lambda: any("/builds/sinceBuild/" in r.path for r in sim.requests[before:]),
            "the command never listed the builds again",
        )
        sim.publish_builds(1)
        seen = [json.loads(process.stdout.readline())]
        while (seen[-1]["event"], seen[-1]["id"]) != ("finished", upcoming.build_id):
            seen.append(json.loads(process.stdout.readline()))
    finally:
        sim.end_invocation(invocation_id, "SUCCESS")
    stdout, stderr = process.communicate(timeout=60)

    runs = summary(stdout)["runs"]
    assert {"tool": "develocity", "id": upcoming.build_id, "commit": commit} in [
        {key: run[key] for key in ("tool", "id", "commit")} for run in runs
    ]
    worst = summary(stdout)["outcome"]
    assert process.returncode == (0 if worst == "succeeded" else 1), stderr


def test_a_refused_develocity_key_exits_3(sim: SimulatorThread, config: Path) -> None:
    build = published(sim)[0]["buildId"]
    done = wait(sim, config, "--build", build, "--json", token="wrong-token")

    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        f"buildwatch: {sim.develocity_url.removeprefix('http://')} refused the credentials (401): "
        "set BUILDWATCH_DEVELOCITY_TOKEN or run `buildwatch auth login` with a valid access key"
    ]
    assert summary(done.stdout)["exitCode"] == 3


def test_a_refused_buildbuddy_key_exits_3_without_showing_it(
    sim: SimulatorThread, config: Path
) -> None:
    done = wait(sim, config, "--commit", new_commit(), "--tool", "buildbuddy", key="wrong-key-12345")

    assert done.returncode == 3
    assert "rejected the API key" in done.stderr
    assert "wrong-key" not in done.stderr + done.stdout


def test_an_unknown_build_exits_4_once_the_grace_for_a_build_being_published_is_over(
    sim: SimulatorThread, config: Path
) -> None:
    started = time.monotonic()
    done = wait(sim, config, "--build", "nosuchbuild42", "--json")

    assert done.returncode == 4
    assert time.monotonic() - started >= 10
    said = done.stderr.splitlines()
    assert said[:-1] == retry_lines(done.stderr) and len(said) > 1
    assert said[-1].endswith("build nosuchbuild42 not found on "
                             f"{sim.develocity_url.removeprefix('http://')} "
                             "(still, 10 s after the first answer)")
    assert summary(done.stdout)["exitCode"] == 4


def test_a_server_that_keeps_answering_500_exits_5_after_the_retry_budget(
    sim: SimulatorThread, config: Path
) -> None:
    sim.set_faults(FaultSpec(unavailable=1.0, burst=1000))
    done = wait(sim, config, "--commit", new_commit(), "--tool", "buildbuddy", "--json")

    assert done.returncode == 5
    said = done.stderr.splitlines()
    assert len(retry_lines(done.stderr)) == 5 and said[:5] == retry_lines(done.stderr)
    assert len(said) == 6 and "gave up after 6 tries" in said[-1]
    assert summary(done.stdout)["reason"] == "error"


def test_a_run_still_going_at_the_timeout_exits_124(sim: SimulatorThread, config: Path) -> None:
    commit = new_commit()
    invocation_id = sim.hold_invocation(commit)
    try:
        done = wait(sim, config, "--commit", commit, "--tool", "buildbuddy",
                    "--timeout", "2s", "--json")
    finally:
        sim.end_invocation(invocation_id, "SUCCESS")

    assert done.returncode == 124
    assert done.stderr.splitlines() == ["buildwatch: timed out after 2s; 1 still running"]
    last = summary(done.stdout)
    assert (last["reason"], last["exitCode"], last["outcome"]) == ("timeout", 124, None)
    assert [run["outcome"] for run in last["runs"]] == [None]


def test_a_cancelled_run_is_not_a_success(sim: SimulatorThread, config: Path) -> None:
    commit = new_commit()
    invocation_id = sim.hold_invocation(commit)
    sim.end_invocation(invocation_id, "INTERRUPTED")
    done = wait(sim, config, "--commit", commit, "--tool", "buildbuddy")

    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "cancelled: 1 cancelled"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_ends_the_wait_with_its_code_and_a_summary(
    sim: SimulatorThread, config: Path, signum: int, code: int
) -> None:
    commit = new_commit()
    invocation_id = sim.hold_invocation(commit)
    process = start(sim, config, "--commit", commit, "--tool", "buildbuddy", "--json")
    try:
        assert process.stdout is not None
        process.stdout.readline()  # appeared: it is waiting
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        sim.end_invocation(invocation_id, "SUCCESS")

    assert process.returncode == code
    assert (summary(stdout)["reason"], summary(stdout)["exitCode"]) == ("interrupted", code)
    assert stderr == ""


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "one of the arguments --build --commit is required"),
        (["--build", "abc", "--commit", "0" * 40], "not allowed with argument"),
        (["--build", "abc", "--tool", "both"], "--tool goes with --commit"),
        (["--commit", "abc1234"], "expected a full commit SHA"),
        (["--build", "abc", "--timeout", "soon"], "--timeout 'soon': expected a duration"),
        (["--build", "abc", "--timeout", "0s"], "--timeout must be longer than 0"),
    ],
)
def test_a_usage_error_exits_2_with_its_reason(
    sim: SimulatorThread, config: Path, args: list[str], said: str
) -> None:
    done = wait(sim, config, *args)

    assert done.returncode == 2
    assert said in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("json_lines", [False, True])
def test_no_escape_sequence_from_a_server_reaches_the_output(config: Path, json_lines: bool) -> None:
    url = serve_hostile()
    env = {**os.environ, "BUILDWATCH_CONFIG": str(config), "BUILDWATCH_DEVELOCITY_URL": url,
           "BUILDWATCH_DEVELOCITY_TOKEN": "t", "BUILDWATCH_BUILDBUDDY_URL": url,
           "BUILDWATCH_BUILDBUDDY_API_KEY": KEY}
    written = b""
    for args in (["--commit", WATCHED_COMMIT, "--tool", "buildbuddy"], ["--build", BUILD_ID]):
        done = subprocess.run(
            [sys.executable, "-m", "buildwatch", "wait", *args, *(["--json"] if json_lines else [])],
            env=env, capture_output=True, timeout=60,
        )
        assert done.returncode == 1, done.stderr
        written += done.stdout + done.stderr

    assert_harmless(written, *([] if json_lines else [HOSTILE_INVOCATION_ID_SHOWN.encode()]))


@pytest.mark.parametrize("configured", ["develocity", "buildbuddy"])
def test_without_tool_it_asks_the_servers_configured_and_no_other(
    sim: SimulatorThread, config: Path, configured: str
) -> None:
    commit, build_ids = finished_commit_with_a_failed_invocation(sim)
    failed_builds = [b for b in published(sim) if b["buildId"] in build_ids and b["failed"]]
    expected = 1 if configured == "buildbuddy" or failed_builds else 0
    only = {name: value for name, value in environment(sim, config).items()
            if not name.startswith("BUILDWATCH_") or name == "BUILDWATCH_CONFIG"
            or name.startswith(f"BUILDWATCH_{configured.upper()}_")}
    done = subprocess.run(
        [sys.executable, "-m", "buildwatch", "wait", "--commit", commit, "--json"],
        env=only, capture_output=True, text=True, timeout=60,
    )

    assert done.returncode == expected, done.stderr
    assert {run["tool"] for run in summary(done.stdout)["runs"]} == {configured}


def test_the_profile_names_the_servers_and_the_keyring_holds_their_keys(
    sim: SimulatorThread, tmp_path: Path, temp_keyring: TempDirKeyring
) -> None:
    config = tmp_path / "servers.toml"
    config.write_text(
        f'default_profile = "work"\n[profiles.work.develocity]\nurl = "{sim.develocity_url}"\n'
        f'[profiles.work.buildbuddy]\nurl = "{sim.buildbuddy_url}"\n'
        + PROFILE.replace("profiles.default", "profiles.work")
    )
    temp_keyring.set_password("buildwatch", f"develocity:{sim.develocity_url}", "sim-token")
    temp_keyring.set_password("buildwatch", f"buildbuddy:{sim.buildbuddy_url}", KEY)
    commit = new_commit()
    sim.end_invocation(sim.hold_invocation(commit), "SUCCESS")
    env = {name: value for name, value in os.environ.items() if not name.startswith("BUILDWATCH_")}
    before = len(sim.requests)
    done = subprocess.run(
        [sys.executable, "-m", "buildwatch", "wait", "--commit", commit, "--json"],
        env={**env, "BUILDWATCH_CONFIG": str(config),
             "PYTHON_KEYRING_BACKEND": "keyring_backend.TempDirKeyring",
             "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])},
        capture_output=True, text=True, timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert [run["tool"] for run in summary(done.stdout)["runs"]] == ["buildbuddy"]
    # Develocity was asked too, with the stored key: its listing holds none of the commit's builds.
    assert any(
        "/builds/since/" in r.path and r.status == 200 for r in sim.requests[before:]
    )


def test_without_any_server_configured_it_says_so_and_exits_2(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "buildwatch", "wait", "--commit", new_commit()],
        env={**os.environ, "BUILDWATCH_CONFIG": str(config)}, capture_output=True, text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert done.stderr.startswith("buildwatch: no server to ask")


def test_help_lists_every_exit_code(sim: SimulatorThread, config: Path) -> None:
    done = wait(sim, config, "--help")

    assert done.stdout.startswith(
        "usage: buildwatch wait (--build ID | --commit SHA [--tool develocity|buildbuddy|both]) "
        "[--timeout DURATION] [--json]\n"
    )
    codes = done.stdout.split("exit codes:\n")[1]
    assert [line.split()[0] for line in codes.splitlines()] == [
        "0", "1", "2", "3", "4", "5", "124", "130"
    ]
