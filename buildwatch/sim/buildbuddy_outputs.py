"""The files a simulated Bazel run leaves behind: test logs, JUnit XML, zipped test outputs and
the stderr of failed compile actions, in the dialect of each target's language.

Everything is a pure function of the invocation, target and attempt, so a test.log, its test.xml
and the excerpt Bazel prints into the build log always tell the same story.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from buildwatch.sim.buildbuddy_invocations import InvocationPlan
from buildwatch.sim.buildbuddy_targets import Attempt, Rule, TargetPlan

_RED, _GREEN, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"
_VERBS = ("rejects", "accepts", "retries", "rounds", "merges", "parses", "caches", "expires")
_NOUNS = (
    "refund", "empty_cart", "expired_token", "duplicate_charge", "unicode_query", "large_batch",
    "stale_index", "missing_currency", "negative_amount", "concurrent_writes",
)


@dataclass(frozen=True)
class Case:
    """One test case as the test framework reports it."""

    name: str
    suite: str
    seconds: float
    failure: str


def _rng(plan: InvocationPlan, target: TargetPlan, attempt: Attempt | None, what: str) -> random.Random:
    numbers = "" if attempt is None else f"{attempt.shard}/{attempt.run}/{attempt.attempt}"
    return random.Random(f"{what}:{plan.invocation_id}:{target.rule.label}:{numbers}")


def test_cases(plan: InvocationPlan, target: TargetPlan, attempt: Attempt) -> list[Case]:
    """The cases an attempt ran; failed attempts fail one or two of them."""
    rng = _rng(plan, target, None, "cases")
    suite = _suite(target.rule)
    names = sorted({f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}" for _ in range(rng.randint(3, 9))})
    failing: set[str] = set()
    if attempt.status == "FAILED":
        failing = set(_rng(plan, target, attempt, "fail").sample(names, min(2, len(names))))
    elapsed = attempt.duration / 1_000_000
    return [
        Case(
            name=_case_name(target.rule, name),
            suite=suite,
            seconds=round(elapsed / len(names), 3),
            failure=_failure_message(target.rule, name, rng) if name in failing else "",
        )
        for name in names
    ]


def _suite(rule: Rule) -> str:
    package, _, name = rule.label[2:].partition(":")
    if rule.language in ("java", "kt"):
        base = "".join(part.capitalize() for part in name.split("_"))
        return "com.acme." + package.replace("/", ".") + "." + base.removesuffix("Test") + "Test"
    return f"{package}/{name}"


def _case_name(rule: Rule, name: str) -> str:
    if rule.language in ("java", "kt"):
        head, *rest = name.split("_")
        return "test" + head.capitalize() + "".join(part.capitalize() for part in rest)
    if rule.language == "go":
        return "Test" + "".join(part.capitalize() for part in name.split("_"))
    return name.replace("_", " ")


def _failure_message(rule: Rule, name: str, rng: random.Random) -> str:
    want, got = rng.choice(((400, 200), (3, 2), (0, 1), (1250, 1249)))
    if rule.language in ("java", "kt"):
        return f"java.lang.AssertionError: expected:<{want}> but was:<{got}>"
    if rule.language == "go":
        return f"{name}_test.go:{rng.randint(20, 300)}: got {got}, want {want}"
    if rule.language in ("jest", "playwright", "ts"):
        return f"expect(received).toBe(expected)\n\nExpected: {want}\nReceived: {got}"
    if rule.language == "py":
        return f"AssertionError: assert {got} == {want}"
    return f"Expected equality of these values:\n  {want}\n  {got}"


def test_log(plan: InvocationPlan, target: TargetPlan, attempt: Attempt) -> bytes:
    """The test's own output, as Bazel saves it in `test.log`."""
    rule = target.rule
    lines = [
        'exec ${PAGER:-/usr/bin/less} "$0" || exit 1',
        f"Executing tests from {rule.label}",
        "-" * 77,
    ]
    if rule.shards:
        lines.insert(2, f"Running shard {attempt.shard + 1} of {rule.shards}")
    if attempt.status == "TOOL_HALTED_BEFORE_TESTING":
        return "\n".join([*lines, "Test cancelled: the build was interrupted.", ""]).encode()
    cases = test_cases(plan, target, attempt)
    lines.extend(_framework_output(rule, cases))
    if rule.language == "playwright":
        # Browsers' progress output: carriage-return redraws and a window-title escape.
        lines.insert(3, "\x1b]0;playwright test\x07Running 6 tests using 2 workers")
        lines.insert(4, "\r[1/6] chromium\r[3/6] chromium\r[6/6] chromium")
    if attempt.status == "TIMEOUT":
        lines.append("-- Test timed out at 2025-12-05 10:14:07 UTC --")
    elif attempt.status == "INCOMPLETE":
        lines.append("Killed: test runner exited before reporting results")
    elif attempt.status == "REMOTE_FAILURE":
        lines.append("Remote execution failed: executor lost its connection (UNAVAILABLE)")
    return ("\n".join(lines) + "\n").encode()


def _framework_output(rule: Rule, cases: list[Case]) -> list[str]:
    failed = [case for case in cases if case.failure]
    if rule.language in ("java", "kt"):
        out = ["JUnit4 Test Runner", "".join("E" if c.failure else "." for c in cases)]
        out.append(f"Time: {sum(c.seconds for c in cases):.3f}")
        for n, case in enumerate(failed, start=1):
            out += [f"{n}) {case.name}({case.suite})", case.failure,
                    f"\tat {case.suite}.{case.name}({case.suite.rsplit('.', 1)[-1]}.java:57)"]
        verdict = f"FAILURES!!!\nTests run: {len(cases)},  Failures: {len(failed)}"
        return [*out, "", verdict if failed else f"OK ({len(cases)} tests)"]
    if rule.language == "go":
        out = []
        for case in cases:
            out.append(f"=== RUN   {case.name}")
            if case.failure:
                out.append(f"    {case.failure}")
            out.append(f"--- {'FAIL' if case.failure else 'PASS'}: {case.name} ({case.seconds:.2f}s)")
        return [*out, "FAIL" if failed else "PASS"]
    if rule.language in ("jest", "playwright", "ts"):
        mark = f"{_RED}{_BOLD} FAIL {_RESET}" if failed else f"{_GREEN}{_BOLD} PASS {_RESET}"
        out = [f"{mark} {rule.package}/src/{rule.label.rpartition(':')[2]}.ts"]
        for case in cases:
            tick = f"{_RED}✕{_RESET}" if case.failure else f"{_GREEN}✓{_RESET}"
            out.append(f"  {tick} {case.name} ({int(case.seconds * 1000)} ms)")
        for case in failed:
            out += ["", f"  ● {case.suite} › {case.name}", "", f"    {case.failure}"]  # noqa: RUF001
        return [*out, "", f"Tests: {len(failed)} failed, {len(cases) - len(failed)} passed"]
    out = [f"[ RUN      ] {case.suite}.{case.name}" for case in cases]
    out += [f"{case.failure}\n[  FAILED  ] {case.suite}.{case.name}" for case in failed]
    return [*out, f"[  PASSED  ] {len(cases) - len(failed)} tests."]


def test_xml(plan: InvocationPlan, target: TargetPlan, attempt: Attempt) -> bytes:
    """The JUnit XML the test (or, for timeouts, Bazel) writes to `test.xml`."""
    seconds = attempt.duration / 1_000_000
    if attempt.status in ("TIMEOUT", "INCOMPLETE", "REMOTE_FAILURE", "TOOL_HALTED_BEFORE_TESTING"):
        body = (
            f'<testsuite name={quoteattr(target.rule.label)} tests="1" failures="0" errors="1">'
            f'<testcase name={quoteattr(target.rule.label)} status="run" duration="{seconds:.0f}" '
            f'time="{seconds:.0f}"><error message="exited with error code 142"></error>'
            "</testcase></testsuite>"
        )
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>{body}</testsuites>\n'.encode()
    cases = test_cases(plan, target, attempt)
    failures = sum(1 for case in cases if case.failure)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<testsuites>",
        f'  <testsuite name={quoteattr(cases[0].suite)} tests="{len(cases)}" '
        f'failures="{failures}" errors="0" time="{seconds:.3f}">',
    ]
    for case in cases:
        head = f"    <testcase name={quoteattr(case.name)} classname={quoteattr(case.suite)} " \
               f'time="{case.seconds:.3f}"'
        if case.failure:
            first = case.failure.splitlines()[0]
            out += [head + ">", f"      <failure message={quoteattr(first)} type=\"AssertionError\">"
                    f"{_escape(case.failure)}</failure>", "    </testcase>"]
        else:
            out.append(head + "/>")
    out += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(out).encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def has_undeclared_outputs(rule: Rule) -> bool:
    """Browser and network tests save screenshots and traces to TEST_UNDECLARED_OUTPUTS_DIR."""
    return "e2e" in rule.tags or "requires-network" in rule.tags


def outputs_zip(plan: InvocationPlan, target: TargetPlan, attempt: Attempt) -> bytes:
    """`test.outputs/outputs.zip`: a small, valid, reproducible zip of undeclared outputs."""
    rng = _rng(plan, target, attempt, "zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            ("screenshot.png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(800, 3000))),
            ("trace.txt", "\n".join(c.name for c in test_cases(plan, target, attempt)).encode()),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 12, 5, 10, 0, 0)), data)
    return buffer.getvalue()


def compile_stderr(plan: InvocationPlan, target: TargetPlan) -> bytes:
    """What the failed compile action printed on stderr."""
    rule = target.rule
    line = _rng(plan, target, None, "stderr").randint(12, 240)
    package = rule.package
    messages = {
        "java": f"{package}/src/main/java/com/acme/Main.java:{line}: error: cannot find symbol\n"
                "    return balance.subtract(fee);\n                   ^\n"
                "  symbol:   method subtract(Money)\n  location: variable balance of type Amount\n"
                "1 error\n",
        "kt": f"{package}/src/main/kotlin/com/acme/Gateway.kt:{line}:18: error: "
              "unresolved reference: verifySignature\n",
        "go": f"{package}/parse.go:{line}:12: undefined: tokenize\n"
              f"{package}/parse.go:{line + 9}:3: too many errors\n",
        "ts": f"{package}/src/cart.ts({line},7): error TS2322: Type 'string' is not "
              "assignable to type 'number'.\n",
        "cc": f"{_BOLD}{package}/hash.cc:{line}:5: {_RED}error: {_RESET}{_BOLD}use of "
              f"undeclared identifier 'seed'{_RESET}\n    return mix(seed, value);\n"
              f"               {_GREEN}^{_RESET}\n1 error generated.\n",
        "py": f'  File "{package}/main.py", line {line}\n    def run(:\n            ^\n'
              "SyntaxError: invalid syntax\n",
    }
    default = "/bin/bash: line 1: git: command not found\nexit status 127\n"
    return messages.get(rule.language, default).encode()


def compile_stdout(plan: InvocationPlan, target: TargetPlan) -> bytes | None:
    """What it printed on stdout, if anything (only some tools are chatty)."""
    if target.rule.language not in ("java", "kt"):
        return None
    return b"Note: Some input files use unchecked or unsafe operations.\n" \
           b"Note: Recompile with -Xlint:unchecked for details.\n"
