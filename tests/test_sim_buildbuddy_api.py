"""The simulated BuildBuddy JSON API answers like the real server, quirks included."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import zstandard
from buildbuddy_picks import old_server_run

from buildwatch.sim.buildbuddy_invocations import (
    BENCHMARK_INVOCATION_ID,
    EVERY_STATUS_INVOCATION_ID,
    OLD_SERVER_INVOCATION_IDS,
    InvocationPlan,
    hung_invocation,
    plan_invocations,
)
from buildwatch.sim.config import FaultSpec, SimConfig
from buildwatch.sim.server import SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)

SEED = 7
KEY = SimConfig().api_key
PLANS = plan_invocations(World(SEED), 0)
"""The simulator's invocations (ids and outcomes do not depend on its start time)."""


class BuildBuddy:
    """A running simulator and an HTTP client for its BuildBuddy API."""

    def __init__(self, thread: SimulatorThread) -> None:
        self.thread = thread
        self.client = httpx.Client(base_url=thread.buildbuddy_url, timeout=30)

    def call(
        self,
        method: str,
        body: object = None,
        *,
        key: str | None = KEY,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """POST to `/api/v1/<method>` with the key in `x-buildbuddy-api-key` and a JSON body."""
        sent = {"x-buildbuddy-api-key": key} if key else {}
        if content is None:
            content = json.dumps(body if body is not None else {}).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.client.post(f"/api/v1/{method}", content=content, headers=sent)


def running(seed: int = SEED) -> Iterator[BuildBuddy]:
    with SimulatorThread(SimConfig(seed=seed)) as thread:
        api = BuildBuddy(thread)
        yield api
        api.client.close()


@pytest.fixture(scope="module")
def sim() -> Iterator[BuildBuddy]:
    """A simulator shared by the tests that only read."""
    yield from running()


@pytest.fixture
def own_sim() -> Iterator[BuildBuddy]:
    """A simulator for one test that deletes files or injects faults."""
    yield from running()


def plan_where(**wanted: Any) -> InvocationPlan:
    """The first planned invocation whose attributes have these values."""
    return next(p for p in PLANS if all(getattr(p, k) == v for k, v in wanted.items()))


def live_plan() -> InvocationPlan:
    """A CI Bazel invocation still running when the simulator starts."""
    recent = {commit.sha for commit in World(SEED).commits[-3:]}
    return next(p for p in PLANS if p.role == "CI" and p.commit.sha in recent)


def targets_of(sim: BuildBuddy, invocation_id: str) -> list[dict[str, Any]]:
    response = sim.call("GetTarget", {"selector": {"invocation_id": invocation_id}})
    assert response.status_code == 200
    targets: list[dict[str, Any]] = response.json().get("target", [])
    return targets


def actions_of(sim: BuildBuddy, **selector: str) -> list[dict[str, Any]]:
    response = sim.call("GetAction", {"selector": selector})
    assert response.status_code == 200
    actions: list[dict[str, Any]] = response.json().get("action", [])
    return actions


def a_test_file(sim: BuildBuddy) -> dict[str, Any]:
    """The test.log of a test attempt in a finished CI invocation."""
    plan = plan_where(role="CI", exit_code="SUCCESS")
    attempts = [a for a in actions_of(sim, invocation_id=plan.invocation_id) if "attempt" in a]
    return next(f for f in attempts[0]["file"] if f["name"] == "test.log")


# Transport, authentication and request decoding


def test_a_request_without_an_api_key_is_a_500_unauthenticated_error(sim: BuildBuddy) -> None:
    response = sim.call(
        "GetInvocation", {"selector": {"invocation_id": PLANS[0].invocation_id}}, key=None
    )
    assert response.status_code == 500
    assert response.text.startswith("rpc error: code = Unauthenticated desc = ")


def test_a_wrong_api_key_is_refused_without_echoing_the_key(sim: BuildBuddy) -> None:
    response = sim.call("GetTarget", {"selector": {"invocation_id": "x"}}, key="wrong-key-42")
    assert response.status_code == 500
    assert response.text == 'rpc error: code = Unauthenticated desc = Invalid API key "w***2"\n'


@pytest.mark.parametrize("scheme", ["Bearer", "x-buildbuddy-api-key"])
def test_the_key_is_also_accepted_in_the_authorization_header(sim: BuildBuddy, scheme: str) -> None:
    body = {"selector": {"invocation_id": PLANS[0].invocation_id}}
    response = sim.call(
        "GetInvocation", body, key=None, headers={"Authorization": f"{scheme} {KEY}"}
    )
    assert response.status_code == 200
    assert response.json()["invocation"][0]["id"]["invocationId"] == PLANS[0].invocation_id


def test_a_content_type_with_parameters_is_refused_with_400(sim: BuildBuddy) -> None:
    response = sim.call(
        "GetInvocation",
        {"selector": {"invocation_id": "x"}},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 400
    assert response.text.startswith("Unknown Content-Type: application/json; charset=utf-8")


def test_a_body_without_content_type_is_read_as_json(sim: BuildBuddy) -> None:
    body = json.dumps({"selector": {"invocation_id": PLANS[0].invocation_id}}).encode()
    response = sim.call("GetInvocation", content=body)
    assert response.status_code == 200
    assert "invocation" in response.json()


def test_an_unknown_request_field_is_refused_with_400(sim: BuildBuddy) -> None:
    body = {"selector": {"invocation_id": PLANS[0].invocation_id}, "include_build_tool_logs": True}
    response = sim.call("GetInvocation", body)
    assert response.status_code == 400
    assert 'unknown field "include_build_tool_logs"' in response.text


def test_snake_case_and_camel_case_field_names_are_both_accepted(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI")
    snake = sim.call("GetInvocation", {"selector": {"commit_sha": plan.commit.sha}})
    camel = sim.call("GetInvocation", {"selector": {"commitSha": plan.commit.sha}})
    assert snake.status_code == camel.status_code == 200
    ids = [{i["id"]["invocationId"] for i in r.json()["invocation"]} for r in (snake, camel)]
    assert ids[0] == ids[1]
    assert plan.invocation_id in ids[0]


def test_one_field_in_both_spellings_is_a_duplicate(sim: BuildBuddy) -> None:
    body = {"selector": {"invocation_id": "a", "invocationId": "a"}}
    response = sim.call("GetLog", body)
    assert response.status_code == 400
    assert "duplicate field" in response.text


def test_a_field_of_the_wrong_type_is_refused_with_400(sim: BuildBuddy) -> None:
    response = sim.call("GetInvocation", {"selector": {"invocation_id": 42}})
    assert response.status_code == 400
    assert "invalid value for string field invocationId" in response.text


def test_the_body_is_parsed_before_the_key_is_checked(sim: BuildBuddy) -> None:
    response = sim.call(
        "GetInvocation",
        content=b"{not json",
        key="wrong-key",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.text.startswith("proto: syntax error")


def test_an_unknown_method_is_404_naming_the_path(sim: BuildBuddy) -> None:
    response = sim.call("SearchInvocation", {})
    assert response.status_code == 404
    assert response.text == "Method '/api/v1/SearchInvocation' not found.\n"


def test_json_is_gzipped_when_the_client_accepts_gzip(sim: BuildBuddy) -> None:
    response = sim.call(
        "GetInvocation",
        {"selector": {"invocation_id": PLANS[0].invocation_id}},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["invocation"]


def test_without_gzip_json_is_sniffed_as_plain_text(sim: BuildBuddy) -> None:
    response = sim.call(
        "GetInvocation",
        {"selector": {"invocation_id": PLANS[0].invocation_id}},
        headers={"Accept-Encoding": "identity"},
    )
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.json()["invocation"]


# GetInvocation


def test_by_commit_every_invocation_of_the_commit_comes_back_in_varying_order(
    sim: BuildBuddy,
) -> None:
    plan = plan_where(role="CI_RUNNER")
    expected = {p.invocation_id for p in PLANS if p.commit.sha == plan.commit.sha}
    orders = set()
    for _ in range(12):
        found = sim.call("GetInvocation", {"selector": {"commit_sha": plan.commit.sha}}).json()
        orders.add(tuple(i["id"]["invocationId"] for i in found["invocation"]))
    assert {frozenset(order) for order in orders} == {frozenset(expected)}
    assert len(orders) > 1


def test_every_shared_commit_has_one_to_three_invocations(sim: BuildBuddy) -> None:
    for commit in World(SEED).commits:
        found = sim.call("GetInvocation", {"selector": {"commit_sha": commit.sha}}).json()
        special = {EVERY_STATUS_INVOCATION_ID, BENCHMARK_INVOCATION_ID, *OLD_SERVER_INVOCATION_IDS,
                   hung_invocation(World(SEED), 0).invocation_id}
        roles = [i.get("role", "") for i in found["invocation"]
                 if i["id"]["invocationId"] not in special]
        assert 1 <= len(roles) <= 3
        assert set(roles) <= {"CI", "CI_RUNNER", ""}


def test_an_unknown_invocation_is_an_empty_object(sim: BuildBuddy) -> None:
    response = sim.call("GetInvocation", {"selector": {"invocation_id": "no-such-id"}})
    assert response.status_code == 200
    assert response.json() == {}


def test_a_selector_without_id_or_commit_is_an_invalid_argument(sim: BuildBuddy) -> None:
    response = sim.call("GetInvocation", {"selector": {}})
    assert response.status_code == 500
    assert response.text == (
        "rpc error: code = InvalidArgument desc = InvocationSelector must "
        "contain a valid invocation_id or commit_sha\n"
    )


def test_a_failed_invocation_has_int64_strings_and_no_success_field(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="TESTS_FAILED")
    found = sim.call("GetInvocation", {"selector": {"invocation_id": plan.invocation_id}}).json()
    invocation = found["invocation"][0]
    assert "success" not in invocation
    assert invocation["bazelExitCode"] == "TESTS_FAILED"
    assert invocation["invocationStatus"] == "COMPLETE_INVOCATION_STATUS"
    for field in ("durationUsec", "actionCount", "createdAtUsec", "updatedAtUsec"):
        assert isinstance(invocation[field], str) and invocation[field].isdigit()


def test_an_invocation_in_progress_is_partial_without_outcome_or_duration(
    sim: BuildBuddy,
) -> None:
    plan = live_plan()
    found = sim.call("GetInvocation", {"selector": {"invocation_id": plan.invocation_id}}).json()
    invocation = found["invocation"][0]
    assert invocation["invocationStatus"] == "PARTIAL_INVOCATION_STATUS"
    assert not {"success", "bazelExitCode", "durationUsec", "actionCount"} & invocation.keys()


def test_a_disconnected_invocation_has_no_exit_code(sim: BuildBuddy) -> None:
    plan = plan_where(exit_code="")
    found = sim.call("GetInvocation", {"selector": {"invocation_id": plan.invocation_id}}).json()
    invocation = found["invocation"][0]
    assert invocation["invocationStatus"] == "DISCONNECTED_INVOCATION_STATUS"
    assert "bazelExitCode" not in invocation and "success" not in invocation


def invocation_of(sim: BuildBuddy, invocation_id: str) -> dict[str, Any]:
    found = sim.call("GetInvocation", {"selector": {"invocation_id": invocation_id}}).json()
    invocation: dict[str, Any] = found["invocation"][0]
    return invocation


def test_a_2021_server_says_success_without_a_status_or_an_exit_code(sim: BuildBuddy) -> None:
    invocation = invocation_of(sim, old_server_run("2021", "ok"))
    assert invocation["success"] is True and invocation["durationUsec"].isdigit()
    assert not {"invocationStatus", "bazelExitCode"} & invocation.keys()


def test_a_2021_server_says_nothing_of_a_failure_but_its_duration(sim: BuildBuddy) -> None:
    invocation = invocation_of(sim, old_server_run("2021", "build"))
    assert not {"invocationStatus", "bazelExitCode", "success"} & invocation.keys()
    assert invocation["durationUsec"].isdigit()


def test_a_2021_server_says_nothing_of_a_run_in_progress(sim: BuildBuddy) -> None:
    invocation = invocation_of(sim, old_server_run("2021", "running"))
    assert not {"invocationStatus", "bazelExitCode", "success", "durationUsec"} & invocation.keys()


def test_a_2023_server_sends_the_exit_code_without_a_status(sim: BuildBuddy) -> None:
    invocation = invocation_of(sim, old_server_run("2023", "build"))
    assert invocation["bazelExitCode"] == "BUILD_FAILURE" and "invocationStatus" not in invocation


def test_a_2021_server_encodes_target_ids_and_puts_no_label_on_actions(sim: BuildBuddy) -> None:
    invocation_id = old_server_run("2021", "build")
    targets, actions = targets_of(sim, invocation_id), actions_of(sim, invocation_id=invocation_id)
    assert targets and actions
    for item in targets:
        assert item["id"]["targetId"] == base64.urlsafe_b64encode(
            f"id::v1::{item['label']}".encode()).decode().rstrip("=")
    assert all("targetLabel" not in action for action in actions)
    labels = {item["id"]["targetId"]: item["label"] for item in targets}
    assert {action["id"]["targetId"] for action in actions} <= labels.keys()


def test_a_2023_server_lists_no_failed_build_action(sim: BuildBuddy) -> None:
    invocation_id = old_server_run("2023", "build")
    broken = [t["label"] for t in targets_of(sim, invocation_id) if t["status"] == "FAILED_TO_BUILD"]
    files = [file["name"] for action in actions_of(sim, invocation_id=invocation_id)
             for file in action.get("file", [])]
    assert broken and "stderr" not in files


def test_include_options_add_metadata_artifacts_and_child_invocations(
    sim: BuildBuddy,
) -> None:
    runner = plan_where(role="CI_RUNNER")
    body = {
        "selector": {"invocation_id": runner.invocation_id},
        "include_metadata": True,
        "include_child_invocations": True,
    }
    invocation = sim.call("GetInvocation", body).json()["invocation"][0]
    assert invocation["childInvocations"] == [{"invocationId": runner.children[0]}]
    assert {"key": "COMMIT_SHA", "value": runner.commit.sha} in invocation["buildMetadata"]
    child = sim.call(
        "GetInvocation",
        {"selector": {"invocation_id": runner.children[0]}, "include_artifacts": True},
    ).json()["invocation"][0]
    assert child["artifacts"]
    assert all(set(f) == {"name", "uri"} for f in child["artifacts"])


# GetTarget


def test_targets_use_the_label_as_id_and_derive_language_from_the_rule_kind(
    sim: BuildBuddy,
) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    targets = {t["label"]: t for t in targets_of(sim, plan.invocation_id)}
    assert all(
        t["id"] == {"invocationId": plan.invocation_id, "targetId": label}
        for label, t in targets.items()
    )
    assert targets["//web/frontend:app_test"]["language"] == "jest"
    assert targets["//auth/tokens:tokens"]["ruleType"] == "kt_jvm_library"
    assert "language" not in targets["//tools/codegen:gen_version"]


def test_only_tests_that_ran_have_timing(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    for target in targets_of(sim, plan.invocation_id):
        assert ("timing" in target) == target["ruleType"].endswith("_test")


def test_targets_come_back_in_a_different_order_on_each_call(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    orders = {tuple(t["label"] for t in targets_of(sim, plan.invocation_id)) for _ in range(5)}
    assert len(orders) > 1


def test_a_label_selector_wins_over_a_tag_selector(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    body = {
        "selector": {"invocation_id": plan.invocation_id, "label": "//docs:site", "tag": "small"}
    }
    found = sim.call("GetTarget", body).json()["target"]
    assert [t["label"] for t in found] == ["//docs:site"]


def test_a_tag_selector_returns_only_targets_with_that_tag(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    body = {"selector": {"invocation_id": plan.invocation_id, "tag": "lint"}}
    found = sim.call("GetTarget", body).json()["target"]
    assert sorted(t["label"] for t in found) == [
        "//tools/lint:buildifier_test",
        "//web/frontend:lint",
    ]


def test_a_page_token_is_accepted_but_every_target_comes_in_one_page(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    body = {"selector": {"invocation_id": plan.invocation_id}, "page_token": "2"}
    paged = sim.call("GetTarget", body).json()
    assert "nextPageToken" not in paged
    assert len(paged["target"]) == len(plan.targets)


def test_targets_of_an_unknown_invocation_are_not_found(sim: BuildBuddy) -> None:
    response = sim.call("GetTarget", {"selector": {"invocation_id": "no-such-id"}})
    assert response.status_code == 500
    assert response.text == "rpc error: code = NotFound desc = invocation not found\n"


def test_the_every_status_invocation_shows_each_status_once(sim: BuildBuddy) -> None:
    statuses = [t.get("status", "") for t in targets_of(sim, EVERY_STATUS_INVOCATION_ID)]
    assert sorted(statuses) == sorted(
        [
            "",
            "BUILDING",
            "BUILT",
            "FAILED_TO_BUILD",
            "TESTING",
            "PASSED",
            "FAILED",
            "TIMED_OUT",
            "CANCELLED",
            "TOOL_FAILED",
            "INCOMPLETE",
            "FLAKY",
            "UNKNOWN",
            "SKIPPED",
        ]
    )


def test_targets_aborted_by_a_failure_stay_building_after_the_end(sim: BuildBuddy) -> None:
    plan = next(
        p
        for p in PLANS
        if p.exit_code == "BUILD_FAILURE"
        and p.role != "CI_RUNNER"
        and any(t.done is None for t in p.targets)
    )
    statuses = {t.get("status") for t in targets_of(sim, plan.invocation_id)}
    assert {"FAILED_TO_BUILD", "BUILDING"} <= statuses


# GetAction


def test_test_attempts_carry_shard_run_attempt_and_their_files(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    attempts = [a for a in actions_of(sim, invocation_id=plan.invocation_id) if "attempt" in a]
    assert attempts
    for action in attempts:
        name = base64.urlsafe_b64decode(action["id"]["actionId"] + "==").decode()
        shard = action.get("shard", "0")
        assert name == f"id::v1::test-S_{shard}-R_{action['run']}-A_{action['attempt']}"
        assert {"test.log", "test.xml"} <= {f["name"] for f in action["file"]}
        assert all(isinstance(f["sizeBytes"], str) for f in action["file"])


def test_a_failed_compile_publishes_its_stderr(sim: BuildBuddy) -> None:
    plan = next(p for p in PLANS if p.uploads and any(t.failure for t in p.targets))
    broken = next(t for t in plan.targets if t.failure)
    actions = actions_of(sim, invocation_id=plan.invocation_id, target_label=broken.rule.label)
    assert actions[0]["id"]["actionId"] == "aWQ6OnYxOjpidWlsZA"
    assert "stderr" in {f["name"] for f in actions[0]["file"]}


def test_action_selector_fields_are_combined(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="SUCCESS")
    everything = actions_of(sim, invocation_id=plan.invocation_id)
    some = everything[-1]
    narrowed = actions_of(
        sim,
        invocation_id=plan.invocation_id,
        target_id=some["id"]["targetId"],
        action_id=some["id"]["actionId"],
    )
    assert narrowed == [some]
    assert (
        actions_of(
            sim,
            invocation_id=plan.invocation_id,
            target_id="//docs:site",
            target_label="//search/index:index",
        )
        == []
    )


def test_outputs_of_a_build_without_upload_are_local_file_uris(sim: BuildBuddy) -> None:
    plan = next(p for p in PLANS if not p.uploads and any(t.attempts for t in p.targets))
    files = [
        f for a in actions_of(sim, invocation_id=plan.invocation_id) for f in a.get("file", [])
    ]
    assert files
    assert all(f["uri"].startswith("file:///") and set(f) == {"name", "uri"} for f in files)


# GetLog


def get_log(sim: BuildBuddy, invocation_id: str, token: str) -> dict[str, Any]:
    response = sim.call(
        "GetLog", {"selector": {"invocation_id": invocation_id}, "page_token": token}
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_reading_a_finished_log_from_0000_walks_forward_to_an_end_without_token(
    sim: BuildBuddy,
) -> None:
    plan = plan_where(role="CI", exit_code="TESTS_FAILED")
    token, text, pages = "0000", "", 0
    while token:
        page = get_log(sim, plan.invocation_id, token)
        text += page["log"].get("contents", "")
        token = page.get("nextPageToken", "")
        pages += 1
    assert pages > 2
    assert text.startswith(f"\x1b[32mINFO: \x1b[0mInvocation ID: {plan.invocation_id}")
    assert "\x1b[31m\x1b[1mFAIL: \x1b[0m" in text


def test_an_empty_token_returns_the_last_chunk_first(sim: BuildBuddy) -> None:
    plan = plan_where(role="CI", exit_code="TESTS_FAILED")
    last = get_log(sim, plan.invocation_id, "")
    assert "Build completed" in last["log"]["contents"]
    after = get_log(sim, plan.invocation_id, last["nextPageToken"])
    assert after == {"log": {}}


def test_the_live_chunk_is_answered_with_the_token_that_was_sent(sim: BuildBuddy) -> None:
    plan = live_plan()
    live_token = get_log(sim, plan.invocation_id, "")["nextPageToken"]
    first = get_log(sim, plan.invocation_id, live_token)
    assert first["nextPageToken"] == live_token
    # The live chunk is replaced by its newer version, or persisted, as the build runs on.
    deadline = time.monotonic() + 20
    again = get_log(sim, plan.invocation_id, live_token)
    while again == first and time.monotonic() < deadline:
        time.sleep(0.05)
        again = get_log(sim, plan.invocation_id, live_token)
    assert again != first


@pytest.mark.parametrize(
    ("token", "body"),
    [
        ("zz", 'strconv.ParseUint: parsing "zz": invalid syntax\n'),
        ("10000", 'strconv.ParseUint: parsing "10000": value out of range\n'),
        ("ffff", "rpc error: code = ResourceExhausted desc = Log index limit exceeded.\n"),
    ],
)
def test_bad_page_tokens_are_500_errors(sim: BuildBuddy, token: str, body: str) -> None:
    response = sim.call(
        "GetLog", {"selector": {"invocation_id": PLANS[0].invocation_id}, "page_token": token}
    )
    assert (response.status_code, response.text) == (500, body)


def test_the_benchmark_log_has_400_chunks_of_250_kb(sim: BuildBuddy) -> None:
    last = get_log(sim, BENCHMARK_INVOCATION_ID, "")
    assert last["nextPageToken"] == f"{400:04x}"
    assert len(last["log"]["contents"].encode()) == 250_000
    middle = get_log(sim, BENCHMARK_INVOCATION_ID, "00c8")
    assert middle["nextPageToken"] == "00c9"
    assert len(middle["log"]["contents"].encode()) == 250_000


# GetFile and DeleteFile


def get_file(
    sim: BuildBuddy, uri: str, *, key: str = KEY, headers: dict[str, str] | None = None
) -> httpx.Response:
    return sim.call("GetFile", {"uri": uri}, key=key, headers=headers)


def test_get_file_streams_the_blob_its_digest_names_without_a_length(sim: BuildBuddy) -> None:
    file = a_test_file(sim)
    response = get_file(sim, file["uri"], headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "Content-Length" not in response.headers
    assert hashlib.sha256(response.content).hexdigest() == file["hash"]
    assert len(response.content) == int(file["sizeBytes"])
    assert response.content.startswith(b'exec ${PAGER:-/usr/bin/less} "$0" || exit 1\n')


def test_a_gzip_accepting_client_gets_the_same_bytes(sim: BuildBuddy) -> None:
    file = a_test_file(sim)
    response = get_file(sim, file["uri"], headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert hashlib.sha256(response.content).hexdigest() == file["hash"]


def test_a_compressed_blobs_uri_returns_a_zstd_frame_of_the_blob(sim: BuildBuddy) -> None:
    file = a_test_file(sim)
    uri = file["uri"].replace("/blobs/", "/compressed-blobs/zstd/")
    response = get_file(sim, uri)
    assert response.content[:4] == b"\x28\xb5\x2f\xfd"
    plain = zstandard.ZstdDecompressor().decompress(response.content)
    assert hashlib.sha256(plain).hexdigest() == file["hash"]


def test_the_stored_encoding_hint_makes_the_server_decompress(sim: BuildBuddy) -> None:
    file = a_test_file(sim)
    uri = file["uri"].replace("/blobs/", "/compressed-blobs/zstd/")
    response = get_file(sim, uri, headers={"X-Stored-Encoding-Hint": "zstd"})
    assert hashlib.sha256(response.content).hexdigest() == file["hash"]


def test_get_file_with_a_wrong_key_is_401(sim: BuildBuddy) -> None:
    response = get_file(sim, a_test_file(sim)["uri"], key="not-the-key")
    assert (response.status_code, response.text) == (401, "Invalid API key\n")


def test_get_file_of_an_unparsable_uri_is_400(sim: BuildBuddy) -> None:
    response = get_file(sim, "bytestream://remote.buildbuddy.io/blobs/%zz/1")
    assert (response.status_code, response.text) == (400, "Invalid URI\n")


def test_get_file_of_another_scheme_is_404_invalid_argument(sim: BuildBuddy) -> None:
    response = get_file(sim, "https://example.com/blobs/" + "a" * 64 + "/3")
    assert response.status_code == 404
    assert response.text == (
        "rpc error: code = InvalidArgument desc = Only bytestream:// uris are supported\n"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "bytestream://remote.buildbuddy.io/ci/blobs/" + "0" * 64 + "/12",
        "actioncache://remote.buildbuddy.io/ci/blobs/ac/" + "0" * 64 + "/12",
    ],
)
def test_get_file_of_a_missing_entry_is_404_with_the_sanitized_error(
    sim: BuildBuddy, uri: str
) -> None:
    response = get_file(sim, uri)
    assert response.status_code == 404
    assert response.text == (
        f'rpc error: code = Unavailable desc = failed to read byte stream resource "{uri}"\n'
    )


def test_a_deleted_file_is_404_afterwards(own_sim: BuildBuddy) -> None:
    file = a_test_file(own_sim)
    assert get_file(own_sim, file["uri"]).status_code == 200
    deleted = own_sim.call("DeleteFile", {"uri": file["uri"]})
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert get_file(own_sim, file["uri"]).status_code == 404


@pytest.mark.parametrize("form", ["host-less", "slash", "zstd"])
def test_delete_file_accepts_the_resource_name_without_scheme_and_host(
    own_sim: BuildBuddy, form: str
) -> None:
    file = a_test_file(own_sim)
    name = file["uri"].split("remote.buildbuddy.io/", 1)[1]
    uri = {
        "host-less": name,
        "slash": "/" + name,
        "zstd": name.replace("/blobs/", "/compressed-blobs/zstd/"),
    }[form]
    assert own_sim.call("DeleteFile", {"uri": uri}).status_code == 200
    assert get_file(own_sim, file["uri"]).status_code == 404


def test_deleting_a_missing_entry_succeeds(sim: BuildBuddy) -> None:
    for uri in ("blobs/" + "1" * 64 + "/5", "ci/blobs/ac/" + "2" * 64 + "/7"):
        response = sim.call("DeleteFile", {"uri": uri})
        assert (response.status_code, response.json()) == (200, {})


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://example.com/index.html", "Invalid URL. Only actioncache and CAS URIs supported."),
        ("blobs/abc/12", "Invalid URL. Does not match expected CAS URI pattern"),
    ],
)
def test_delete_file_refuses_other_uris(sim: BuildBuddy, uri: str, message: str) -> None:
    response = sim.call("DeleteFile", {"uri": uri})
    assert response.status_code == 500
    assert response.text.startswith(f"rpc error: code = InvalidArgument desc = {message}")


def test_delete_file_needs_a_key(own_sim: BuildBuddy) -> None:
    file = a_test_file(own_sim)
    response = own_sim.call("DeleteFile", {"uri": file["uri"]}, key=None)
    assert response.status_code == 500
    assert "code = Unauthenticated" in response.text
    assert get_file(own_sim, file["uri"]).status_code == 200


def test_the_benchmark_file_is_200_mb_and_matches_its_digest(sim: BuildBuddy) -> None:
    soak = actions_of(
        sim, invocation_id=BENCHMARK_INVOCATION_ID, target_label="//tools/bench:memory_soak_test"
    )
    file = next(f for a in soak for f in a.get("file", []) if f["name"] == "test.log")
    assert file["sizeBytes"] == "200000000"
    digest = hashlib.sha256()
    size = 0
    with sim.client.stream(
        "POST", "/api/v1/GetFile", json={"uri": file["uri"]}, headers={"x-buildbuddy-api-key": KEY}
    ) as response:
        for piece in response.iter_bytes():
            digest.update(piece)
            size += len(piece)
    assert (size, digest.hexdigest()) == (200_000_000, file["hash"])


# Faults, records and publication


def test_a_quota_fault_is_a_resource_exhausted_500(own_sim: BuildBuddy) -> None:
    own_sim.thread.set_faults(FaultSpec(quota=1.0))
    response = own_sim.call("GetTarget", {"selector": {"invocation_id": "x"}})
    assert response.status_code == 500
    assert response.text.startswith("rpc error: code = ResourceExhausted desc = quota exceeded")


def test_an_unavailable_fault_is_an_unavailable_500(own_sim: BuildBuddy) -> None:
    own_sim.thread.set_faults(FaultSpec(unavailable=1.0))
    response = own_sim.call("GetLog", {"selector": {"invocation_id": "x"}})
    assert response.status_code == 500
    assert response.text.startswith("rpc error: code = Unavailable desc = ")


def test_a_gateway_fault_is_a_proxys_html_page_with_a_5xx_beyond_500(own_sim: BuildBuddy) -> None:
    for method in ("GetInvocation", "GetFile"):
        own_sim.thread.set_faults(FaultSpec(gateway=1.0))
        response = own_sim.call(method, {"selector": {"invocation_id": "x"}})
        assert response.status_code > 500 and response.text.startswith("<!DOCTYPE html>")
        assert response.headers["Content-Type"].startswith("text/html")


def test_throttling_comes_in_bursts_of_429_with_retry_after(own_sim: BuildBuddy) -> None:
    own_sim.thread.set_faults(FaultSpec(throttle=1.0, burst=3))
    responses = [
        own_sim.call("GetInvocation", {"selector": {"invocation_id": "x"}}) for _ in range(4)
    ]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    assert {r.headers["Retry-After"] for r in responses[:3]} == {"1"}


def test_a_truncated_file_ends_its_200_body_with_the_error_text(own_sim: BuildBuddy) -> None:
    file = a_test_file(own_sim)
    own_sim.thread.set_faults(FaultSpec(truncate_file=1.0))
    response = get_file(own_sim, file["uri"], headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    error = f'rpc error: code = Unavailable desc = failed to read byte stream resource "{file["uri"]}"\n'
    assert response.text.endswith(error)
    assert len(response.content) - len(error) < int(file["sizeBytes"])


def test_a_dropped_connection_cuts_the_file_body(own_sim: BuildBuddy) -> None:
    file = a_test_file(own_sim)
    own_sim.thread.set_faults(FaultSpec(drop=1.0, cut_within=50))
    with pytest.raises(httpx.TransportError):
        get_file(own_sim, file["uri"], headers={"Accept-Encoding": "identity"})


def test_answered_requests_are_recorded(own_sim: BuildBuddy) -> None:
    own_sim.call("GetLog", {"selector": {"invocation_id": "no-such-id"}})
    get_file(own_sim, "bytestream://remote.buildbuddy.io/blobs/" + "0" * 64 + "/1")
    recorded = [(r.api, r.path, r.status) for r in own_sim.thread.requests]
    assert recorded == [
        ("buildbuddy", "/api/v1/GetLog", 500),
        ("buildbuddy", "/api/v1/GetFile", 404),
    ]


def test_publishing_starts_new_invocations_in_progress(own_sim: BuildBuddy) -> None:
    published = set(own_sim.thread.publish_builds(2))
    new = [
        i
        for i in published
        if own_sim.call("GetInvocation", {"selector": {"invocation_id": i}}).json()
    ]
    assert len(new) == 2
    found = own_sim.call("GetInvocation", {"selector": {"invocation_id": new[0]}}).json()
    assert found["invocation"][0]["invocationStatus"] == "PARTIAL_INVOCATION_STATUS"
