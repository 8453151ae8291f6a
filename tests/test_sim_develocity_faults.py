"""Fault injection on the simulated Develocity Export API, as an httpx client observes it."""

from __future__ import annotations

import json
import socket
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
from sim_sse import AUTH, parse_sse

from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

V2 = "/build-export/v2"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(
        SimConfig(seed=11, builds=20, heartbeat_s=0.2, not_ready_s=0.2)
    ) as running:
        yield running


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[httpx.Client]:
    sim.set_faults(FaultSpec())
    with httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=5) as http:
        yield http
    sim.set_faults(FaultSpec())


@pytest.fixture
def events_path(client: httpx.Client) -> str:
    builds = client.get("/_sim/develocity/builds").json()
    build_id = next(
        b["buildId"] for b in builds if b["toolType"] == "gradle" and not b["eventCount"]
    )
    return f"{V2}/build/{build_id}/events"


def plain_body(client: httpx.Client, path: str) -> bytes:
    return client.get(path, headers={"Accept-Encoding": "identity"}).content


def read_raw(client: httpx.Client, path: str, **headers: str) -> tuple[bytes, Exception | None]:
    """The body bytes as they arrived (still gzipped, if they were) and how reading them ended."""
    received = b""
    try:
        with client.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200
            for data in response.iter_raw():
                received += data
    except httpx.TransportError as error:
        return received, error
    return received, None


def test_a_dropped_chunked_stream_is_cut_mid_chunk_which_httpx_reports_as_a_protocol_error(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    full = plain_body(client, events_path)
    sim.set_faults(FaultSpec(drop=1, rst=0, framing="chunked"))
    received, ended = read_raw(client, events_path, **{"Accept-Encoding": "identity"})
    assert isinstance(ended, httpx.RemoteProtocolError)
    assert full.startswith(received)
    assert len(received) < len(full)


def test_a_dropped_close_delimited_stream_ends_early_looking_like_a_clean_end(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    full = plain_body(client, events_path)
    sim.set_faults(FaultSpec(drop=1, rst=0, framing="close"))
    received, ended = read_raw(client, events_path, **{"Accept-Encoding": "identity"})
    assert ended is None
    assert full.startswith(received)
    assert len(received) < len(full)


def test_a_reset_stream_is_reported_by_httpx_as_a_read_error(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    sim.set_faults(FaultSpec(drop=1, rst=1, cut_within=20_000))
    _, ended = read_raw(client, events_path, **{"Accept-Encoding": "identity"})
    assert isinstance(ended, httpx.ReadError)


def test_cut_within_keeps_the_cut_in_the_first_bytes_of_the_body(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    sim.set_faults(FaultSpec(drop=1, rst=0, cut_within=200, framing="close"))
    for _ in range(5):
        received, _ = read_raw(client, events_path, **{"Accept-Encoding": "identity"})
        assert len(received) < 200


def test_cut_after_keeps_the_first_bytes_of_the_body_whole(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    whole = plain_body(client, events_path)
    sim.set_faults(FaultSpec(drop=1, rst=0, cut_after=1000, framing="close"))
    for _ in range(5):
        received, _ = read_raw(client, events_path, **{"Accept-Encoding": "identity"})
        assert 1000 <= len(received) < len(whole)


def test_cuts_land_at_different_bytes_mid_line_and_mid_event(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    sim.set_faults(FaultSpec(drop=1, rst=0, framing="close"))
    bodies = [read_raw(client, events_path, **{"Accept-Encoding": "identity"})[0] for _ in range(6)]
    assert len({len(body) for body in bodies}) > 1
    assert any(not body.endswith(b"\n") for body in bodies)
    assert any(not body.endswith(b"\n\n") for body in bodies)


def test_a_gzipped_stream_can_be_cut_mid_gzip(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    full = plain_body(client, events_path)
    sim.set_faults(FaultSpec(drop=1, rst=0, framing="close"))
    received, _ = read_raw(
        client,
        f"{events_path}?eventTypes=TaskStarted,TaskFinished,OutputStyledTextEvent",
        **{"Accept-Encoding": "gzip"},
    )
    decoder = zlib.decompressobj(wbits=31)
    decoded = decoder.decompress(received)
    assert not decoder.eof
    assert decoded.startswith(full[: full.index(b"\n\n") + 2])


def test_mixed_framing_sends_some_bodies_chunked_and_some_delimited_by_close(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    sim.set_faults(FaultSpec(framing="mixed"))
    encodings = {client.get(events_path).headers.get("transfer-encoding") for _ in range(12)}
    assert encodings == {"chunked", None}


def test_a_stalled_stream_goes_silent_heartbeats_included(
    sim: SimulatorThread, client: httpx.Client
) -> None:
    sim.set_faults(FaultSpec(stall=1, cut_within=1))
    with (
        pytest.raises(httpx.ReadTimeout),
        client.stream(
            "GET", f"{V2}/builds/since/now?stream", timeout=httpx.Timeout(5, read=1)
        ) as response,
    ):
        for _ in response.iter_raw():
            pytest.fail("a stalled stream sent bytes")


def refusals(spec: FaultSpec, count: int) -> list[int]:
    """Statuses of `count` listing requests to a fresh simulator with these faults."""
    with (
        SimulatorThread(SimConfig(seed=11, builds=3, faults=spec)) as fresh,
        httpx.Client(base_url=fresh.develocity_url, headers=AUTH) as http,
    ):
        return [http.get(f"{V2}/builds/since/0").status_code for _ in range(count)]


def test_unavailable_answers_503() -> None:
    assert refusals(FaultSpec(unavailable=1), 1) == [503]


def test_throttle_answers_429_with_retry_after() -> None:
    with SimulatorThread(SimConfig(builds=3, faults=FaultSpec(throttle=1))) as fresh:
        response = httpx.get(f"{fresh.develocity_url}{V2}/builds/since/0", headers=AUTH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


def test_a_refusal_repeats_for_its_burst_then_lets_one_request_through() -> None:
    assert refusals(FaultSpec(unavailable=1, burst=3), 8) == [
        503,
        503,
        503,
        200,
        503,
        503,
        503,
        200,
    ]


def test_quota_refusals_are_not_a_develocity_answer() -> None:
    assert refusals(FaultSpec(quota=1), 2) == [200, 200]


def test_bad_json_breaks_the_json_of_events_but_keeps_their_ids(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    clean = parse_sse(client.get(events_path).text)
    sim.set_faults(FaultSpec(bad_json=1))
    broken = parse_sse(client.get(events_path).text)
    assert [m.id for m in broken] == [m.id for m in clean]
    for message in broken:
        with pytest.raises(json.JSONDecodeError):
            json.loads(message.data)


def test_builds_published_under_the_unknown_fault_carry_unknown_event_types_and_fields(
    sim: SimulatorThread, client: httpx.Client
) -> None:
    sim.set_faults(FaultSpec(unknown=1))
    build_id = sim.publish_builds(1)[0]
    sim.set_faults(FaultSpec())
    response = client.get(f"{V2}/build/{build_id}/events")
    while response.status_code == 503:
        time.sleep(0.05)
        response = client.get(f"{V2}/build/{build_id}/events")
    events = [json.loads(m.data) for m in parse_sse(response.text)[1:]]
    assert any(event["type"]["eventType"] == "ResourceUsageSnapshot" for event in events)
    assert any("buildInsightsTraceId" in event["data"] for event in events)


def test_slow_responses_still_deliver_the_whole_body(
    sim: SimulatorThread, client: httpx.Client, events_path: str
) -> None:
    full = plain_body(client, events_path)
    sim.set_faults(FaultSpec(slow=0.2))
    assert plain_body(client, events_path) == full


def http_chunks(sim: SimulatorThread, path: str) -> list[bytes]:
    """The chunks of a chunked response body as they came off the socket: one per server write."""
    host, port = httpx.URL(sim.develocity_url).host, httpx.URL(sim.develocity_url).port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {AUTH['Authorization']}"
                     "\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while data := conn.recv(1 << 16):
            response += data
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(body[:size])
        body = body[size + 2:]


def test_packets_writes_each_event_stream_message_on_its_own(
    sim: SimulatorThread, events_path: str
) -> None:
    sim.set_faults(FaultSpec(packets=1.0))
    chunks = http_chunks(sim, events_path)
    messages = [parse_sse(chunk.decode()) for chunk in chunks]
    assert len(chunks) > 100
    assert all(len(found) == 1 and chunk.endswith(b"\n\n")
               for found, chunk in zip(messages, chunks, strict=True))
    assert [found[0].id for found in messages] == [str(n) for n in range(len(chunks))]


def test_packets_writes_each_build_of_a_listing_on_its_own(
    sim: SimulatorThread, client: httpx.Client
) -> None:
    published = len(client.get("/_sim/develocity/builds").json())
    sim.set_faults(FaultSpec(packets=1.0))
    chunks = http_chunks(sim, f"{V2}/builds/since/0")
    assert len(chunks) == published
    assert all(len(parse_sse(chunk.decode())) == 1 for chunk in chunks)


def test_without_packets_a_write_holds_many_messages(
    sim: SimulatorThread, events_path: str
) -> None:
    chunks = http_chunks(sim, events_path)
    assert max(len(parse_sse(chunk.decode())) for chunk in chunks) > 100


def test_a_huge_builds_text_goes_out_as_utf8_not_json_escapes() -> None:
    with SimulatorThread(SimConfig(builds=1, huge_build_events=40_000)) as running, httpx.Client(
        base_url=running.develocity_url, headers=AUTH, timeout=30
    ) as http:
        huge = http.get("/_sim/develocity/builds").json()[-1]["buildId"]
        body = plain_body(http, f"{V2}/build/{huge}/events")
    assert "Überweisung für Søren Müller: 1 234,50 € → bestätigt ✓".encode() in body
    assert b"\\u" not in body
