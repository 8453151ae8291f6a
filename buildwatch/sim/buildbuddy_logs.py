"""Build logs as the server keeps them (console text in chunks) and GetLog's paging over them.

The server appends console output to a live chunk and persists it once it holds 2,000,000 bytes
or nothing new arrived for 15 s; when the invocation ends the last chunk is persisted too.
GetLog's page token is a chunk index in four hex digits, and its quirks are reproduced here:
an empty token returns the last persisted chunk, the live chunk is answered with the token that
was sent, and only a finished log ends without a next token.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from buildwatch.sim.buildbuddy_invocations import InvocationPlan
from buildwatch.sim.buildbuddy_outputs import compile_stderr, test_log
from buildwatch.sim.buildbuddy_targets import SECOND, TargetPlan
from buildwatch.sim.buildbuddy_wire import HandlerError, go_quote
from buildwatch.sim.world import REPO_URL

CHUNK_BYTES = 2_000_000
IDLE_FLUSH = 15 * SECOND
APP_URL = "https://acme.buildbuddy.io"
"""Where the simulated company's invocations are shown, as Bazel prints it."""

_INFO = "\x1b[32mINFO: \x1b[0m"
_WARNING = "\x1b[35mWARNING: \x1b[0m"
_ERROR = "\x1b[31m\x1b[1mERROR: \x1b[0m"
_FAIL = "\x1b[31m\x1b[1mFAIL: \x1b[0m"
_TIMEOUT = "\x1b[31m\x1b[1mTIMEOUT: \x1b[0m"
_FLAKY = "\x1b[35mFLAKY: \x1b[0m"
_EXIT_NUMBERS = {"SUCCESS": 0, "BUILD_FAILURE": 1, "TESTS_FAILED": 3, "INTERRUPTED": 8}
_SUMMARY_WORDS = {
    "PASSED": "\x1b[32mPASSED\x1b[0m", "FLAKY": "\x1b[35mFLAKY\x1b[0m",
    "FAILED": "\x1b[31m\x1b[1mFAILED\x1b[0m", "TIMED_OUT": "\x1b[31m\x1b[1mTIMEOUT\x1b[0m",
    "INCOMPLETE": "\x1b[35mINCOMPLETE\x1b[0m", "TOOL_FAILED": "\x1b[31m\x1b[1mREMOTE FAILURE\x1b[0m",
    "CANCELLED": "\x1b[35mNO STATUS\x1b[0m", "FAILED_TO_BUILD": "\x1b[31m\x1b[1mFAILED TO BUILD\x1b[0m",
}
_MNEMONICS = {
    "java": ("Javac", "Compiling Java headers"), "kt": ("KotlinCompile", "Compiling Kotlin"),
    "go": ("GoCompilePkg", "GoCompilePkg"), "ts": ("TsProject", "Compiling TypeScript"),
    "cc": ("CppCompile", "Compiling"), "py": ("PyCompile", "Checking Python sources"),
}


class ConsoleLog(Protocol):
    """A build log, chunked the way the server persists it."""

    def persisted(self, elapsed: int | None) -> int:
        """Chunks persisted `elapsed` µs after the start (None: the invocation has ended)."""

    def chunk(self, index: int) -> str:
        """The text of a persisted chunk."""

    def live(self, elapsed: int) -> str:
        """The live chunk at `elapsed`: its lines so far and the progress line still redrawn."""


@dataclass(frozen=True)
class Line:
    """A line of console output (with its newline) and when Bazel printed it."""

    at: int
    text: str


class ScheduledLog:
    """A log whose lines appear at known offsets; chunk boundaries follow the server's rules."""

    def __init__(self, lines: Sequence[Line], end: int, tail: Callable[[int], str]) -> None:
        self._lines = lines
        self._tail = tail
        self._starts: list[int] = []
        self._flushes: list[int] = []
        size = 0
        for index, line in enumerate(lines):
            idle = index > 0 and line.at - lines[index - 1].at > IDLE_FLUSH
            full = size + len(line.text.encode()) > CHUNK_BYTES
            if index == 0 or idle or full:
                if index > 0:
                    self._flushes.append(lines[index - 1].at + IDLE_FLUSH if idle else line.at)
                self._starts.append(index)
                size = 0
            size += len(line.text.encode())
        if lines:
            self._flushes.append(end)

    def persisted(self, elapsed: int | None) -> int:
        """Chunks persisted by `elapsed` (all of them once the invocation has ended)."""
        if elapsed is None:
            return len(self._starts)
        return bisect.bisect_right(self._flushes, elapsed)

    def chunk(self, index: int) -> str:
        """The text of chunk `index`."""
        start = self._starts[index]
        stop = self._starts[index + 1] if index + 1 < len(self._starts) else len(self._lines)
        return "".join(line.text for line in self._lines[start:stop])

    def live(self, elapsed: int) -> str:
        """The growing chunk after the persisted ones, with Bazel's progress line at its end."""
        index = self.persisted(elapsed)
        text = ""
        if index < len(self._starts):
            start = self._starts[index]
            stop = self._starts[index + 1] if index + 1 < len(self._starts) else len(self._lines)
            text = "".join(line.text for line in self._lines[start:stop] if line.at <= elapsed)
        return text + self._tail(elapsed)


class PatternLog:
    """A finished log of `chunks` chunks of exactly `chunk_bytes` each, made up on request."""

    def __init__(self, chunks: int, chunk_bytes: int) -> None:
        self._chunks = chunks
        lines = []
        for n in range(64):
            lines.append(f"{_INFO}soak iteration {n:02d}: heap 812 MB, gc pause 14 ms\n")
            if n % 16 == 15:
                lines.append(f"{_WARNING}allocation rate above 2 GB/s in LedgerCompactor\n")
        block = "".join(lines)
        self._body = (block * (chunk_bytes // len(block) + 2))[:chunk_bytes]

    def persisted(self, elapsed: int | None) -> int:
        """All chunks: the log is finished."""
        return self._chunks

    def chunk(self, index: int) -> str:
        """Chunk `index`, numbered in its first line so chunks differ."""
        head = f"[chunk {index:04x}]"
        return head + self._body[len(head) :]

    def live(self, elapsed: int) -> str:
        """Nothing: the log is finished."""
        return ""


def page(log: ConsoleLog, token: str, elapsed: int | None) -> tuple[str, str]:
    """GetLog: the contents and next page token for `token`; "" is no token.

    Raises `HandlerError` for the tokens the server refuses.
    """
    persisted = log.persisted(elapsed)
    if token == "":
        if persisted == 0:
            return "", "" if elapsed is None else _token(0)
        return log.chunk(persisted - 1), _token(persisted)
    index = _chunk_index(token)
    if index < persisted:
        return log.chunk(index), _token(index + 1)
    if elapsed is None:
        return "", ""
    if index == persisted:
        return log.live(elapsed), _token(index)
    return "", _token(persisted)


def _token(index: int) -> str:
    return f"{index:04x}"


def _chunk_index(token: str) -> int:
    if not re.fullmatch(r"[0-9A-Fa-f]+", token):
        raise HandlerError(None, f"strconv.ParseUint: parsing {go_quote(token)}: invalid syntax")
    index = int(token, 16)
    if index > 0xFFFF:
        raise HandlerError(None, f"strconv.ParseUint: parsing {go_quote(token)}: value out of range")
    if index == 0xFFFF:
        raise HandlerError("ResourceExhausted", "Log index limit exceeded.")
    return index


def console_log(plan: InvocationPlan) -> ScheduledLog:
    """The console output of an invocation, timed along its plan."""
    lines = _runner_lines(plan) if plan.role == "CI_RUNNER" else _bazel_lines(plan)
    lines.sort(key=lambda line: line.at)
    return ScheduledLog(lines, plan.duration, lambda elapsed: _progress(plan, elapsed))


def _progress(plan: InvocationPlan, elapsed: int) -> str:
    if plan.role == "CI_RUNNER" or elapsed < plan.analysed:
        return ""
    total = max(plan.action_count, 1)
    done = total * elapsed // plan.duration
    running = 1 + (elapsed // SECOND) % 16
    return f"\x1b[32m[{done:,} / {total:,}]\x1b[0m {running} actions running\n"


def _runner_lines(plan: InvocationPlan) -> list[Line]:
    sha = plan.commit.sha
    child = plan.children[0] if plan.children else ""
    lines = [
        Line(0, f'{_INFO}Running workflow action "{plan.pattern}" for push to '
                f"{plan.commit.branch}\n"),
        Line(SECOND, f"$ git fetch --filter=blob:none --depth=1 origin {sha}\n"),
        Line(2 * SECOND, f"From {REPO_URL}\n"),
        Line(2 * SECOND, f" * branch            {sha} -> FETCH_HEAD\n"),
        Line(3 * SECOND, f"$ git checkout --force {sha}\nHEAD is now at {sha[:7]}\n"),
        Line(4 * SECOND, "$ bazel test //... --config=ci --flaky_test_attempts=3 "
                         "--test_output=errors\n"),
        Line(6 * SECOND, f"{_INFO}Streaming build results to: {APP_URL}/invocation/{child}\n"),
    ]
    if plan.exit_code:
        verdict = "\x1b[32mSucceeded\x1b[0m" if plan.success else "\x1b[31mFailed\x1b[0m"
        lines.append(Line(plan.duration - 2 * SECOND,
                          f"Bazel exited with code {_EXIT_NUMBERS[plan.exit_code]}\n"))
        lines.append(Line(plan.duration - SECOND, f"Workflow action {verdict}\n"))
    return lines


def _bazel_lines(plan: InvocationPlan) -> list[Line]:
    rng = random.Random(f"console:{plan.invocation_id}")
    iid = plan.invocation_id
    tests = [t for t in plan.targets if t.rule.is_test]
    lines = [
        Line(0, f"{_INFO}Invocation ID: {iid}\n"),
        Line(0, f"{_INFO}Streaming build results to: {APP_URL}/invocation/{iid}\n"),
        Line(SECOND // 2, f"{_INFO}Reading rc options for '{plan.command}' from "
                          "/workspace/.bazelrc:\n  Inherited 'common' options: "
                          "--enable_bzlmod --remote_cache=grpcs://remote.buildbuddy.io\n"),
        Line(SECOND, "Computing main repo mapping: \n"),
        Line(2 * SECOND, "Loading: 0 packages loaded\n"),
    ]
    for n in range(rng.randint(0, 3)):
        rule = rng.choice(plan.targets).rule
        lines.append(Line(3 * SECOND + n, (
            f"{_WARNING}/workspace/{rule.package}/BUILD.bazel:{rng.randint(3, 80)}:"
            f"{rng.randint(3, 20)}: target '{rule.label}' depends on deprecated target "
            "'//proto/events:events_proto': use //proto/events/v2 instead\n"
        )))
    found = f"{len(plan.targets) - len(tests)} targets and {len(tests)} test targets" \
        if plan.command == "test" else f"{len(plan.targets)} targets"
    lines += [
        Line(plan.analysed, f"{_INFO}Analyzed {len(plan.targets)} targets "
                            f"({rng.randint(200, 900)} packages loaded, "
                            f"{rng.randint(8000, 30000)} targets configured).\n"),
        Line(plan.analysed, f"{_INFO}Found {found}...\n"),
    ]
    lines += _progress_lines(plan, rng)
    for target in plan.targets:
        lines += _target_lines(plan, target)
    if plan.exit_code:
        lines += _closing_lines(plan, tests, rng)
    return lines


def _progress_lines(plan: InvocationPlan, rng: random.Random) -> list[Line]:
    """Scrolling `[done / total]` lines, with the silences of long tests that flush a chunk."""
    lines: list[Line] = []
    at = plan.analysed
    total = max(plan.action_count, 1)
    while True:
        at += int(rng.uniform(0.3, 3.0) * SECOND) if rng.random() < 0.97 else \
            int(rng.uniform(16, 40) * SECOND)
        if at >= plan.duration - SECOND:
            return lines
        busy = [t for t in plan.targets if t.done is None or t.done > at] or list(plan.targets)
        target = rng.choice(busy)
        testing = target.built is not None and target.built <= at and bool(target.attempts)
        lines.append(Line(at, (
            f"\x1b[32m[{total * at // plan.duration:,} / {total:,}]\x1b[0m "
            f"{'Testing' if testing else 'Building'} {target.rule.label}; "
            f"{rng.randint(1, 40)}s remote, remote-cache\n"
        )))


def _testlog_path(label: str) -> str:
    package, _, name = label[2:].partition(":")
    return f"/home/ci/.cache/bazel/_bazel_ci/execroot/_main/bazel-out/k8-fastbuild/testlogs/" \
           f"{package}/{name}/test.log"


def _target_lines(plan: InvocationPlan, target: TargetPlan) -> list[Line]:
    rule = target.rule
    lines: list[Line] = []
    if target.failure and target.built is not None:
        mnemonic, _ = _MNEMONICS.get(rule.language, ("Genrule", "Executing genrule"))
        lines.append(Line(target.built, (
            f"{_ERROR}/workspace/{rule.package}/BUILD.bazel:{len(rule.label) % 40 + 3}:13: "
            f"{mnemonic} {rule.label} failed: (Exit 1): {mnemonic.lower()} failed: error "
            f"executing {mnemonic} command (from target {rule.label})\n"
            + compile_stderr(plan, target).decode()
        )))
    for attempt in target.attempts:
        if attempt.status in ("PASSED", "TOOL_HALTED_BEFORE_TESTING"):
            continue
        at = attempt.start + attempt.duration
        shard = f" (shard {attempt.shard + 1} of {rule.shards})" if rule.shards else ""
        prefix = _TIMEOUT if attempt.status == "TIMEOUT" else _FAIL
        output = test_log(plan, target, attempt).decode()
        lines.append(Line(at, (
            f"{prefix}{rule.label}{shard} (see {_testlog_path(rule.label)})\n"
            f"\x1b[0mINFO: From Testing {rule.label}{shard}:\n"
            f"==================== Test output for {rule.label}{shard}:\n{output}"
            + "=" * 80 + "\n"
        )))
    if target.status == "FLAKY" and target.done is not None:
        lines.append(Line(target.done, f"{_FLAKY}{rule.label} (Summary)\n"))
    return lines


def _closing_lines(plan: InvocationPlan, tests: list[TargetPlan], rng: random.Random) -> list[Line]:
    end = plan.duration - SECOND // 2
    seconds = plan.duration / SECOND
    actions = plan.action_count
    cached = rng.randint(actions // 3, actions * 2 // 3)
    verdicts = {
        "SUCCESS": f"{_INFO}Build completed successfully, {actions:,} total actions\n",
        "TESTS_FAILED": f"{_INFO}Build completed, "
                        f"{sum(1 for t in tests if t.status in ('FAILED', 'TIMED_OUT'))} tests "
                        f"FAILED, {actions:,} total actions\n",
        "BUILD_FAILURE": f"{_ERROR}Build did NOT complete successfully\n",
        "INTERRUPTED": f"{_ERROR}build interrupted\n{_ERROR}Build did NOT complete successfully\n",
    }
    lines = [
        Line(end, f"{_INFO}Elapsed time: {seconds:.3f}s, Critical Path: {seconds * 0.7:.2f}s\n"),
        Line(end, f"{_INFO}{actions:,} processes: {cached:,} remote cache hit, "
                  f"{actions - cached:,} remote.\n"),
        Line(end, verdicts[plan.exit_code]),
    ]
    ran = [t for t in tests if plan.command == "test"
           and (t.status in _SUMMARY_WORDS or t.done is None)]
    for target in sorted(ran, key=lambda t: t.rule.label):
        lines.append(Line(end, _summary_line(target)))
    if ran:
        passed = sum(1 for t in ran if t.status in ("PASSED", "FLAKY"))
        lines.append(Line(end, f"\nExecuted {len(ran)} out of {len(tests)} tests: "
                               f"{passed} tests pass and {len(ran) - passed} fail.\n"))
    number = _EXIT_NUMBERS[plan.exit_code]
    if number:
        lines.append(Line(plan.duration, f"{_ERROR}Bazel exited with code {number}\n"))
    return lines


def _summary_line(target: TargetPlan) -> str:
    if target.done is None:
        return f"{target.rule.label:<64}\x1b[35mNO STATUS\x1b[0m\n"
    word = _SUMMARY_WORDS[target.status]
    attempts = target.attempts
    cached = "\x1b[32m(cached) \x1b[0m" if attempts and attempts[0].cached else ""
    took = f" in {target.timing[1] / SECOND:.1f}s" if target.timing else ""
    failed = sum(1 for a in attempts if a.status != "PASSED")
    if target.status == "FLAKY":
        word += f", failed in {failed} out of {len(attempts)}"
    elif target.status == "FAILED" and len(attempts) > 1:
        word += f" in {failed} out of {len(attempts)}"
    return f"{target.rule.label:<64}{cached}{word}{took}\n"
