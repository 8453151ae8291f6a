"""What the simulated BuildBuddy server knows and answers, at any moment of its clock.

One `BuildBuddyData` per simulator holds the invocation plans, the cache of their files (with
the deletions made through DeleteFile) and the logs built so far. Each query renders API
messages as the real server would at `now`: an invocation in progress shows only the build
events flushed so far, targets come in random order, and nothing is paged but the log.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from buildwatch.sim import buildbuddy_outputs as outputs
from buildwatch.sim.buildbuddy_files import Blob, Cache, Digest, bytestream_uri, pattern_blob
from buildwatch.sim.buildbuddy_invocations import (
    BENCHMARK_INVOCATION_ID,
    MINUTE,
    InvocationPlan,
    plan_invocations,
    publish_invocation,
)
from buildwatch.sim.buildbuddy_logs import ConsoleLog, PatternLog, console_log, page
from buildwatch.sim.buildbuddy_targets import Attempt, TargetPlan
from buildwatch.sim.buildbuddy_wire import HandlerError, duration, put, timestamp
from buildwatch.sim.world import Commit, World

Message = dict[str, Any]

BENCHMARK_FILE_BYTES = 200_000_000
BENCHMARK_LOG_CHUNKS = 400
BENCHMARK_CHUNK_BYTES = 250_000
CONFIGURATION_ID = hashlib.sha256(b"k8-fastbuild").hexdigest()
_FLUSH_PERIOD = MINUTE
"""An in-progress invocation's events reach storage about once a minute."""
_HELD_US = 24 * 60 * MINUTE
"""How long a run held for a test lasts if the test never ends it."""


def encoded_id(name: str) -> str:
    """The server's action id (and an old server's target id): unpadded URL-safe base64 of
    `id::v1::<name>`."""
    return base64.urlsafe_b64encode(f"id::v1::{name}".encode()).decode().rstrip("=")


BUILD_ACTION_ID = encoded_id("build")


class BuildBuddyData:
    """Invocations, targets, actions, logs and files of one simulated BuildBuddy server."""

    def __init__(
        self, world: World, start_us: int, plans: Sequence[InvocationPlan] | None = None
    ) -> None:
        """`plans` replaces the world's usual invocations (a scripted world's)."""
        self._world = world
        self._plans: dict[str, InvocationPlan] = {}
        self._by_commit: dict[str, list[InvocationPlan]] = defaultdict(list)
        for plan in plan_invocations(world, start_us) if plans is None else plans:
            self._add(plan)
        self.cache = Cache()
        self._logs: dict[str, ConsoleLog] = {}
        self._stored: set[str] = set()
        self._order = random.Random(f"order:{world.seed}")
        self._published = random.Random(f"published:{world.seed}")
        self._held = random.Random(f"held:{world.seed}")
        self.held: set[str] = set()
        """The runs `hold` started that `end` has not ended yet."""

    def _add(self, plan: InvocationPlan) -> None:
        self._plans[plan.invocation_id] = plan
        self._by_commit[plan.commit.sha].append(plan)

    def plans(self) -> list[InvocationPlan]:
        """Every invocation plan, including ones that have not started yet."""
        return list(self._plans.values())

    def publish(self, count: int, now_us: int) -> list[str]:
        """Start `count` new CI invocations now, on recent commits; returns their ids."""
        ids = []
        for _ in range(count):
            plan = publish_invocation(self._world, now_us, self._published)
            self._add(plan)
            ids.append(plan.invocation_id)
        return ids

    def hold(self, commit_sha: str, now_us: int) -> str:
        """Start a CI workflow run of `commit_sha` now that runs until `end` ends it (a test
        decides when a run it waits on finishes); returns its id."""
        commit = next(
            (known for known in self._world.commits if known.sha == commit_sha),
            Commit(commit_sha, "main", "ci"),
        )
        plan = InvocationPlan(
            invocation_id=str(uuid.UUID(int=self._held.getrandbits(128), version=4)),
            commit=commit, role="CI_RUNNER", user="ci", host=self._world.ci_hosts[0],
            command="ci_runner", pattern="Test all targets", created=now_us,
            duration=_HELD_US, exit_code="", targets=(), analysed=0, action_count=0,
            instance="ci",
        )
        self._add(plan)
        self.held.add(plan.invocation_id)
        return plan.invocation_id

    def end(self, invocation_id: str, exit_code: str, now_us: int) -> None:
        """End a run `hold` started, now, with Bazel's `exit_code` (`SUCCESS`, `TESTS_FAILED`,
        `INTERRUPTED`, ...); `KeyError` for any other run."""
        self.held.remove(invocation_id)
        plan = self._plans[invocation_id]
        ended = replace(plan, duration=max(1, now_us - plan.created), exit_code=exit_code)
        self._plans[invocation_id] = ended
        runs = self._by_commit[plan.commit.sha]
        runs[runs.index(plan)] = ended

    # GetInvocation

    def invocations(
        self, invocation_id: str, commit_sha: str, now_us: int, *,
        metadata: bool = False, artifacts: bool = False, children: bool = False,
    ) -> list[Message]:
        """Invocations matching both selectors, in no particular order, as Invocation messages."""
        if invocation_id:
            plan = self._plans.get(invocation_id)
            found = [plan] if plan and (not commit_sha or plan.commit.sha == commit_sha) else []
        else:
            found = list(self._by_commit.get(commit_sha, ()))
        found = [plan for plan in found if plan.created <= now_us]
        self._order.shuffle(found)
        return [self._invocation(p, now_us, metadata, artifacts, children) for p in found]

    def _invocation(
        self, plan: InvocationPlan, now_us: int, metadata: bool, artifacts: bool, children: bool
    ) -> Message:
        elapsed = plan.elapsed(now_us)
        ended = elapsed is None
        updated = plan.duration if elapsed is None else _flushed(elapsed)
        message: Message = {"id": {"invocationId": plan.invocation_id}}
        put(message, "success", ended and plan.success)
        put(message, "user", plan.user)
        put(message, "durationUsec", plan.duration if ended else 0)
        put(message, "host", plan.host)
        put(message, "command", plan.command)
        put(message, "pattern", plan.pattern)
        put(message, "actionCount", plan.action_count if ended and plan.exit_code else 0)
        put(message, "createdAtUsec", plan.created)
        put(message, "updatedAtUsec", plan.created + updated)
        put(message, "repoUrl", self._world.repo_url)
        put(message, "commitSha", plan.commit.sha)
        put(message, "role", plan.role)
        put(message, "branchName", plan.commit.branch)
        if metadata:
            put(message, "buildMetadata", self._build_metadata(plan))
            put(message, "workspaceStatus", self._workspace_status(plan))
        if plan.era != "2021":
            put(message, "bazelExitCode", plan.exit_code if ended else "")
        if artifacts:
            put(message, "artifacts", self._artifacts(plan, _visible(plan, now_us)))
        status = "PARTIAL" if not ended else "DISCONNECTED" if plan.disconnected else "COMPLETE"
        if plan.era == "current":
            put(message, "invocationStatus", f"{status}_INVOCATION_STATUS")
        if children:
            kids = [self._plans[c] for c in plan.children if self._plans[c].created <= now_us]
            put(message, "childInvocations", [{"invocationId": k.invocation_id} for k in kids])
        return message

    def _build_metadata(self, plan: InvocationPlan) -> list[Message]:
        pairs = {"ROLE": plan.role, "REPO_URL": self._world.repo_url,
                 "COMMIT_SHA": plan.commit.sha, "BRANCH_NAME": plan.commit.branch}
        if plan.children:
            pairs["RUN_ID"] = plan.invocation_id
        entries = [{"key": k, "value": v} for k, v in pairs.items() if v]
        # The server reads these from a map, so their order changes from call to call.
        self._order.shuffle(entries)
        return entries

    def _workspace_status(self, plan: InvocationPlan) -> list[Message]:
        pairs = (("BUILD_USER", plan.user), ("BUILD_HOST", plan.host),
                 ("COMMIT_SHA", plan.commit.sha), ("GIT_BRANCH", plan.commit.branch),
                 ("GIT_TREE_STATUS", "Clean" if plan.role else "Modified"),
                 ("REPO_URL", self._world.repo_url))
        return [{"key": k, "value": v} for k, v in pairs]

    def _artifacts(self, plan: InvocationPlan, visible: int) -> list[Message]:
        files = []
        for target in plan.targets:
            rule = target.rule
            if target.status != "BUILT" or (target.done or 0) > visible or rule.is_test:
                continue
            name = f"{rule.package}/{rule.label.rpartition(':')[2]}{_output_suffix(rule.kind)}"
            blob = Blob.of(f"{rule.kind} output of {rule.label}\n".encode() * 8)
            files.append({"name": name, "uri": self._store(plan, blob, f"bin/{name}")})
        return files

    # GetTarget

    def targets(self, selector: Message, now_us: int) -> list[Message]:
        """The targets of an invocation matching the selector, in random order."""
        plan = self._lookup(selector["invocation_id"])
        visible = _visible(plan, now_us)
        found = []
        for target in plan.targets:
            if visible < plan.analysed:
                break
            message = self._target(plan, target, visible)
            if _target_selected(message, selector):
                found.append(message)
        self._order.shuffle(found)
        return found

    def _target(self, plan: InvocationPlan, target: TargetPlan, visible: int) -> Message:
        rule = target.rule
        done = target.done is not None and target.done <= visible
        built = target.built is not None and target.built <= visible
        status = target.status if done else "BUILT" if built else "BUILDING"
        message: Message = {"id": {"invocationId": plan.invocation_id,
                                   "targetId": _target_id(plan, rule.label)}}
        put(message, "label", rule.label)
        put(message, "status", status)
        if done and target.timing is not None:
            start, took = target.timing
            if plan.old_bazel:
                # Old Bazel sends milliseconds only, which the server reads as microseconds.
                took //= 1000
            put(message, "timing", {"startTime": timestamp(plan.created + start),
                                    "duration": duration(took)})
        put(message, "ruleType", rule.kind)
        put(message, "tag", list(rule.tags))
        put(message, "language", rule.language)
        return message

    # GetAction

    def actions(self, selector: Message, now_us: int) -> list[Message]:
        """The actions of an invocation matching the selector, in build-event order."""
        plan = self._lookup(selector["invocation_id"])
        visible = _visible(plan, now_us)
        events: list[tuple[int, Message]] = []
        for target in plan.targets:
            events += self._target_actions(plan, target)
        events.sort(key=lambda event: event[0])
        return [m for at, m in events if at <= visible and _action_selected(m, selector)]

    def _target_actions(self, plan: InvocationPlan, target: TargetPlan) -> list[tuple[int, Message]]:
        events = []
        # Servers before March 2025 leave a failed build action (its stderr and stdout) out.
        if target.built is not None and target.failure and plan.era == "current":
            files = [("stderr", outputs.compile_stderr(plan, target)),
                     ("stdout", outputs.compile_stdout(plan, target))]
            events.append((target.built, self._action(plan, target, BUILD_ACTION_ID, files)))
        elif target.built is not None and target.status != "FAILED_TO_BUILD":
            events.append((target.built, self._action(plan, target, BUILD_ACTION_ID, [])))
        for attempt in target.attempts:
            if attempt.status == "TOOL_HALTED_BEFORE_TESTING":
                continue
            name = f"test-S_{attempt.shard}-R_{attempt.run}-A_{attempt.attempt}"
            message = self._action(plan, target, encoded_id(name), self._test_files(plan, target, attempt))
            if plan.era != "2021":  # these fields came in 2024; the action id still names them
                put(message, "shard", attempt.shard)
                put(message, "run", attempt.run)
                put(message, "attempt", attempt.attempt)
            events.append((attempt.start + attempt.duration, message))
        return events

    def _action(
        self, plan: InvocationPlan, target: TargetPlan, action: str,
        files: Sequence[tuple[str, bytes | Blob | None]],
    ) -> Message:
        label = target.rule.label
        message: Message = {"id": {"invocationId": plan.invocation_id,
                                   "targetId": _target_id(plan, label),
                                   "configurationId": CONFIGURATION_ID, "actionId": action}}
        refs = []
        for name, content in files:
            if content is None:
                continue
            blob = content if isinstance(content, Blob) else Blob.of(content)
            refs.append(self._file(plan, blob, name, target))
        put(message, "file", refs)
        if plan.era != "2021":
            put(message, "targetLabel", label)
        return message

    def _test_files(
        self, plan: InvocationPlan, target: TargetPlan, attempt: Attempt
    ) -> list[tuple[str, bytes | Blob | None]]:
        if plan.invocation_id == BENCHMARK_INVOCATION_ID:
            log: bytes | Blob = pattern_blob(BENCHMARK_FILE_BYTES, str(self._world.seed))
        else:
            log = outputs.test_log(plan, target, attempt)
        files: list[tuple[str, bytes | Blob | None]] = [
            ("test.log", log), ("test.xml", outputs.test_xml(plan, target, attempt)),
        ]
        if outputs.has_undeclared_outputs(target.rule):
            files.append(("test.outputs__outputs.zip", outputs.outputs_zip(plan, target, attempt)))
        return files

    def _file(self, plan: InvocationPlan, blob: Blob, name: str, target: TargetPlan) -> Message:
        test_dir = target.rule.label[2:].replace(":", "/")
        uri = self._store(plan, blob, f"testlogs/{test_dir}/{name}")
        if not uri.startswith("bytestream://"):
            return {"name": name, "uri": uri}
        message: Message = {"name": name, "uri": uri, "hash": blob.sha256}
        put(message, "sizeBytes", blob.size)
        return message

    def _store(self, plan: InvocationPlan, blob: Blob, output_path: str) -> str:
        """Store an uploaded blob and return its URI; a local-only output gets a file:// URI."""
        if not plan.uploads:
            return f"file:///home/{plan.user}/.cache/bazel/_bazel_{plan.user}/execroot/_main/" \
                   f"bazel-out/k8-fastbuild/{output_path}"
        self.cache.put(plan.instance, blob)
        return bytestream_uri(plan.instance, blob)

    # GetLog

    def log_page(self, invocation_id: str, token: str, now_us: int) -> tuple[str, str]:
        """One page of an invocation's build log: its contents and the next page token."""
        plan = self._lookup(invocation_id)
        log = self._logs.get(invocation_id)
        if log is None:
            log = PatternLog(BENCHMARK_LOG_CHUNKS, BENCHMARK_CHUNK_BYTES) \
                if invocation_id == BENCHMARK_INVOCATION_ID else console_log(plan)
            self._logs[invocation_id] = log
        return page(log, token, plan.elapsed(now_us))

    # GetFile

    def blob(self, digest: Digest) -> Blob | None:
        """The stored blob with this digest, making every invocation's files first if need be."""
        found = self.cache.get(digest)
        if found is None and len(self._stored) < len(self._plans):
            # A URI from an earlier run with the same seed: store every file, then look again.
            for plan in self._plans.values():
                self._store_all(plan)
            found = self.cache.get(digest)
        return found

    def _store_all(self, plan: InvocationPlan) -> None:
        if plan.invocation_id not in self._stored:
            self._stored.add(plan.invocation_id)
            for target in plan.targets:
                self._target_actions(plan, target)
            self._artifacts(plan, plan.duration)

    def _lookup(self, invocation_id: str) -> InvocationPlan:
        plan = self._plans.get(invocation_id)
        if plan is None:
            raise HandlerError("NotFound", "invocation not found")
        return plan


def _target_id(plan: InvocationPlan, label: str) -> str:
    """Servers since mid 2022 use the label itself as a target's id."""
    return encoded_id(label) if plan.era == "2021" else label


def _flushed(elapsed: int) -> int:
    return elapsed - elapsed % _FLUSH_PERIOD


def _visible(plan: InvocationPlan, now_us: int) -> int:
    """Up to which offset the invocation's build events have reached storage."""
    elapsed = plan.elapsed(now_us)
    return plan.duration if elapsed is None else _flushed(elapsed)


def _output_suffix(kind: str) -> str:
    return {"java_library": ".jar", "java_binary": "_deploy.jar", "go_binary": "_/binary",
            "oci_image": "/index.json", "esbuild": ".js", "ts_project": ".js"}.get(kind, ".out")


def _target_selected(target: Message, selector: Message) -> bool:
    if selector.get("label"):
        return bool(target["label"] == selector["label"])
    if selector.get("tag"):
        return selector["tag"] in target.get("tag", ())
    return selector.get("target_id", "") in ("", target["id"]["targetId"])


def _action_selected(action: Message, selector: Message) -> bool:
    ids = action["id"]
    return (
        selector.get("target_id", "") in ("", ids["targetId"])
        and selector.get("target_label", "") in ("", action.get("targetLabel"))
        and selector.get("configuration_id", "") in ("", ids["configurationId"])
        and selector.get("action_id", "") in ("", ids["actionId"])
    )
