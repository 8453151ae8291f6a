"""The BuildBuddy client against the simulator: reads, paging, retries, files and deletes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.client import FIRST_LOG_PAGE, BuildBuddyClient
from buildwatch.core.buildbuddy.errors import RetryableError
from buildwatch.core.buildbuddy.files import IncompleteDownloadError
from buildwatch.core.buildbuddy.models import Action, Invocation, InvocationStatus, TargetStatus
from buildwatch.core.buildbuddy.triage import is_running
from buildwatch.core.connection import BuildBuddyConnection
from buildwatch.core.errors import AuthError, ConfigError, NotFoundError, ServerError
from buildwatch.core.secrets import Secret
from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)
SEED = 1


class RecordingBackoff(Backoff):
    """Fast delays, remembering each `Retry-After` the client passed on."""

    def __init__(self) -> None:
        super().__init__(base_s=0.01, cap_s=0.02)
        self.hints: list[float] = []
        RecordingBackoff.last = self

    def next_delay(self, at_least_s: float = 0.0) -> float:
        self.hints.append(at_least_s)
        return super().next_delay(at_least_s)

    last: RecordingBackoff


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=SEED)) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def no_faults(sim: SimulatorThread) -> Iterator[None]:
    yield
    sim.set_faults(FaultSpec())


def connect(sim: SimulatorThread, key: str | None = "sim-api-key") -> BuildBuddyClient:
    connection = BuildBuddyConnection(sim.buildbuddy_url, Secret(key) if key else None)
    return BuildBuddyClient(connection, backoff=RecordingBackoff, live_poll_s=0.05)


@pytest.fixture
async def client(sim: SimulatorThread) -> AsyncIterator[BuildBuddyClient]:
    async with connect(sim) as opened:
        yield opened


def calls(sim: SimulatorThread, method: str) -> int:
    return sum(1 for record in sim.requests if record.path == f"/api/v1/{method}")


async def invocations_of(client: BuildBuddyClient, commit: int) -> list[Invocation]:
    sha = World(SEED).commits[commit].sha
    return [invocation async for invocation in client.invocations(commit_sha=sha)]


async def finished_failing_ci_run(client: BuildBuddyClient) -> Invocation:
    for index in range(len(World(SEED).commits)):
        for invocation in await invocations_of(client, index):
            if invocation.role == "CI" and invocation.bazel_exit_code == "TESTS_FAILED":
                return invocation
    raise AssertionError("the simulator has no finished CI run with failed tests")


async def running_ci_run(client: BuildBuddyClient) -> Invocation:
    for invocation in await invocations_of(client, -1):
        if invocation.role == "CI" and is_running(invocation):
            return invocation
    raise AssertionError("the newest commit has no running CI invocation")


async def uploaded_test_log(client: BuildBuddyClient) -> tuple[Action, str]:
    invocation = await finished_failing_ci_run(client)
    async for action in client.actions(invocation.invocation_id):
        for file in action.files:
            if file.name == "test.log" and file.uri.startswith("bytestream://"):
                return action, file.uri
    raise AssertionError("no uploaded test.log")


async def test_invocations_of_a_commit_all_carry_that_commit(client: BuildBuddyClient) -> None:
    found = await invocations_of(client, 5)
    assert found
    assert {invocation.commit_sha for invocation in found} == {World(SEED).commits[5].sha}


async def test_an_invocation_is_found_by_its_id(client: BuildBuddyClient) -> None:
    wanted = (await invocations_of(client, 5))[0]
    found = [i async for i in client.invocations(invocation_id=wanted.invocation_id)]
    assert [i.invocation_id for i in found] == [wanted.invocation_id]


async def test_an_unknown_invocation_id_finds_nothing(client: BuildBuddyClient) -> None:
    found = [i async for i in client.invocations(invocation_id="00000000-dead-4000-8000-000000000000")]
    assert found == []


async def test_an_invocation_selector_without_id_or_commit_is_refused_before_sending(
    sim: SimulatorThread, client: BuildBuddyClient
) -> None:
    before = calls(sim, "GetInvocation")
    with pytest.raises(ConfigError):
        client.invocations()
    assert calls(sim, "GetInvocation") == before


async def test_check_access_passes_with_the_right_key(client: BuildBuddyClient) -> None:
    await client.check_access()


async def test_a_wrong_key_is_an_auth_error_sent_once_and_never_shown(sim: SimulatorThread) -> None:
    before = calls(sim, "GetInvocation")
    async with connect(sim, "wrong-key-0123456789") as client:
        with pytest.raises(AuthError) as raised:
            await client.check_access()
    assert calls(sim, "GetInvocation") == before + 1
    assert "wrong-key-0123456789" not in str(raised.value)
    assert "API key" in str(raised.value)


async def test_a_missing_key_is_an_auth_error_without_a_request(sim: SimulatorThread) -> None:
    before = len(sim.requests)
    async with connect(sim, None) as client:
        with pytest.raises(AuthError, match="BUILDWATCH_BUILDBUDDY_API_KEY"):
            await client.check_access()
    assert len(sim.requests) == before


async def test_targets_can_be_narrowed_by_tag(client: BuildBuddyClient) -> None:
    invocation = await finished_failing_ci_run(client)
    tagged = [t async for t in client.targets(invocation.invocation_id, tag="small")]
    assert tagged
    assert all("small" in target.tags for target in tagged)


async def test_targets_can_be_narrowed_by_label(client: BuildBuddyClient) -> None:
    invocation = await finished_failing_ci_run(client)
    everything = [t async for t in client.targets(invocation.invocation_id)]
    label = everything[0].label
    found = [t async for t in client.targets(invocation.invocation_id, label=label)]
    assert [t.label for t in found] == [label]


async def test_targets_can_be_narrowed_by_target_id(client: BuildBuddyClient) -> None:
    invocation = await finished_failing_ci_run(client)
    target_id = [t async for t in client.targets(invocation.invocation_id)][-1].target_id
    found = [t async for t in client.targets(invocation.invocation_id, target_id=target_id)]
    assert [t.target_id for t in found] == [target_id]


async def test_a_failed_ci_run_has_failed_targets(client: BuildBuddyClient) -> None:
    invocation = await finished_failing_ci_run(client)
    statuses = {t.status async for t in client.targets(invocation.invocation_id)}
    assert statuses & {TargetStatus.FAILED, TargetStatus.TIMED_OUT}


async def test_targets_of_an_unknown_invocation_are_not_found(client: BuildBuddyClient) -> None:
    with pytest.raises(NotFoundError, match="invocation not found"):
        [t async for t in client.targets("00000000-dead-4000-8000-000000000000")]


async def test_actions_can_be_narrowed_by_target_configuration_and_action(
    client: BuildBuddyClient,
) -> None:
    action, _ = await uploaded_test_log(client)
    found = [
        a async for a in client.actions(
            action.invocation_id, target_id=action.target_id,
            configuration_id=action.configuration_id, action_id=action.action_id,
        )
    ]
    assert {(a.target_id, a.configuration_id, a.action_id) for a in found} == {
        (action.target_id, action.configuration_id, action.action_id)
    }


async def read_through_a_burst(sim: SimulatorThread, faults: str) -> list[float]:
    """Read once while the simulator refuses a burst of requests, then lets one through.

    Returns the `Retry-After` hints the client saw.
    """
    sim.set_faults(FaultSpec.parse(faults))
    connection = BuildBuddyConnection(sim.buildbuddy_url, Secret("sim-api-key"))
    try:
        async with BuildBuddyClient(connection, backoff=RecordingBackoff) as client:
            assert await invocations_of(client, 3)
    finally:
        sim.set_faults(FaultSpec())
    return RecordingBackoff.last.hints


async def test_a_burst_of_429s_on_a_read_is_retried_honouring_retry_after(
    sim: SimulatorThread,
) -> None:
    before = calls(sim, "GetInvocation")
    hints = await read_through_a_burst(sim, "throttle=1,burst=3")
    assert calls(sim, "GetInvocation") == before + 4
    assert hints == [1.0, 1.0, 1.0]


async def test_a_burst_of_unavailable_on_a_read_is_retried(sim: SimulatorThread) -> None:
    before = calls(sim, "GetInvocation")
    await read_through_a_burst(sim, "unavailable=1,burst=3")
    assert calls(sim, "GetInvocation") == before + 4


async def test_a_burst_of_quota_errors_on_a_read_is_retried(sim: SimulatorThread) -> None:
    before = calls(sim, "GetInvocation")
    await read_through_a_burst(sim, "quota=1,burst=2")
    assert calls(sim, "GetInvocation") == before + 3


async def test_reads_give_up_after_the_last_attempt(sim: SimulatorThread, client: BuildBuddyClient) -> None:
    sim.set_faults(FaultSpec.parse("unavailable=1,burst=6"))
    before = calls(sim, "GetInvocation")
    with pytest.raises(RetryableError, match="gave up after 6 tries"):
        await client.check_access()
    assert calls(sim, "GetInvocation") == before + 6


async def test_a_delete_that_meets_unavailable_is_sent_exactly_once(
    sim: SimulatorThread, client: BuildBuddyClient
) -> None:
    _, uri = await uploaded_test_log(client)
    sim.set_faults(FaultSpec.parse("unavailable=1"))
    before = calls(sim, "DeleteFile")
    with pytest.raises(ServerError, match="never retried"):
        await client.delete_file(uri)
    assert calls(sim, "DeleteFile") == before + 1


async def test_a_throttled_delete_is_not_retried_either(
    sim: SimulatorThread, client: BuildBuddyClient
) -> None:
    _, uri = await uploaded_test_log(client)
    sim.set_faults(FaultSpec.parse("throttle=1"))
    before = calls(sim, "DeleteFile")
    with pytest.raises(ServerError) as raised:
        await client.delete_file(uri)
    assert not isinstance(raised.value, RetryableError)
    assert calls(sim, "DeleteFile") == before + 1


async def test_a_deleted_file_can_no_longer_be_fetched(client: BuildBuddyClient) -> None:
    invocation = await finished_failing_ci_run(client)
    xml_files = [
        file.uri
        async for action in client.actions(invocation.invocation_id)
        for file in action.files
        if file.name == "test.xml" and file.uri.startswith("bytestream://")
    ]
    uri = xml_files[0]
    await client.get_file(uri, lambda data: None)
    await client.delete_file(uri)
    with pytest.raises(NotFoundError):
        await client.get_file(uri, lambda data: None)


async def test_a_downloaded_file_matches_the_digest_in_its_uri(
    client: BuildBuddyClient, tmp_path: Path
) -> None:
    _, uri = await uploaded_test_log(client)
    destination = tmp_path / "test.log"
    size = await client.download(uri, destination)
    data = destination.read_bytes()
    assert uri.endswith(f"/{hashlib.sha256(data).hexdigest()}/{size}")
    assert len(data) == size


async def test_a_zstd_uri_is_decompressed_to_the_same_bytes(client: BuildBuddyClient) -> None:
    _, uri = await uploaded_test_log(client)
    plain, unpacked = bytearray(), bytearray()
    await client.get_file(uri, plain.extend)
    await client.get_file(uri.replace("/blobs/", "/compressed-blobs/zstd/"), unpacked.extend)
    assert unpacked == plain


async def test_a_truncated_body_is_reported_and_leaves_no_file(
    sim: SimulatorThread, client: BuildBuddyClient, tmp_path: Path
) -> None:
    _, uri = await uploaded_test_log(client)
    sim.set_faults(FaultSpec.parse("truncate-file=1"))
    destination = tmp_path / "test.log"
    with pytest.raises(IncompleteDownloadError, match=r"incomplete|corrupt"):
        await client.download(uri, destination)
    assert list(tmp_path.iterdir()) == []


async def test_a_body_cut_by_a_dropped_connection_is_reported(
    sim: SimulatorThread, client: BuildBuddyClient, tmp_path: Path
) -> None:
    _, uri = await uploaded_test_log(client)
    sim.set_faults(FaultSpec.parse("drop=1,cut-within=64"))
    with pytest.raises(IncompleteDownloadError):
        await client.download(uri, tmp_path / "test.log")
    assert list(tmp_path.iterdir()) == []


async def test_a_missing_blob_is_not_found_without_retrying(
    sim: SimulatorThread, client: BuildBuddyClient
) -> None:
    _, uri = await uploaded_test_log(client)
    head, _, size = uri.rpartition("/")
    missing = f"{head.rpartition('/')[0]}/{'0' * 64}/{size}"
    before = calls(sim, "GetFile")
    with pytest.raises(NotFoundError):
        await client.get_file(missing, lambda data: None)
    assert calls(sim, "GetFile") == before + 1


async def test_a_finished_log_is_read_from_its_first_chunk_to_its_end(
    client: BuildBuddyClient,
) -> None:
    invocation = await finished_failing_ci_run(client)
    chunks = [chunk async for chunk in client.log(invocation.invocation_id)]
    assert chunks[0].page_token == FIRST_LOG_PAGE
    assert chunks[-1].last
    assert not any(chunk.live for chunk in chunks)
    text = "".join(chunk.contents for chunk in chunks)
    assert invocation.invocation_id in text.splitlines()[0]
    assert "Build completed" in text


async def test_the_log_of_an_unknown_invocation_is_not_found(client: BuildBuddyClient) -> None:
    with pytest.raises(NotFoundError):
        [chunk async for chunk in client.log("00000000-dead-4000-8000-000000000000")]


async def test_a_running_log_without_follow_ends_on_its_live_chunk(client: BuildBuddyClient) -> None:
    invocation = await running_ci_run(client)
    chunks = [chunk async for chunk in client.log(invocation.invocation_id)]
    assert chunks[-1].live
    assert [chunk.live for chunk in chunks[:-1]] == [False] * (len(chunks) - 1)


async def test_following_a_running_log_polls_its_live_chunk_with_the_same_token(
    sim: SimulatorThread, client: BuildBuddyClient
) -> None:
    invocation = await running_ci_run(client)
    live = []
    async for chunk in client.log(invocation.invocation_id, follow=True):
        if chunk.live:
            live.append(chunk)
        if len(live) == 3:
            break
    assert len({chunk.page_token for chunk in live}) == 1


async def test_an_in_progress_invocation_is_reported_as_running(client: BuildBuddyClient) -> None:
    invocation = await running_ci_run(client)
    assert invocation.status is InvocationStatus.PARTIAL_INVOCATION_STATUS
    assert invocation.duration is None
