"""The simulator's HTTP server: both simulated APIs on one origin, plus a small control API.

`Simulator` runs on the caller's event loop (async tests, `buildwatch sim`); `SimulatorThread`
runs one on its own loop in a daemon thread for synchronous callers (sync tests, a CLI under
test, the TUI demo). The control endpoints let another process drive a running simulator:
`POST /_sim/publish?count=N`, `POST /_sim/faults` (body: a `--faults` spec), `GET /_sim/requests`,
`GET /_sim/in-flight` (per route: requests under way now and the most at once),
`POST /_sim/buildbuddy/hold?commit=SHA` (a BuildBuddy run of that commit that goes on until
`POST /_sim/buildbuddy/end?invocation=ID&exit=SUCCESS` ends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from buildwatch.core.errors import ConfigError
from buildwatch.sim import buildbuddy_routes, develocity_routes
from buildwatch.sim.config import FaultSpec, SimConfig
from buildwatch.sim.context import RequestRecord, SimContext

_T = TypeVar("_T")
_SHUTDOWN_GRACE_S = 0.25
"""Streams never end by themselves, so stopping waits only this long before cancelling them."""


def build_app(ctx: SimContext) -> web.Application:
    """The aiohttp application serving both simulated APIs and the control endpoints."""
    app = web.Application(middlewares=[_in_flight_gauge(ctx)])
    develocity_routes.add_routes(app, ctx)
    buildbuddy_routes.add_routes(app, ctx)
    _add_control_routes(app, ctx)
    return app


def _in_flight_gauge(ctx: SimContext) -> Middleware:
    """A middleware counting, per route, the requests whose handler is still running."""

    @web.middleware
    async def gauge(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        with ctx.answering(resource.canonical if resource is not None else request.path):
            return await handler(request)

    return gauge


def _add_control_routes(app: web.Application, ctx: SimContext) -> None:
    async def publish(request: web.Request) -> web.Response:
        raw = request.query.get("count", "1")
        if not raw.isdigit():
            return web.json_response(
                {"error": f"count must be a whole number, got {raw!r}"}, status=400
            )
        return web.json_response(ctx.publish(int(raw)))

    async def faults(request: web.Request) -> web.Response:
        try:
            ctx.set_faults(FaultSpec.parse(await request.text()))
        except ConfigError as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"faults": str(ctx.faults)})

    async def requests(_: web.Request) -> web.Response:
        return web.json_response([dataclasses.asdict(record) for record in ctx.requests])

    async def in_flight(_: web.Request) -> web.Response:
        return web.json_response(
            {route: dataclasses.asdict(gauge) for route, gauge in ctx.in_flight.items()}
        )

    async def hold(request: web.Request) -> web.Response:
        commit = request.query.get("commit", "")
        if not commit:
            return web.json_response({"error": "name the commit: ?commit=SHA"}, status=400)
        return web.json_response({"invocationId": held_runs.hold(commit, ctx.now_ms() * 1000)})

    async def end(request: web.Request) -> web.Response:
        invocation_id = request.query.get("invocation", "")
        if invocation_id not in held_runs.held:
            return web.json_response({"error": f"no held run {invocation_id!r}"}, status=404)
        held_runs.end(invocation_id, request.query.get("exit", "SUCCESS"), ctx.now_ms() * 1000)
        return web.json_response({})

    held_runs = app[buildbuddy_routes.DATA_KEY]
    app.router.add_post("/_sim/publish", publish)
    app.router.add_post("/_sim/buildbuddy/hold", hold)
    app.router.add_post("/_sim/buildbuddy/end", end)
    app.router.add_post("/_sim/faults", faults)
    app.router.add_get("/_sim/requests", requests)
    app.router.add_get("/_sim/in-flight", in_flight)


class Simulator:
    """Both simulated servers on one port of the running event loop."""

    def __init__(self, config: SimConfig) -> None:
        self.ctx = SimContext(config)
        self._app = build_app(self.ctx)
        self._runner: web.AppRunner | None = None
        self._origin: str | None = None
        self._publisher: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `host:port` (0: any free port) and start publishing at `rate_per_min`."""
        # Cancel a handler as soon as its client hangs up: a live listing would otherwise go on
        # waiting for its next build or heartbeat (5 s by default) until a write failed.
        runner = web.AppRunner(
            self._app,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_GRACE_S,
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            await runner.cleanup()
            raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from error
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._origin = f"http://{shown_host}:{bound_port}"
        if self.ctx.config.rate_per_min > 0:
            self._publisher = asyncio.create_task(self._publish_forever())

    async def stop(self) -> None:
        """Stop publishing, close every connection and release the port."""
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def develocity_url(self) -> str:
        """Base URL of the Develocity server (its routes are under `/build-export/`)."""
        return self._require_origin()

    @property
    def buildbuddy_url(self) -> str:
        """Base URL of the BuildBuddy server (its routes are under `/api/v1/`)."""
        return self._require_origin()

    def publish_builds(self, count: int = 1) -> list[str]:
        """Publish `count` new builds on each simulated server now; returns their ids."""
        return self.ctx.publish(count)

    def set_faults(self, spec: FaultSpec) -> None:
        """Change the injected faults from the next request on, ending any burst under way."""
        self.ctx.set_faults(spec)

    def hold_invocation(self, commit_sha: str) -> str:
        """Start a BuildBuddy run of `commit_sha` that goes on until `end_invocation`; its id."""
        return self._app[buildbuddy_routes.DATA_KEY].hold(commit_sha, self.ctx.now_ms() * 1000)

    def end_invocation(self, invocation_id: str, exit_code: str = "SUCCESS") -> None:
        """End a held run now with Bazel's `exit_code` (`SUCCESS`, `TESTS_FAILED`, ...)."""
        self._app[buildbuddy_routes.DATA_KEY].end(invocation_id, exit_code, self.ctx.now_ms() * 1000)

    def _require_origin(self) -> str:
        if self._origin is None:
            raise RuntimeError("the simulator is not started")
        return self._origin

    async def _publish_forever(self) -> None:
        interval = 60.0 / self.ctx.config.rate_per_min
        while True:
            await asyncio.sleep(interval)
            self.ctx.publish(1)


async def _cancel_leftover_tasks() -> None:
    """Cancel what is still running (streams whose client left), as `asyncio.run` would."""
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_default_executor()


class SimulatorThread:
    """A `Simulator` on its own event loop in a daemon thread; use it as a context manager."""

    def __init__(
        self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._config = config or SimConfig()
        self._host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="simulator", daemon=True
        )
        self._simulator: Simulator | None = None

    def start(self) -> None:
        """Start the thread and the server; returns once it is listening."""
        self._thread.start()
        simulator = self._call(self._create())
        try:
            self._call(simulator.start(self._host, self._port))
        except BaseException:
            self.stop()
            raise
        self._simulator = simulator

    def stop(self) -> None:
        """Stop the server and its loop, and wait for the thread to end."""
        if self._simulator is not None:
            self._call(self._simulator.stop())
            self._simulator = None
        if self._thread.is_alive():
            self._call(_cancel_leftover_tasks())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def develocity_url(self) -> str:
        """Base URL of the Develocity server."""
        return self._running().develocity_url

    @property
    def buildbuddy_url(self) -> str:
        """Base URL of the BuildBuddy server."""
        return self._running().buildbuddy_url

    @property
    def ctx(self) -> SimContext:
        """The running simulator's context; mutate it only through this class's methods."""
        return self._running().ctx

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the requests answered so far."""
        return self._call(self._snapshot_requests())

    def publish_builds(self, count: int = 1) -> list[str]:
        """Publish `count` new builds on each simulated server; returns their ids."""
        return self._call(self._on_loop(self._running().publish_builds, count))

    def set_faults(self, spec: FaultSpec) -> None:
        """Change the injected faults from the next request on."""
        self._call(self._on_loop(self._running().set_faults, spec))

    def hold_invocation(self, commit_sha: str) -> str:
        """Start a BuildBuddy run of `commit_sha` that goes on until `end_invocation`; its id."""
        return self._call(self._on_loop(self._running().hold_invocation, commit_sha))

    def end_invocation(self, invocation_id: str, exit_code: str = "SUCCESS") -> None:
        """End a held run now with Bazel's `exit_code` (`SUCCESS`, `TESTS_FAILED`, ...)."""
        self._call(self._on_loop(self._running().end_invocation, invocation_id, exit_code))

    def _running(self) -> Simulator:
        if self._simulator is None:
            raise RuntimeError("the simulator thread is not started")
        return self._simulator

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _create(self) -> Simulator:
        # Built on the loop so that everything it creates belongs to that loop.
        return Simulator(self._config)

    async def _snapshot_requests(self) -> list[RequestRecord]:
        return list(self._running().ctx.requests)

    @staticmethod
    async def _on_loop(function: Callable[..., _T], *args: object) -> _T:
        return function(*args)
