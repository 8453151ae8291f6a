"""`buildwatch auth login|logout|status` against the simulator, with a temporary keyring.

Every test searches everything the command printed or logged for the secret it used.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from keyring_backend import TempDirKeyring

from buildwatch.cli import main
from buildwatch.core.credentials import Credential, store
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread

API_KEY = "bb-canary-6c0ffee1d2e3"
TOKEN = "dv-canary-8badf00d1234"
PASSWORD = "pw-canary-1e2d3c4b5a69"
WRONG = "wrong-canary-0dd5ec2e7a11"
CANARIES = (API_KEY, TOKEN, PASSWORD, WRONG)
TESTS = Path(__file__).parent

pytestmark = pytest.mark.timeout(60)


@dataclass
class Run:
    code: int
    out: str
    err: str
    log: str

    def shows_a_secret(self) -> bool:
        return any(canary in text for canary in CANARIES for text in (self.out, self.err, self.log))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(
        SimConfig(builds=3, token=TOKEN, username="alice", password=PASSWORD, api_key=API_KEY)
    ) as simulator:
        yield simulator


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[object]:
    """Run the CLI in-process with `stdin` piped in; logging captured at DEBUG, httpx included."""
    caplog.set_level(logging.DEBUG)

    def invoke(*argv: str, stdin: str = "") -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        caplog.clear()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err, caplog.text)

    yield invoke


def login(run, sim: SimulatorThread, server: str, stdin: str, *options: str) -> Run:
    url = sim.develocity_url if server == "develocity" else sim.buildbuddy_url
    return run("auth", "login", server, f"--{server}-url", url, *options, stdin=stdin)


@pytest.mark.parametrize(
    ("server", "secret", "what"),
    [("buildbuddy", API_KEY, "BuildBuddy API key"), ("develocity", TOKEN, "Develocity access key")],
)
def test_login_checks_the_secret_with_the_server_then_stores_it(
    run, sim: SimulatorThread, temp_keyring: TempDirKeyring, server: str, secret: str, what: str
) -> None:
    url = sim.develocity_url if server == "develocity" else sim.buildbuddy_url

    result = login(run, sim, server, secret + "\n")

    assert result.code == 0, result.err
    assert temp_keyring.stored() == {f"buildwatch/{server}:{url}": secret}
    assert f"Stored the {what} for {url}" in result.out
    assert not result.shows_a_secret()


def test_login_with_develocity_basic_auth_reads_the_user_then_the_password(
    run, sim: SimulatorThread, temp_keyring: TempDirKeyring
) -> None:
    result = login(run, sim, "develocity", f"alice\n{PASSWORD}\n", "--auth", "basic")

    assert result.code == 0, result.err
    stored = json.loads(temp_keyring.stored()[f"buildwatch/develocity:{sim.develocity_url}"])
    assert stored == {"username": "alice", "password": PASSWORD}
    assert not result.shows_a_secret()


@pytest.mark.parametrize("server", ["buildbuddy", "develocity"])
def test_a_wrong_secret_at_login_is_refused_and_nothing_is_stored(
    run, sim: SimulatorThread, temp_keyring: TempDirKeyring, server: str
) -> None:
    result = login(run, sim, server, WRONG + "\n")

    assert result.code == 3
    assert result.err.startswith("buildwatch: ")
    assert result.err.endswith("; nothing was stored\n")
    assert temp_keyring.stored() == {}
    assert not result.shows_a_secret()


def test_an_empty_secret_at_login_stores_nothing(
    run, sim: SimulatorThread, temp_keyring: TempDirKeyring
) -> None:
    result = run("auth", "login", "buildbuddy", "--buildbuddy-url", sim.buildbuddy_url, stdin="\n")

    assert (result.code, result.err) == (2, "buildwatch: no secret given; nothing was stored\n")
    assert temp_keyring.stored() == {}


def test_login_without_a_usable_keyring_explains_the_ways_out_before_asking(run) -> None:
    result = run("auth", "login", "buildbuddy", stdin=API_KEY + "\n")

    assert result.code == 2
    assert result.err.count("\n") == 1
    for advice in (
        "dbus-run-session",
        "keyrings.alt.file.PlaintextKeyring",
        "BUILDWATCH_BUILDBUDDY_API_KEY",
    ):
        assert advice in result.err
    assert sys.stdin.read() == API_KEY + "\n", (
        "the secret was asked for although it cannot be stored"
    )


def test_status_shows_the_stored_key_masked_with_its_source_and_the_backend(
    run, temp_keyring: TempDirKeyring
) -> None:
    store("buildbuddy", "https://app.buildbuddy.io", Credential(token=Secret(API_KEY)))

    result = run("auth", "status")

    assert result.code == 0
    assert "keyring backend: keyring_backend.TempDirKeyring (secure, priority 1)" in result.out
    assert (
        "buildbuddy https://app.buildbuddy.io:\n  token ****d2e3 (from the keyring)\n" in result.out
    )
    assert "develocity: no server configured" in result.out
    assert not result.shows_a_secret()


def test_status_shows_the_environment_overriding_the_keyring(
    run, temp_keyring: TempDirKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(
        "develocity", "https://d.example.com", Credential(username="alice", password=Secret(WRONG))
    )
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_TOKEN", TOKEN)

    result = run("auth", "status", "--develocity-url", "https://d.example.com/")

    assert (
        "develocity https://d.example.com:\n"
        "  token ****1234 (from the environment)\n"
        "  user alice, password **** (from the keyring, overridden by the environment)\n"
    ) in result.out
    assert not result.shows_a_secret()


def test_status_without_a_usable_keyring_still_shows_the_environment(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDWATCH_BUILDBUDDY_API_KEY", API_KEY)

    result = run("auth", "status")

    assert "keyring backend: keyring.backends.fail.Keyring (not usable, priority 0)" in result.out
    assert "dbus-run-session" in result.out
    assert "token ****d2e3 (from the environment)" in result.out
    assert not result.shows_a_secret()


def test_logout_removes_the_stored_key_and_says_so_once(run, temp_keyring: TempDirKeyring) -> None:
    store("buildbuddy", "https://app.buildbuddy.io", Credential(token=Secret(API_KEY)))

    first = run("auth", "logout", "buildbuddy")
    second = run("auth", "logout", "buildbuddy")

    assert temp_keyring.stored() == {}
    assert (
        first.out
        == "Removed the BuildBuddy secret for https://app.buildbuddy.io from the keyring.\n"
    )
    assert second.out.startswith(
        "No BuildBuddy secret for https://app.buildbuddy.io in the keyring"
    )
    assert (first.code, second.code) == (0, 0)


def test_login_notes_that_an_environment_secret_takes_precedence(
    run, sim: SimulatorThread, temp_keyring: TempDirKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDWATCH_BUILDBUDDY_API_KEY", WRONG)

    result = run(
        "auth", "login", "buildbuddy", "--buildbuddy-url", sim.buildbuddy_url, stdin=API_KEY + "\n"
    )

    assert result.code == 0
    assert "takes precedence over the keyring" in result.err
    assert not result.shows_a_secret()


def cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


def child_environment(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    env.update(extra)
    return env


def test_login_status_logout_work_end_to_end_in_a_separate_process(
    sim: SimulatorThread, temp_keyring: TempDirKeyring
) -> None:
    env = child_environment(PYTHON_KEYRING_BACKEND="keyring_backend.TempDirKeyring")
    url = ["--buildbuddy-url", sim.buildbuddy_url]

    login = cli(["auth", "login", "buildbuddy", *url], env, stdin=API_KEY + "\n")
    status = cli(["auth", "status", *url], env)
    stored = temp_keyring.stored()
    logout = cli(["auth", "logout", "buildbuddy", *url], env)

    assert [login.returncode, status.returncode, logout.returncode] == [0, 0, 0], login.stderr
    assert stored == {f"buildwatch/buildbuddy:{sim.buildbuddy_url}": API_KEY}
    assert "token ****d2e3 (from the keyring)" in status.stdout
    assert temp_keyring.stored() == {}
    outputs = [
        text for process in (login, status, logout) for text in (process.stdout, process.stderr)
    ]
    assert not [text for text in outputs if API_KEY in text]


def test_a_misspelt_keyring_backend_is_one_line_not_a_traceback() -> None:
    env = child_environment(PYTHON_KEYRING_BACKEND="does.not.Exist")

    login = cli(["auth", "login", "buildbuddy"], env, stdin=API_KEY + "\n")
    status = cli(["auth", "status"], env)

    assert login.returncode == 2
    assert login.stderr.startswith("buildwatch: the keyring failed (ModuleNotFoundError: ")
    assert login.stderr.count("\n") == 1
    assert "keyring backend: cannot start: the keyring failed (ModuleNotFoundError" in status.stdout
    assert "Traceback" not in login.stderr + status.stderr


def test_auth_status_loads_neither_the_http_stack_nor_textual() -> None:
    code = (
        "import sys; from buildwatch.cli import main; main(['auth', 'status']); "
        "print(sorted({'httpx', 'textual'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )

    assert result.stdout.splitlines()[-1] == "[]"
