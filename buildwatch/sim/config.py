"""What a simulator run looks like: its data seed, its pace, its credentials and its faults."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from buildwatch.core.errors import ConfigError
from buildwatch.sim.world import LogText

Framing = Literal["chunked", "close", "mixed"]
WorldKind = Literal["default", "triage"]
"""`default`: failures happen by chance; `triage`: they follow the script in `sim/triage.py`."""


@dataclass(frozen=True)
class FaultSpec:
    """Faults to inject, parsed from `--faults`, e.g. `drop=0.3,rst=0.5,cut-within=4096`.

    Probabilities are per response (per event for `bad-json`, per build for `unknown`).
    """

    drop: float = 0.0
    """A streamed body (SSE, GetFile) is cut at a random byte."""
    rst: float = 0.5
    """Share of those cuts sent as a TCP reset rather than a clean close."""
    cut_within: int = 0
    """Cut within the first N bytes of the body (0: anywhere in it)."""
    cut_after: int = 0
    """Cut no earlier than N bytes into the body, so the first messages always arrive whole."""
    stall: float = 0.0
    """A stream goes silent, heartbeats included, until the client hangs up."""
    unavailable: float = 0.0
    """Develocity answers 503; BuildBuddy answers `rpc error: code = Unavailable`."""
    quota: float = 0.0
    """BuildBuddy answers `rpc error: code = ResourceExhausted`."""
    throttle: float = 0.0
    """Either server answers 429 with `Retry-After: 1`, as a proxy in front of it would."""
    gateway: float = 0.0
    """A proxy or CDN in front of either server answers an HTML error page with a 5xx status
    beyond 503 (502, 504, 507, Cloudflare's 520-524 and 530)."""
    burst: int = 1
    """A refusal (unavailable, quota, throttle, gateway) repeats for this many requests in a row; then
    one request is let through before the next refusal can start."""
    slow: float = 0.0
    """Each response waits up to this many seconds before its first byte."""
    truncate_file: float = 0.0
    """GetFile stops early and appends the error text to its 200 body, as the real server does."""
    bad_json: float = 0.0
    """An SSE event carries malformed JSON."""
    unknown: float = 0.0
    """A build carries event types and fields this client has never heard of."""
    framing: Framing = "chunked"
    """How streamed bodies are framed: chunked encoding, `Connection: close`, or either."""
    packets: float = 0.0
    """A Develocity event stream is written one SSE message per write, so each leaves in its own
    packet, as servers that flush after every message send it (else in writes of up to 1 MiB)."""

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        """Parse `name=value,...`; a bare name means probability 1 (e.g. `stall`)."""
        known = {f.name.replace("_", "-"): f for f in fields(cls)}
        values: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, raw = item.partition("=")
            spec_field = known.get(name.strip())
            if spec_field is None:
                raise ConfigError(f"unknown fault {name.strip()!r}; known: {', '.join(known)}")
            values[spec_field.name] = _convert(spec_field.name, spec_field.type, raw.strip())
        return replace(cls(), **values)  # type: ignore[arg-type]

    def __str__(self) -> str:
        default = FaultSpec()
        parts = [
            f"{f.name.replace('_', '-')}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        ]
        return ",".join(parts) or "none"


def _convert(name: str, kind: object, raw: str) -> object:
    label = name.replace("_", "-")
    if kind in ("float", float):
        value = float(raw or "1")
        if not 0.0 <= value <= (3600.0 if name == "slow" else 1.0):
            raise ConfigError(f"fault {label} out of range: {raw}")
        return value
    if kind in ("int", int):
        if not raw.isdigit():
            raise ConfigError(f"fault {label} needs a whole number, got {raw!r}")
        return int(raw)
    if raw not in ("chunked", "close", "mixed"):
        raise ConfigError(f"fault framing must be chunked, close or mixed, got {raw!r}")
    return raw


@dataclass(frozen=True)
class SimConfig:
    """Everything that decides what the simulator serves. Same config, same data."""

    seed: int = 1
    builds: int = 200
    """Builds already published when the simulator starts (the backfill)."""
    huge_build_events: int = 0
    """If set, one more Gradle build of this many events ends the backfill (0: none); the builds
    before it are the same as without it. Below ~30,000 it has a big build's natural size."""
    rate_per_min: float = 0.0
    """New builds published per minute while it runs (0: none)."""
    log_text: LogText = "mixed"
    """What big builds' bulk log lines are written in (see `LogText`)."""
    world: WorldKind = "default"
    """Which failures the builds and invocations have (see `WorldKind`)."""
    token: str = "sim-token"
    """Develocity access key, accepted as a bearer token raw or base64-encoded."""
    username: str = "sim"
    password: str = "sim-password"
    """Develocity basic-auth user and password."""
    api_key: str = "sim-api-key"
    """BuildBuddy API key (`x-buildbuddy-api-key` or `Authorization: Bearer`)."""
    faults: FaultSpec = field(default_factory=FaultSpec)
    heartbeat_s: float = 5.0
    """Seconds between heartbeat comments on an idle stream."""
    not_ready_s: float = 3.0
    """Seconds after publication during which a build's events answer 503."""
    now_ms: int | None = None
    """Fixed start of the simulator's clock (epoch ms) for reproducible pictures; None: real time."""

    def fault_rng(self) -> random.Random:
        """The random source for fault decisions, separate from the data's."""
        return random.Random(f"faults:{self.seed}")
