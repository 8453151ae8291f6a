"""Normalising failure messages: two occurrences of one failure read the same, different failures
do not, and what comes out is short, one line and safe to print."""

from __future__ import annotations

import pytest

from buildwatch.core.triage.normalise import HEADLINE_LIMIT, build_failure_name, normalise


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "Could not create directory /tmp/junit4417793338455063474/work",
            "Could not create directory /tmp/junit912/work",
            id="junit-temp-dir",
        ),
        pytest.param(
            "java.io.IOException: No space left on /var/folders/x2/k8_3qz1d/T/gradle-worker-7/cache",
            "java.io.IOException: No space left on /private/var/folders/ab/cd/T/gradle-worker-9/x",
            id="macos-temp-dir",
        ),
        pytest.param(
            r"Cannot delete C:\Users\ci-runner\AppData\Local\Temp\junit123\out.txt",
            r"Cannot delete C:\Users\ana\AppData\Local\Temp\junit98\other.txt",
            id="windows-temp-dir",
        ),
        pytest.param(
            "java.net.BindException: Address already in use: localhost:54321",
            "java.net.BindException: Address already in use: localhost:8081",
            id="port",
        ),
        pytest.param(
            "Connection refused: /127.0.0.1:40123",
            "Connection refused: /10.1.2.3:5432",
            id="address-and-port",
        ),
        pytest.param(
            "Timed out at 2026-12-01T22:14:03.118Z waiting for lock",
            "Timed out at 2026-12-02T03:00:59Z waiting for lock",
            id="iso-timestamp",
        ),
        pytest.param(
            "[12:03:44.512] job deadline exceeded",
            "[09:59:01.007] job deadline exceeded",
            id="clock-time",
        ),
        pytest.param(
            "No session 8dcd8f5e-2d0d-4f19-b567-036f9f808266 for user",
            "No session 0b1c2d3e-4f50-4617-8899-aabbccddeeff for user",
            id="uuid",
        ),
        pytest.param(
            "expected <com.acme.Order@1b6d3586> but was <com.acme.Order@4554617c>",
            "expected <com.acme.Order@74a14482> but was <com.acme.Order@12345678>",
            id="identity-hash",
        ),
        pytest.param(
            "blob sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 missing",
            "blob sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752 missing",
            id="digest",
        ),
        pytest.param(
            "Build scan ayd9x49tzfc4e could not be published",
            "Build scan k3bq72mztxw6s could not be published",
            id="build-scan-id",
        ),
        pytest.param(
            "expected: <42> but was: <43>",
            "expected: <7> but was: <1001>",
            id="numbers",
        ),
        pytest.param(
            "Process 'Gradle Test Executor 12' finished with non-zero exit value 137",
            "Process 'Gradle Test Executor 3' finished with non-zero exit value 1",
            id="gradle-test-executor",
        ),
        pytest.param(
            "There were failing tests. See the report at: "
            "file:///home/ci/work/app/build/reports/tests/test/index.html",
            "There were failing tests. See the report at: "
            "file:///builds/acme/app/build/reports/tests/test/index.html",
            id="gradle-report-url",
        ),
        pytest.param(
            "//payments:ledger_test FAILED in 3 out of 3 in 12.4s",
            "//payments:ledger_test FAILED in 1 out of 3 in 0.9s",
            id="bazel-test-summary",
        ),
        pytest.param(
            "see /home/ci/.cache/bazel/_bazel_ci/8f3e9c0b1a2d4e5f60718293a4b5c6d7/execroot/"
            "_main/bazel-out/k8-fastbuild/testlogs/payments/ledger_test/test.log",
            "see /Users/ana/.cache/bazel/_bazel_ana/0123456789abcdef0123456789abcdef/execroot/"
            "_main/bazel-out/darwin-fastbuild/testlogs/payments/ledger_test/test.log",
            id="bazel-output-base",
        ),
        pytest.param(
            "Execution failed for task ':app:test'.\n  > There were failing tests",
            "Execution failed for task ':app:test'.   > There were failing tests",
            id="whitespace",
        ),
    ],
)
def test_two_occurrences_of_one_failure_normalise_alike(first: str, second: str) -> None:
    assert normalise(first) == normalise(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "Execution failed for task ':app:test'.",
            "Execution failed for task ':lib:test'.",
            id="task-paths",
        ),
        pytest.param(
            "Cannot resolve org.acme:billing-core:2.1",
            "Cannot resolve org.acme:billing-api:2.1",
            id="artifact-names",
        ),
        pytest.param("Http2Client refused", "Http1Client refused", id="digits-in-names"),
    ],
)
def test_different_failures_stay_apart(first: str, second: str) -> None:
    assert normalise(first) != normalise(second)


def test_masks_read_as_what_they_replace() -> None:
    message = (
        "Timed out after 30000ms at 2026-12-02T03:04:05Z connecting to localhost:5432 "
        "from /tmp/pg-data-81 (session 8dcd8f5e-2d0d-4f19-b567-036f9f808266, commit 800f5499)"
    )
    assert normalise(message) == (
        "Timed out after #ms at <time> connecting to <host>:<port> "
        "from <tmp> (session <uuid>, commit <hex>)"
    )


def test_digits_inside_names_and_versions_are_kept() -> None:
    assert normalise("Sha256Digest on x86_64 needs v1.2") == "Sha256Digest on x86_64 needs v1.2"


def test_words_that_only_look_like_hex_are_kept() -> None:
    assert normalise("decade accede defaced") == "decade accede defaced"


def test_a_long_message_is_cut_with_an_ellipsis() -> None:
    headline = normalise("assertion failed: " + "values differ " * 40)
    assert len(headline) == HEADLINE_LIMIT
    assert headline.endswith("…")


def test_escape_sequences_never_come_out() -> None:
    assert normalise("boom \x1b]52;c;aGk=\x07\x1b[31mred\x1b[0m") == "boom red"


def test_a_build_failure_is_named_by_its_class_and_normalised_message() -> None:
    name = build_failure_name("java.net.BindException", "Address in use: localhost:8081")
    assert name == "java.net.BindException: Address in use: <host>:<port>"


@pytest.mark.parametrize(
    ("class_name", "message", "name"),
    [
        ("org.gradle.BuildFailure", None, "org.gradle.BuildFailure"),
        (None, "took 12s", "took #s"),
        (None, "  ", "unknown failure"),
    ],
)
def test_a_build_failure_without_class_or_message_is_named_by_what_is_known(
    class_name: str | None, message: str | None, name: str
) -> None:
    assert build_failure_name(class_name, message) == name
