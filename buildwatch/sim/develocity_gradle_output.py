"""What a simulated Gradle build prints and the exceptions it records.

Console lines are `OutputStyledTextEvent`s and task logging is `OutputLogEvent`s; failures are
`Failure`s that end up in the build's ExceptionData.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

from buildwatch.sim.develocity_model import (
    BuildSummary,
    Clock,
    Event,
    Failure,
    RawJson,
    Skipped,
)
from buildwatch.sim.world import LogText

Owner = dict[str, object]
"""An OutputOwnerRef: the task (or other unit of work) that printed a line."""

NOUNS = (
    "Refund", "Order", "Ledger", "Invoice", "Session", "Token", "Account", "Payment", "Customer",
    "Search", "Index",
)  # fmt: skip
KINDS = ("Service", "Controller", "Repository", "Mapper", "Validator", "Client", "Handler")
_ASCII_LINES = (
    "Resolved {n} dependencies for configuration 'runtimeClasspath' in {ms} ms",
    "Caching disabled for task ':{sub}:{task}' because: Build cache is disabled for this task",
    "Skipping task ':{sub}:{task}' as it is up-to-date.",
    "Starting process 'Gradle Test Executor {n}'. Working directory: /home/ci/work/monorepo/{sub}",
    "{ts} INFO  [Test worker] c.a.{sub}.{noun}{kind} - processed batch {n} in {ms} ms",
    "{ts} DEBUG [Test worker] c.a.{sub}.{noun}Repository - SELECT * FROM {sub}_{noun} WHERE id = ?",
    "{ts} WARN  [pool-{n}-thread-1] c.a.{sub}.{noun}Client - retrying after 503 (attempt 2)",
    "Build cache key for task ':{sub}:{task}' is {key}",
    "Stored cache entry for task ':{sub}:{task}' with cache key {key}",
)
# Real builds print in every language, and servers send that text as UTF-8.
_UTF8_LINES = (
    "{ts} INFO  [Test worker] c.a.{sub}.{noun}{kind} - Überweisung für Søren Müller: "
    "1 234,50 € → bestätigt ✓ (注文 {n})",
    "{ts} INFO  [Test worker] c.a.{sub}.{noun}{kind} - 注文 {n} を処理しました: 東京都渋谷区 🚚 "
    "配送済み ({ms} ms)",
    "{ts} WARN  [pool-{n}-thread-1] c.a.{sub}.{noun}Client - повторная попытка через {ms} мс: "
    "сервер ответил 503 ⚠️",
    "Test «Paiement de José Álvarez Núñez» réussi en {ms} ms 🎉 (clé {key})",
    "{ts} DEBUG [Test worker] c.a.{sub}.{noun}Repository - 사용자 {n} 조회 완료 ✅ "
    "Ελληνικά: Δοκιμή επιτυχής",
)
_LINES: dict[LogText, tuple[str, ...]] = {
    "mixed": _ASCII_LINES + _UTF8_LINES[:1],
    "ascii": _ASCII_LINES,
    "utf8": _UTF8_LINES,
}
_VERBOSE_COMMON = '{"category":"org.gradle.internal.logging","logLevel":"INFO"}'
_json_string = json.encoder.encode_basestring


def console(clock: Clock, style: str, text: str, owner: Owner | None = None) -> Event:
    """A line of console output in one style (Header, Failure, SuccessHeader, ...)."""
    level = "ERROR" if style in ("Failure", "FailureHeader") else "LIFECYCLE"
    common = {"category": "org.gradle.internal.buildevents.BuildResultLogger", "logLevel": level}
    return clock.event(
        "OutputStyledTextEvent",
        1,
        {"common": common, "spans": [{"text": text, "style": style}], "owner": owner},
    )


def log(
    clock: Clock, level: str, message: str, owner: Owner, failure_id: int | None = None
) -> Event:
    """A message a task logged, possibly about one of the build's failures."""
    return clock.event(
        "OutputLogEvent",
        2,
        {
            "common": {"category": "org.gradle.api.Task", "logLevel": level},
            "message": message,
            "failure": None,
            "owner": owner,
            "failureId": failure_id,
        },
    )


def verbose_output(
    clock: Clock,
    subprojects: list[str],
    task_names: list[str],
    count: int,
    rng: random.Random,
    text: LogText = "mixed",
) -> Iterator[Event]:
    """`count` lines of `--info` output, which is what makes some real builds huge.

    They are encoded to JSON here, as there can be hundreds of thousands of them. `text` picks
    the lines' script; it changes nothing else about the build. `skipped_verbose_output` draws
    the same without making the lines: a change to what this draws goes there too.
    """
    lines = _LINES[text]
    key = time_of_day = ""
    for n in range(count):
        if n % 64 == 0:
            clock.wait(1, 20)
            key = f"{rng.getrandbits(128):032x}"
            time_of_day = datetime.fromtimestamp(clock.ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
        line = lines[int(rng.random() * len(lines))].format(
            n=n,
            ms=n % 887 + 3,
            sub=subprojects[n % len(subprojects)],
            task=task_names[n % len(task_names)],
            noun=NOUNS[n % len(NOUNS)],
            kind=KINDS[n % len(KINDS)],
            ts=time_of_day,
            key=key,
        )
        span = f'{{"text":{_json_string(line + chr(10))},"style":"Normal"}}'
        data = f'{{"common":{_VERBOSE_COMMON},"spans":[{span}],"owner":null}}'
        yield Event(clock.ms, "OutputStyledTextEvent", 1, 1, RawJson(data))


def skipped_verbose_output(clock: Clock, count: int, rng: random.Random) -> Skipped:
    """What `verbose_output` would make, skipped: the same draws from `rng` and the same time
    passing, in the same order, so the events after it are the same, but no lines made."""
    for n in range(count):
        if n % 64 == 0:
            clock.wait(1, 20)
            rng.getrandbits(128)
        rng.random()
    return Skipped(max(count, 0))


def source_file(summary: BuildSummary, task_path: str) -> str:
    """The source file a failing compile or checkstyle task complains about."""
    sub = task_path.split(":")[1]
    package = summary.project.replace("-", "")
    project_dir = f"/home/{summary.user}/work/monorepo/{summary.project}/{sub}"
    return f"{project_dir}/src/main/java/com/acme/{package}/{sub}/RefundService.java"


def compile_error(summary: BuildSummary, task_path: str) -> str:
    """What javac prints for a build that no longer compiles."""
    return (
        f"{source_file(summary, task_path)}:42: error: cannot find symbol\n"
        "        return ledger.reverse(entry, reason);\n"
        "                     ^\n"
        "  symbol:   method reverse(LedgerEntry,String)\n"
        "  location: variable ledger of type LedgerClient\n"
        "1 error\n"
    )


def checkstyle_warning(summary: BuildSummary, task_path: str) -> str:
    """What Checkstyle prints for a violation."""
    return (
        f"[ant:checkstyle] [WARN] {source_file(summary, task_path)}:88:5: 'method def modifier' "
        "has incorrect indentation level 4, expected level should be 8. [Indentation]"
    )


def test_failure_line(class_name: str, method: str) -> str:
    """The console line Gradle prints for a failed test."""
    short = class_name.rsplit(".", 1)[1]
    return (
        f"\n{short} > {method}() FAILED\n"
        f"    org.opentest4j.AssertionFailedError at {short}.java:57\n"
    )


def assertion_failure(class_name: str, method: str) -> Failure:
    """A JUnit 5 assertion that failed in `class_name.method`."""
    short = class_name.rsplit(".", 1)[1]
    return Failure(
        "org.opentest4j.AssertionFailedError",
        "expected: <200> but was: <500>",
        (
            (
                "org.junit.jupiter.api.AssertionFailureBuilder",
                "build",
                "AssertionFailureBuilder.java",
                151,
            ),
            ("org.junit.jupiter.api.AssertEquals", "failNotEqual", "AssertEquals.java", 197),
            (class_name, method, f"{short}.java", 57),
        ),
    )


_EXECUTER_FRAMES = (
    (
        "org.gradle.api.internal.tasks.execution.ExecuteActionsTaskExecuter",
        "execute",
        "ExecuteActionsTaskExecuter.java",
        149,
    ),
    (
        "org.gradle.execution.plan.DefaultPlanExecutor$ExecutorWorker",
        "run",
        "DefaultPlanExecutor.java",
        380,
    ),
)


def task_failure(summary: BuildSummary, task_path: str) -> Failure:
    """The exception of a failed test, compile or checkstyle task, with its cause."""
    reports = f"file:///home/{summary.user}/work/monorepo/{summary.project}"
    if task_path.endswith(":test"):
        cause = Failure(
            "org.gradle.api.GradleException",
            f"There were failing tests. See the report at: {reports}/{task_path.split(':')[1]}"
            "/build/reports/tests/test/index.html",
            (
                (
                    "org.gradle.api.tasks.testing.AbstractTestTask",
                    "handleTestFailures",
                    "AbstractTestTask.java",
                    582,
                ),
            ),
        )
    elif task_path.endswith(":compileJava"):
        cause = Failure(
            "org.gradle.api.internal.tasks.compile.CompilationFailedException",
            "Compilation failed; see the compiler error output for details.",
            (
                (
                    "org.gradle.api.internal.tasks.compile.JdkJavaCompiler",
                    "execute",
                    "JdkJavaCompiler.java",
                    100,
                ),
            ),
        )
    else:
        cause = Failure(
            "org.gradle.api.GradleException",
            f"Checkstyle rule violations were found. See the report at: {reports}"
            "/build/reports/checkstyle/main.html",
            (
                (
                    "org.gradle.api.plugins.quality.internal.CheckstyleInvoker",
                    "invoke",
                    "CheckstyleInvoker.groovy",
                    141,
                ),
            ),
        )
    return Failure(
        "org.gradle.api.tasks.TaskExecutionException",
        f"Execution failed for task '{task_path}'.",
        _EXECUTER_FRAMES,
        cause,
    )


def failure_report(failure: Failure) -> str:
    """The `FAILURE: Build failed with an exception.` block at the end of a failed build."""
    cause = failure.cause.message if failure.cause else ""
    return (
        "\nFAILURE: Build failed with an exception.\n\n* What went wrong:\n"
        f"{failure.message}\n> {cause}\n\n* Try:\n"
        "> Run with --stacktrace option to get the stack trace.\n"
        "> Run with --info or --debug option to get more log output.\n"
        "> Get more help at https://help.gradle.org.\n"
    )


def result_line(summary: BuildSummary, failed: bool) -> str:
    """`BUILD SUCCESSFUL in 1m 3s` or `BUILD FAILED in 12s`."""
    minutes, seconds = divmod(summary.duration_ms // 1000, 60)
    took = f"{minutes}m {seconds}s" if minutes else f"{seconds}s"
    return f"\nBUILD {'FAILED' if failed else 'SUCCESSFUL'} in {took}\n"
