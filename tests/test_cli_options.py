"""Options where users put them: before the command name or after it, never ignored; and the
configuration file a command reads, named or not. Whole processes against the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=3, builds=12)) as simulator:
        yield simulator


def buildwatch(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", *args], env={**os.environ, **(env or {})},
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
    )


def server(sim: SimulatorThread) -> dict[str, str]:
    """The simulator's Develocity server and token, from the environment."""
    return {
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
    }


def config_file(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"BUILDWATCH_CONFIG": str(path)}


def test_a_profile_given_before_the_command_is_the_one_used(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    env = {
        **config_file(tmp_path, f'[profiles.other.develocity]\nurl = "{sim.develocity_url}"\n'),
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
    }
    before = buildwatch("--profile", "other", "tail", "--since", "0", "--json", env=env)
    after = buildwatch("tail", "--profile", "other", "--since", "0", "--json", env=env)

    assert (before.returncode, before.stderr) == (0, "")
    assert before.stdout == after.stdout != ""


@pytest.mark.parametrize("since", ["0", "now"])
def test_since_given_before_the_command_is_the_one_used(sim: SimulatorThread, since: str) -> None:
    before = buildwatch("--since", since, "tail", "--json", env=server(sim))
    after = buildwatch("tail", "--since", since, "--json", env=server(sim))

    assert (before.returncode, before.stderr) == (0, "")
    assert before.stdout.splitlines() == after.stdout.splitlines()
    assert len(before.stdout.splitlines()) == (12 if since == "0" else 0)


def test_an_option_given_both_before_and_after_takes_the_one_after(sim: SimulatorThread) -> None:
    done = buildwatch("--since", "now", "tail", "--since", "0", "--json", env=server(sim))

    assert len(done.stdout.splitlines()) == 12


def test_debug_may_follow_the_command(sim: SimulatorThread) -> None:
    done = buildwatch("tail", "--since", "now", "--debug", env=server(sim))

    assert done.returncode == 0
    assert "GET" in done.stderr and "sim-token" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--offline", "tail"], "buildwatch: --offline does not apply to `buildwatch tail`"),
        (["--since", "2h", "bb", "log", "x"],
         "buildwatch: --since does not apply to `buildwatch bb log`"),
        (["--profile", "p", "sim"], "buildwatch: --profile does not apply to `buildwatch sim`"),
        (["--since", "2h", "tail", "--since-build", "abc"],
         "buildwatch: --since and --since-build cannot be given together"),
    ],
)
def test_an_option_before_a_command_that_cannot_use_it_is_refused_in_one_line(
    args: list[str], message: str
) -> None:
    done = buildwatch(*args)

    assert done.returncode == 2
    assert done.stderr.splitlines() == [message]


def test_a_config_without_a_default_profile_leaves_the_servers_to_the_environment(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    env = {**config_file(tmp_path, '[profiles.other.develocity]\nurl = "https://elsewhere"\n'),
           **server(sim)}

    done = buildwatch("tail", "--since", "0", "--json", env=env)

    assert (done.returncode, done.stderr) == (0, "")
    assert len(done.stdout.splitlines()) == 12


def test_a_config_file_named_but_missing_is_said_in_one_line(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    missing = tmp_path / "typo.toml"

    done = buildwatch("tail", "--since", "0", env={**server(sim), "BUILDWATCH_CONFIG": str(missing)})

    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        f"buildwatch: warning: BUILDWATCH_CONFIG names {missing}, which does not exist; "
        "going on without it"
    ]


def test_config_edit_creates_a_missing_named_file_without_a_warning(tmp_path: Path) -> None:
    missing = tmp_path / "new.toml"
    editor = f"{sys.executable} -c pass"

    done = buildwatch("config", "edit", env={"BUILDWATCH_CONFIG": str(missing), "EDITOR": editor,
                                             "VISUAL": ""})

    assert (done.returncode, done.stderr) == (0, f"{missing}: OK\n")
    assert missing.exists()
