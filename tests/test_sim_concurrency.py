"""The simulator's in-flight gauge: how many requests per route it is answering at once."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from sim_sse import AUTH

from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

LISTING = "/build-export/v{version}/builds/since/{date}"
EVENTS = "/build-export/v{version}/build/{build_id}/events"
OPEN_STREAMS = 3
ABANDONED_STREAMS = 40


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with SimulatorThread(SimConfig(builds=5, heartbeat_s=0.1, not_ready_s=0.0)) as sim, \
            httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=10) as http:
        yield http


def gauges(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/_sim/in-flight")
    response.raise_for_status()
    gauges: dict[str, Any] = response.json()
    return gauges


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the gauge never reached the expected value"
        time.sleep(0.02)


def open_live_listings(client: httpx.Client, stack: ExitStack, count: int) -> None:
    """Start `count` live listings (they never end by themselves) and read their first bytes."""
    # A dropped iterator would close its connection at once (httpcore closes it on
    # GeneratorExit) and the simulator would end that stream: the stack holds them.
    held: list[Iterator[bytes]] = []
    stack.callback(held.clear)
    for _ in range(count):
        response = stack.enter_context(
            client.stream("GET", "/build-export/v2/builds/since/0?stream")
        )
        chunks = response.iter_raw()
        next(chunks)
        held.append(chunks)


def test_live_streams_count_as_in_flight_while_they_stream(client: httpx.Client) -> None:
    with ExitStack() as stack:
        open_live_listings(client, stack, OPEN_STREAMS)
        counted = gauges(client)

    assert counted[LISTING] == {"now": OPEN_STREAMS, "peak": OPEN_STREAMS}


def test_ended_requests_leave_the_gauge_but_not_its_peak(client: httpx.Client) -> None:
    with ExitStack() as stack:
        open_live_listings(client, stack, OPEN_STREAMS)
    wait_until(lambda: gauges(client)[LISTING]["now"] == 0)

    assert gauges(client)[LISTING]["peak"] == OPEN_STREAMS


def test_each_route_has_its_own_gauge(client: httpx.Client) -> None:
    build_id = client.get("/_sim/develocity/builds").json()[0]["buildId"]
    client.get(f"/build-export/v2/build/{build_id}/events").raise_for_status()
    with ExitStack() as stack:
        open_live_listings(client, stack, OPEN_STREAMS)
        counted = gauges(client)

    assert counted[EVENTS] == {"now": 0, "peak": 1}
    assert counted[LISTING]["peak"] == OPEN_STREAMS


def abandon_live_listing(origin: str) -> None:
    """Ask for a live listing on a raw connection, wait for its first byte, then hang up."""
    host, port = origin.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"GET /build-export/v2/builds/since/now?stream HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {AUTH['Authorization']}\r\n\r\n".encode()
        )
        assert connection.recv(1)


def test_abandoned_live_listings_end_without_waiting_for_a_heartbeat() -> None:
    # A heartbeat far beyond the wait below: only noticing the hang-up itself ends the handlers.
    with SimulatorThread(SimConfig(builds=5, heartbeat_s=300)) as sim, \
            httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=10) as http:
        for _ in range(ABANDONED_STREAMS):
            abandon_live_listing(sim.develocity_url)
        wait_until(lambda: gauges(http)[LISTING]["now"] == 0)

        assert http.get("/build-export/v2/builds/since/0").is_success
