"""The simulated Develocity Export API: endpoints, status codes, resume, streaming, gzip, auth."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from sim_sse import AUTH, Message, parse_sse

from buildwatch.core.errors import ConfigError
from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

V2 = "/build-export/v2"
V1 = "/build-export/v1"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    config = SimConfig(seed=5, builds=30, heartbeat_s=0.2, not_ready_s=0.5)
    with SimulatorThread(config) as running:
        yield running


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=10) as http:
        yield http


def listing(
    client: httpx.Client, path: str = f"{V2}/builds/since/0", **headers: str
) -> list[Message]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return parse_sse(response.text)


def small_build(client: httpx.Client, tool: str = "gradle") -> str:
    builds = client.get("/_sim/develocity/builds").json()
    return next(b["buildId"] for b in builds if b["toolType"] == tool and not b["eventCount"])


def test_listing_since_zero_lists_every_published_build_in_publication_order(
    client: httpx.Client,
) -> None:
    messages = listing(client)
    stamps = [json.loads(m.data)["timestamp"] for m in messages]
    assert len(messages) >= 30
    assert stamps == sorted(stamps)
    assert {m.event for m in messages} == {"Build"}


def test_listing_message_ids_are_the_build_ids(client: httpx.Client) -> None:
    messages = listing(client)
    assert all(m.id == json.loads(m.data)["buildId"] for m in messages)
    assert len({m.id for m in messages}) == len(messages)


def test_backfilled_builds_spread_over_the_three_hours_before_start(client: httpx.Client) -> None:
    stamps = [json.loads(m.data)["timestamp"] for m in listing(client)[:30]]
    spread_hours = (stamps[-1] - stamps[0]) / 3_600_000
    assert 1.5 < spread_hours <= 3


def test_listing_since_a_date_lists_only_builds_published_from_then(client: httpx.Client) -> None:
    everything = listing(client)
    middle = json.loads(everything[15].data)["timestamp"]
    since = listing(client, f"{V2}/builds/since/{middle}")
    assert [m.id for m in since] == [m.id for m in everything[15:]]


def test_listing_since_a_future_date_answers_400(client: httpx.Client) -> None:
    future = int(time.time() * 1000) + 3_600_000
    assert client.get(f"{V2}/builds/since/{future}").status_code == 400


def test_listing_since_a_malformed_date_answers_400(client: httpx.Client) -> None:
    assert client.get(f"{V2}/builds/since/yesterday").status_code == 400


def test_listing_since_now_without_stream_has_nothing_to_send_and_answers_204(
    client: httpx.Client,
) -> None:
    assert client.get(f"{V2}/builds/since/now").status_code == 204


def test_listing_since_a_build_lists_the_builds_after_it(client: httpx.Client) -> None:
    everything = listing(client)
    after = listing(client, f"{V2}/builds/sinceBuild/{everything[9].id}")
    assert [m.id for m in after] == [m.id for m in everything[10:]]


def test_listing_since_an_unknown_build_answers_404(client: httpx.Client) -> None:
    assert client.get(f"{V2}/builds/sinceBuild/zzzzzzzzzzzzz").status_code == 404


def test_finished_listing_answers_204_when_resumed_with_its_last_id(client: httpx.Client) -> None:
    last = listing(client)[-1].id
    response = client.get(f"{V2}/builds/since/0", headers={"Last-Event-ID": last})
    assert response.status_code == 204


def test_listing_resumed_mid_way_continues_after_the_last_id(client: httpx.Client) -> None:
    everything = listing(client)
    resumed = listing(client, f"{V2}/builds/since/0", **{"Last-Event-ID": everything[20].id})
    assert [m.id for m in resumed] == [m.id for m in everything[21:]]


def test_v1_listing_shows_gradle_and_maven_builds_with_v1_fields(client: httpx.Client) -> None:
    v1 = listing(client, f"{V1}/builds/since/0")
    v2 = [json.loads(m.data) for m in listing(client)]
    assert [m.id for m in v1] == [d["buildId"] for d in v2 if d["toolType"] in ("gradle", "maven")]
    assert set(json.loads(v1[0].data)) == {"buildId", "timestamp", "gradleVersion", "pluginVersion"}


def test_v2_listing_names_the_build_tool(client: httpx.Client) -> None:
    data = [json.loads(m.data) for m in listing(client)]
    assert set(data[0]) == {"buildId", "timestamp", "toolType", "toolVersion", "agentVersion"}
    assert {d["toolType"] for d in data} >= {"gradle", "maven"}


def test_streamed_listing_pushes_builds_as_they_are_published(sim: SimulatorThread) -> None:
    with (
        httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=5) as http,
        http.stream("GET", f"{V2}/builds/since/now?stream") as response,
    ):
        assert response.status_code == 200
        published = sim.publish_builds(2)[:2]
        received = ""
        for text in response.iter_text():
            received += text
            if published[-1] in received:
                break
    assert [m.id for m in parse_sse(received)] == published


def test_streamed_listing_sends_heartbeat_comments_while_idle(sim: SimulatorThread) -> None:
    with (
        httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=5) as http,
        http.stream("GET", f"{V2}/builds/since/now?stream") as response,
    ):
        first = next(response.iter_bytes())
    assert first.startswith(b":")


def test_streamed_listing_resumed_with_last_event_id_sends_the_builds_after_it(
    sim: SimulatorThread, client: httpx.Client
) -> None:
    everything = listing(client)
    headers = {"Last-Event-ID": everything[-3].id}
    with client.stream("GET", f"{V2}/builds/since/now?stream", headers=headers) as response:
        received = ""
        for text in response.iter_text():
            received += text
            if everything[-1].id in received:
                break
    assert [m.id for m in parse_sse(received)] == [m.id for m in everything[-2:]]


def test_new_builds_keep_being_published_at_the_configured_rate() -> None:
    with (
        SimulatorThread(SimConfig(builds=0, rate_per_min=1200)) as sim,
        httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=5) as http,
        http.stream("GET", f"{V2}/builds/since/0?stream") as response,
    ):
        received = ""
        for text in response.iter_text():
            received += text
            if len(parse_sse(received)) >= 2:
                break
    assert len(parse_sse(received)) >= 2


def test_events_start_with_the_build_message_then_events_numbered_from_1(
    client: httpx.Client,
) -> None:
    build_id = small_build(client)
    messages = parse_sse(client.get(f"{V2}/build/{build_id}/events").text)
    assert (messages[0].id, messages[0].event) == ("0", "Build")
    assert json.loads(messages[0].data)["buildId"] == build_id
    assert [m.id for m in messages[1:]] == [str(n) for n in range(1, len(messages))]
    assert {m.event for m in messages[1:]} == {"BuildEvent"}


def test_event_types_filter_keeps_each_events_own_id(client: httpx.Client) -> None:
    build_id = small_build(client)
    everything = parse_sse(client.get(f"{V2}/build/{build_id}/events").text)[1:]
    wanted = {"TaskStarted", "BuildFinished"}
    filtered = parse_sse(
        client.get(f"{V2}/build/{build_id}/events?eventTypes=TaskStarted,BuildFinished").text
    )[1:]
    expected = [m for m in everything if json.loads(m.data)["type"]["eventType"] in wanted]
    assert filtered == expected
    assert len(filtered) < len(everything)


def test_events_resume_after_the_last_event_id(client: httpx.Client) -> None:
    build_id = small_build(client)
    everything = parse_sse(client.get(f"{V2}/build/{build_id}/events").text)
    resumed = parse_sse(
        client.get(f"{V2}/build/{build_id}/events", headers={"Last-Event-ID": "5"}).text
    )
    assert resumed == everything[6:]


def test_filtered_events_resume_after_the_last_event_id(client: httpx.Client) -> None:
    build_id = small_build(client)
    path = f"{V2}/build/{build_id}/events?eventTypes=TaskFinished"
    everything = parse_sse(client.get(path).text)[1:]
    resumed = parse_sse(client.get(path, headers={"Last-Event-ID": everything[2].id}).text)
    assert resumed == everything[3:]


def test_events_resumed_after_the_last_event_answer_204(client: httpx.Client) -> None:
    build_id = small_build(client)
    last = parse_sse(client.get(f"{V2}/build/{build_id}/events").text)[-1].id
    response = client.get(f"{V2}/build/{build_id}/events", headers={"Last-Event-ID": last})
    assert response.status_code == 204


def test_events_with_a_malformed_last_event_id_answer_400(client: httpx.Client) -> None:
    response = client.get(
        f"{V2}/build/{small_build(client)}/events", headers={"Last-Event-ID": "x"}
    )
    assert response.status_code == 400


def test_events_of_an_unknown_build_answer_404(client: httpx.Client) -> None:
    assert client.get(f"{V2}/build/zzzzzzzzzzzzz/events").status_code == 404


def test_v1_events_of_a_bazel_or_npm_build_answer_400(client: httpx.Client) -> None:
    assert client.get(f"{V1}/build/{small_build(client, 'bazel')}/events").status_code == 400
    assert client.get(f"{V1}/build/{small_build(client, 'npm')}/events").status_code == 400


def test_v1_lists_a_maven_build_with_its_maven_and_extension_versions(
    client: httpx.Client,
) -> None:
    maven = small_build(client, "maven")
    v2 = next(json.loads(m.data) for m in listing(client) if m.id == maven)
    v1 = next(json.loads(m.data) for m in listing(client, f"{V1}/builds/since/0") if m.id == maven)
    assert (v1["gradleVersion"], v1["pluginVersion"]) == (v2["toolVersion"], v2["agentVersion"])
    assert "toolType" not in v1


def test_v1_answers_gradle_event_types_of_a_maven_build_with_no_events(
    client: httpx.Client,
) -> None:
    url = f"{V1}/build/{small_build(client, 'maven')}/events"
    gradle = parse_sse(client.get(url, params={"eventTypes": "BuildStarted,BuildFinished"}).text)
    maven = parse_sse(client.get(url, params={"eventTypes": "MvnBuildStarted"}).text)
    assert [m.event for m in gradle] == ["Build"]
    assert [m.event for m in maven] == ["Build", "BuildEvent"]


def test_v1_events_of_a_gradle_build_start_with_a_v1_build_message(client: httpx.Client) -> None:
    messages = parse_sse(client.get(f"{V1}/build/{small_build(client)}/events").text)
    assert "gradleVersion" in json.loads(messages[0].data)
    assert len(messages) > 1


def test_events_of_a_just_published_build_answer_503_until_it_is_stored(
    sim: SimulatorThread, client: httpx.Client
) -> None:
    build_id = sim.publish_builds(1)[0]
    statuses = [client.get(f"{V2}/build/{build_id}/events").status_code]
    while statuses[-1] == 503:
        time.sleep(0.1)
        statuses.append(client.get(f"{V2}/build/{build_id}/events").status_code)
    assert statuses[0] == 503
    assert statuses[-1] == 200


def test_events_are_gzipped_when_asked_and_decode_to_the_plain_body(client: httpx.Client) -> None:
    path = f"{V2}/build/{small_build(client)}/events"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content


def test_gzipped_resumed_events_decode_to_the_same_events(client: httpx.Client) -> None:
    path = f"{V2}/build/{small_build(client)}/events"
    plain = client.get(path, headers={"Accept-Encoding": "identity", "Last-Event-ID": "3"})
    with client.stream(
        "GET", path, headers={"Accept-Encoding": "gzip", "Last-Event-ID": "3"}
    ) as zipped:
        raw = b"".join(zipped.iter_raw())
    assert gzip.decompress(raw) == plain.content


def test_listing_is_gzipped_when_asked(client: httpx.Client) -> None:
    with client.stream(
        "GET", f"{V2}/builds/since/0", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert parse_sse(gzip.decompress(raw).decode()) == listing(client)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer sim-token",
        "Bearer " + base64.b64encode(b"sim-token").decode(),
        _basic("sim", "sim-password"),
    ],
    ids=["raw-bearer", "base64-bearer", "basic"],
)
def test_accepted_credentials_are_served(sim: SimulatorThread, authorization: str) -> None:
    response = httpx.get(
        f"{sim.develocity_url}{V2}/builds/since/0", headers={"Authorization": authorization}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": _basic("sim", "wrong")},
        {"Authorization": "Token sim-token"},
    ],
    ids=["none", "wrong-token", "wrong-password", "unknown-scheme"],
)
def test_missing_or_wrong_credentials_answer_401(
    sim: SimulatorThread, headers: dict[str, str]
) -> None:
    for path in (
        f"{V2}/builds/since/0",
        f"{V1}/builds/since/0",
        f"{V2}/build/zzzzzzzzzzzzz/events",
    ):
        response = httpx.get(f"{sim.develocity_url}{path}", headers=headers)
        assert response.status_code == 401
        assert "sim-token" not in response.text


def test_every_export_api_request_is_recorded_with_its_status(
    sim: SimulatorThread, client: httpx.Client
) -> None:
    client.get(f"{V2}/build/zzzzzzzzzzzzz/events")
    record = sim.requests[-1]
    assert (record.api, record.method, record.path, record.status) == (
        "develocity",
        "GET",
        f"{V2}/build/zzzzzzzzzzzzz/events",
        404,
    )


def test_control_endpoint_publishes_builds_that_the_listing_then_shows(
    client: httpx.Client,
) -> None:
    before = listing(client)
    published = client.post("/_sim/publish?count=1").json()
    after = listing(client, f"{V2}/builds/sinceBuild/{before[-1].id}")
    assert [m.id for m in after] == [published[0]]


def test_control_endpoint_reports_the_requests_it_answered(client: httpx.Client) -> None:
    client.get(f"{V2}/builds/since/yesterday")
    records = client.get("/_sim/requests").json()
    assert records[-1]["path"] == f"{V2}/builds/since/yesterday"
    assert records[-1]["status"] == 400


def test_control_endpoint_rejects_an_unknown_fault(client: httpx.Client) -> None:
    response = client.post("/_sim/faults", content="explode=1")
    assert response.status_code == 400
    assert "unknown fault" in response.json()["error"]


def test_a_simulator_on_a_taken_port_raises_a_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match="cannot listen"):
            SimulatorThread(SimConfig(builds=1), port=taken.getsockname()[1]).start()
