"""`buildwatch bb …` as a user runs it: whole processes against the simulator.

Expected answers come from the simulator's API itself, asked directly over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from buildbuddy_picks import (
    MID_BUILD_SEED,
    invocation_leaving_targets_building,
    old_server_run,
    target_statuses,
)
from terminal import run_in_pty

from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)
SEED = 1
KEY = "sim-api-key"
ENUM_NAME = re.compile(r"\b[A-Z]+(?:_[A-Z]+)+\b")
"""A proto or Bazel enum's raw name, e.g. `UNKNOWN_INVOCATION_STATUS` or `BUILD_FAILURE`."""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=SEED)) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def no_faults(sim: SimulatorThread) -> Iterator[None]:
    yield
    sim.set_faults(FaultSpec())


def environment(sim: SimulatorThread, key: str = KEY) -> dict[str, str]:
    return {
        **os.environ,
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": key,
    }


def bb(sim: SimulatorThread, *args: str, key: str = KEY) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", "bb", *args],
        env=environment(sim, key), capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
    )


def api(sim: SimulatorThread, method: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{sim.buildbuddy_url}/api/v1/{method}", json=body, headers={"x-buildbuddy-api-key": KEY}
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def json_lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def table_rows(result: subprocess.CompletedProcess[bytes]) -> list[list[str]]:
    return [re.split(r"\s{2,}", line) for line in result.stdout.decode().splitlines()[1:]]


def calls(sim: SimulatorThread, method: str) -> int:
    return sum(1 for record in sim.requests if record.path == f"/api/v1/{method}")


def commit(index: int) -> str:
    return World(SEED).commits[index].sha


def failing_ci_run(sim: SimulatorThread) -> str:
    for index in range(len(World(SEED).commits)):
        found = api(sim, "GetInvocation", {"selector": {"commit_sha": commit(index)}})
        for invocation in found.get("invocation", []):
            if invocation.get("role") == "CI" and invocation.get("bazelExitCode") == "TESTS_FAILED":
                return str(invocation["id"]["invocationId"])
    raise AssertionError("the simulator has no finished CI run with failed tests")


def uploaded_file(sim: SimulatorThread, name: str, label_part: str = "") -> str:
    actions = api(sim, "GetAction", {"selector": {"invocation_id": failing_ci_run(sim)}})
    for action in actions["action"]:
        for file in action.get("file", []):
            uploaded = file["uri"].startswith("bytestream://")
            if file["name"] == name and uploaded and label_part in action["targetLabel"]:
                return str(file["uri"])
    raise AssertionError(f"no uploaded {name}")


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("buildwatch: ")
    return lines[0]


def test_invocations_json_prints_each_server_object_on_its_own_line(sim: SimulatorThread) -> None:
    result = bb(sim, "invocations", "--commit", commit(10), "--json")
    expected = api(sim, "GetInvocation", {"selector": {"commit_sha": commit(10)}})["invocation"]
    assert result.returncode == 0
    assert sorted(json_lines(result), key=str) == sorted(expected, key=str)


def test_invocations_by_id_finds_that_one(sim: SimulatorThread) -> None:
    wanted = failing_ci_run(sim)
    result = bb(sim, "invocations", "--invocation-id", wanted, "--json")
    assert [line["id"]["invocationId"] for line in json_lines(result)] == [wanted]


def test_the_invocations_table_lists_a_commits_invocations_oldest_first(sim: SimulatorThread) -> None:
    result = bb(sim, "invocations", "--commit", commit(10))
    expected = api(sim, "GetInvocation", {"selector": {"commit_sha": commit(10)}})["invocation"]
    rows = table_rows(result)
    oldest_first = sorted(expected, key=lambda item: int(item["createdAtUsec"]))
    assert [row[1] for row in rows] == [item["id"]["invocationId"] for item in oldest_first]


def test_invocations_need_an_id_or_a_commit(sim: SimulatorThread) -> None:
    result = bb(sim, "invocations")
    assert result.returncode == 2
    assert b"--invocation-id" in result.stderr


def test_an_unknown_invocation_is_a_one_line_not_found(sim: SimulatorThread) -> None:
    result = bb(sim, "invocations", "--invocation-id", "00000000-dead-4000-8000-000000000000")
    assert result.returncode == 4
    assert "no invocation" in one_error_line(result)


def test_https_for_a_plain_http_server_stops_at_once_with_one_line_of_advice(
    sim: SimulatorThread,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "buildwatch", "bb", "invocations", "--commit", commit(10)],
        env={**environment(sim), "BUILDWATCH_BUILDBUDDY_URL":
             sim.buildbuddy_url.replace("http://", "https://")},
        capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
    )
    assert result.returncode == 5
    assert result.stdout == b""
    # One line (no retry announced before it), with the advice.
    line = one_error_line(result)
    assert "does not speak TLS: is it an http:// server (the URL says https://)?" in line


def test_the_targets_table_shows_status_first_with_failures_on_top(sim: SimulatorThread) -> None:
    result = bb(sim, "targets", failing_ci_run(sim))
    header = result.stdout.decode().splitlines()[0]
    statuses = [row[0] for row in table_rows(result)]
    assert header.startswith("STATUS")
    assert statuses[0] in ("failed", "timed out", "failed to build")
    assert statuses.index("passed") > max(
        i for i, status in enumerate(statuses) if status in ("failed", "timed out")
    )


def test_targets_a_finished_invocation_left_building_show_as_not_built_after_the_others(
    sim: SimulatorThread,
) -> None:
    invocation = invocation_leaving_targets_building(sim, SEED, running=False)
    left_building = target_statuses(sim, invocation).count("BUILDING")
    statuses = [row[0] for row in table_rows(bb(sim, "targets", invocation))]
    assert "building" not in statuses
    assert statuses.count("not built") == left_building
    others = [i for i, status in enumerate(statuses) if status not in ("not built", "skipped")]
    assert max(others) < statuses.index("not built")


def test_targets_of_a_running_invocation_still_show_as_building() -> None:
    with SimulatorThread(SimConfig(seed=MID_BUILD_SEED)) as mid_build:
        invocation = invocation_leaving_targets_building(mid_build, MID_BUILD_SEED, running=True)
        statuses = [row[0] for row in table_rows(bb(mid_build, "targets", invocation))]
    assert "building" in statuses and "not built" not in statuses


def test_targets_json_keeps_every_field_the_server_sent(sim: SimulatorThread) -> None:
    invocation = failing_ci_run(sim)
    result = bb(sim, "targets", invocation, "--json")
    expected = api(sim, "GetTarget", {"selector": {"invocation_id": invocation}})["target"]
    assert sorted(json_lines(result), key=str) == sorted(expected, key=str)


def test_targets_can_be_narrowed_by_tag(sim: SimulatorThread) -> None:
    result = bb(sim, "targets", failing_ci_run(sim), "--tag", "medium", "--json")
    tags = [line["tag"] for line in json_lines(result)]
    assert tags
    assert all("medium" in tag for tag in tags)


def test_targets_can_be_narrowed_by_label(sim: SimulatorThread) -> None:
    result = bb(sim, "targets", failing_ci_run(sim), "--label", "//search/index:index_test")
    assert [row[1] for row in table_rows(result)] == ["//search/index:index_test"]


def test_the_actions_table_lists_every_file_uri(sim: SimulatorThread) -> None:
    invocation = failing_ci_run(sim)
    result = bb(sim, "actions", invocation)
    expected = api(sim, "GetAction", {"selector": {"invocation_id": invocation}})["action"]
    uris = {file["uri"] for action in expected for file in action.get("file", [])}
    assert uris
    assert {row[-1] for row in table_rows(result) if "://" in row[-1]} == uris


def test_actions_json_can_be_narrowed_to_one_target(sim: SimulatorThread) -> None:
    result = bb(sim, "actions", failing_ci_run(sim), "--target-id", "//search/index:index_test",
                "--json")
    assert {line["id"]["targetId"] for line in json_lines(result)} == {"//search/index:index_test"}


def test_an_invocation_with_success_and_no_status_reads_succeeded(sim: SimulatorThread) -> None:
    result = bb(sim, "invocations", "--invocation-id", old_server_run("2021", "ok"))
    assert [row[2] for row in table_rows(result)] == ["succeeded"]


def test_invocations_of_old_servers_read_their_result_from_the_fields_they_have(
    sim: SimulatorThread,
) -> None:
    lines = {}
    for shape in (("2021", "build"), ("2021", "running"), ("2023", "build"),
                  ("2023", "interrupted")):
        result = bb(sim, "invocations", "--invocation-id", old_server_run(*shape))
        lines[shape] = result.stdout.decode().splitlines()[1]
    assert {shape: re.split(r"\s{2,}", line)[2] for shape, line in lines.items()} == {
        ("2021", "build"): "failed", ("2021", "running"): "running",
        ("2023", "build"): "failed", ("2023", "interrupted"): "cancelled",
    }
    assert "build failure" in lines["2023", "build"]


def test_no_bb_table_shows_an_enum_name(sim: SimulatorThread) -> None:
    invocation = failing_ci_run(sim)
    for args in (("invocations", "--commit", commit(0)), ("targets", invocation),
                 ("targets", old_server_run("2021", "build")), ("actions", invocation)):
        result = bb(sim, *args)
        assert result.returncode == 0 and table_rows(result)
        # A role is the server's own free text (`CI_RUNNER`), shown as it is given.
        assert set(ENUM_NAME.findall(result.stdout.decode())) <= {"CI_RUNNER"}, args


def test_actions_without_a_target_label_show_the_target_their_id_encodes(
    sim: SimulatorThread,
) -> None:
    invocation = old_server_run("2021", "build")
    actions = api(sim, "GetAction", {"selector": {"invocation_id": invocation}})["action"]
    assert actions and not any("targetLabel" in action for action in actions)
    labels = {t["label"] for t in api(sim, "GetTarget",
                                      {"selector": {"invocation_id": invocation}})["target"]}
    shown = {row[0] for row in table_rows(bb(sim, "actions", invocation))}
    assert shown and shown <= labels


def test_the_log_in_a_pipe_is_exactly_the_servers_text_from_first_to_last_chunk(
    sim: SimulatorThread,
) -> None:
    invocation = failing_ci_run(sim)
    expected, token = "", "0000"
    while token:
        page = api(sim, "GetLog", {"selector": {"invocation_id": invocation}, "page_token": token})
        expected += page.get("log", {}).get("contents", "")
        token = page.get("nextPageToken", "")
    result = bb(sim, "log", invocation)
    assert result.returncode == 0
    assert result.stdout == expected.encode()


def test_the_log_on_a_terminal_keeps_colours_but_no_other_escape(sim: SimulatorThread) -> None:
    command = [sys.executable, "-m", "buildwatch", "bb", "log", failing_ci_run(sim)]
    shown = run_in_pty(command, [], environment(sim), timeout=20)
    assert b"\x1b[32m" in shown
    assert not re.search(rb"\x1b(?!\[[0-9;]*m)", shown)


def test_a_file_shown_on_a_terminal_loses_its_escape_sequences(sim: SimulatorThread) -> None:
    uri = uploaded_file(sim, "test.log", "e2e_test")
    raw = httpx.post(f"{sim.buildbuddy_url}/api/v1/GetFile", json={"uri": uri},
                     headers={"x-buildbuddy-api-key": KEY}).content
    assert b"\x1b]0;" in raw
    command = [sys.executable, "-m", "buildwatch", "bb", "file", "get", uri]
    shown = run_in_pty(command, [], environment(sim), timeout=20)
    assert b"Executing tests from //web/admin:e2e_test" in shown
    assert b"\x1b]" not in shown


def test_file_get_saves_the_file_once_verified(sim: SimulatorThread, tmp_path: Path) -> None:
    uri = uploaded_file(sim, "test.xml")
    result = bb(sim, "file", "get", uri, "-o", str(tmp_path / "test.xml"))
    data = (tmp_path / "test.xml").read_bytes()
    assert result.returncode == 0
    assert uri.endswith(f"/{hashlib.sha256(data).hexdigest()}/{len(data)}")


def test_file_get_without_a_path_writes_the_bytes_to_stdout(sim: SimulatorThread) -> None:
    uri = uploaded_file(sim, "test.log")
    result = bb(sim, "file", "get", uri)
    assert uri.endswith(f"/{hashlib.sha256(result.stdout).hexdigest()}/{len(result.stdout)}")


def test_file_get_of_a_cut_short_body_fails_and_leaves_no_file(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    uri = uploaded_file(sim, "test.log")
    sim.set_faults(FaultSpec.parse("truncate-file=1"))
    result = bb(sim, "file", "get", uri, "-o", str(tmp_path / "test.log"))
    assert result.returncode != 0
    assert re.search(r"incomplete|corrupt", one_error_line(result))
    assert list(tmp_path.iterdir()) == []


def test_file_delete_without_a_terminal_refuses_unless_yes(sim: SimulatorThread) -> None:
    before = calls(sim, "DeleteFile")
    result = bb(sim, "file", "delete", uploaded_file(sim, "test.log"))
    assert result.returncode != 0
    assert "--yes" in one_error_line(result)
    assert calls(sim, "DeleteFile") == before


def test_file_delete_with_yes_deletes_the_file(sim: SimulatorThread) -> None:
    uri = uploaded_file(sim, "test.xml", "gateway_test")
    result = bb(sim, "file", "delete", uri, "--yes")
    assert result.returncode == 0
    assert uri in result.stdout.decode()
    assert bb(sim, "file", "get", uri).returncode == 4


@pytest.mark.parametrize(("faults", "cause"), [
    ("unavailable=1,burst=2", "Unavailable"),
    ("gateway=1,burst=2", r"HTTP 5\d\d"),  # a proxy's or CDN's HTML error page
])
def test_a_read_meeting_a_burst_of_server_errors_says_on_stderr_that_it_retries_then_succeeds(
    sim: SimulatorThread, faults: str, cause: str
) -> None:
    sim.set_faults(FaultSpec.parse(faults))
    result = bb(sim, "invocations", "--commit", commit(0), "--json")
    notices = result.stderr.decode().splitlines()
    assert result.returncode == 0
    assert json_lines(result)
    assert len(notices) == 2, notices
    assert all(re.search(cause, line) and "retrying in" in line for line in notices)


@pytest.mark.parametrize(("faults", "cause"), [
    ("unavailable=1", "Unavailable"),
    ("gateway=1", r"HTTP 5\d\d"),
])
def test_file_delete_meeting_a_server_error_sends_one_request_and_fails_in_one_line(
    sim: SimulatorThread, faults: str, cause: str
) -> None:
    uri = uploaded_file(sim, "test.log")
    sim.set_faults(FaultSpec.parse(faults))
    before = calls(sim, "DeleteFile")
    result = bb(sim, "file", "delete", uri, "--yes")
    assert calls(sim, "DeleteFile") == before + 1
    assert result.returncode != 0
    line = one_error_line(result)
    assert re.search(cause, line) and "never retried" in line and "<" not in line


def test_file_delete_on_a_terminal_asks_and_an_answer_of_no_keeps_the_file(
    sim: SimulatorThread,
) -> None:
    uri = uploaded_file(sim, "test.log")
    before = calls(sim, "DeleteFile")
    command = [sys.executable, "-m", "buildwatch", "bb", "file", "delete", uri]
    shown = run_in_pty(command, [(2.0, b"n\r")], environment(sim), timeout=20)
    assert uri.encode() in shown
    assert b"[y/N]" in shown
    assert calls(sim, "DeleteFile") == before


def test_file_delete_on_a_terminal_deletes_once_confirmed(sim: SimulatorThread) -> None:
    uri = uploaded_file(sim, "test.xml", "tokens_test")
    before = calls(sim, "DeleteFile")
    command = [sys.executable, "-m", "buildwatch", "bb", "file", "delete", uri]
    shown = run_in_pty(command, [(2.0, b"y\r")], environment(sim), timeout=20)
    assert b"Deleted" in shown
    assert calls(sim, "DeleteFile") == before + 1


def test_a_wrong_key_is_one_line_without_the_key_or_a_traceback(sim: SimulatorThread) -> None:
    wrong = "wrong-api-key-7f3e9a"
    result = bb(sim, "targets", failing_ci_run(sim), key=wrong)
    line = one_error_line(result)
    assert result.returncode == 3
    assert "API key" in line
    assert wrong not in result.stderr.decode() + result.stdout.decode()


def running_ci_run(sim: SimulatorThread) -> str:
    found = api(sim, "GetInvocation", {"selector": {"commit_sha": commit(-1)}})
    for invocation in found.get("invocation", []):
        if invocation["role"] == "CI" and invocation["invocationStatus"] == "PARTIAL_INVOCATION_STATUS":
            return str(invocation["id"]["invocationId"])
    raise AssertionError("the newest commit has no running CI invocation")


def test_following_a_running_log_into_a_pipe_writes_each_line_once_without_progress_lines(
    sim: SimulatorThread,
) -> None:
    invocation = running_ci_run(sim)
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "bb", "log", invocation, "--follow"],
        env=environment(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 130
    assert b"Traceback" not in err
    server_lines = Counter(log_so_far(sim, invocation).splitlines())
    written = Counter(out.decode().splitlines())
    assert written
    assert written - server_lines == Counter()
    # Bazel's progress line, redrawn on every poll, is not the log: it is never written.
    assert not [line for line in written if "actions running" in line]


def test_following_on_a_terminal_shows_the_progress_on_a_status_line_it_erases(
    sim: SimulatorThread,
) -> None:
    command = [sys.executable, "-m", "buildwatch", "bb", "log", running_ci_run(sim), "--follow"]
    shown = run_in_pty(command, [(4.0, b"\x03")], environment(sim), timeout=10).decode()
    assert "actions running" in shown and "\r\x1b[K" in shown
    # Never ended by a line break: each progress line is erased by the next write or at the end.
    assert not re.search(r"actions running[^\r\n]*\r\n", shown)
    assert not re.search(r"\x1b(?!\[[0-9;]*m|\[K)", shown)


def log_so_far(sim: SimulatorThread, invocation: str) -> str:
    """The persisted chunks and the live one, as the server has them now."""
    text, token = "", "0000"
    while True:
        page = api(sim, "GetLog", {"selector": {"invocation_id": invocation}, "page_token": token})
        text += page.get("log", {}).get("contents", "")
        if page.get("nextPageToken", "") in ("", token):
            return text
        token = page["nextPageToken"]
