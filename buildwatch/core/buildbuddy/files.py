"""GetFile downloads: what a URI promises, and checking that the bytes keep the promise.

A CAS URI ends in `<hash>/<size>`, so a download can be checked twice: by length and by digest.
That matters because the HTTP handler reports an error that happens after the first byte by
appending its text to an already-200 body, and a proxy may end a body early without an error.
A `/compressed-blobs/zstd/` URI returns a zstd stream of the same blob; it is decompressed on
the fly, and the checks apply to the decompressed bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, cast
from urllib.parse import unquote, urlsplit

import zstandard

from buildwatch.core.buildbuddy.errors import MalformedResponseError
from buildwatch.core.errors import BuildwatchError, ConfigError, ServerError

Consumer = Callable[[bytes], object]
"""Receives the file's bytes in order, a bounded piece at a time."""

_PIECE = 1 << 20
BATCH_BYTES = 4 << 20
"""Bytes handed to the worker thread at a time, joined: each hand-over costs the thread a wait
for the GIL, so fewer and larger is faster, while two batches alive at once stay small."""
_CAS_NAME = re.compile(
    r"(?:^|/)(?P<kind>blobs|compressed-blobs/zstd)/(?:(?P<function>[a-z0-9]+)/)?"
    r"(?P<hash>[0-9a-f]+)/(?P<size>\d+)$"
)
_VERIFIABLE = {"sha256": 64, "sha1": 40, "md5": 32, "sha384": 96, "sha512": 128}
"""Digest functions hashlib computes, with their hex length (blake3 shares sha256's length)."""


class IncompleteDownloadError(ServerError):
    """The body was shorter or longer than the size in the URI, or was cut off."""


class DigestMismatchError(ServerError):
    """The bytes received do not hash to the digest in the URI."""


@dataclass(frozen=True)
class BlobUri:
    """What a GetFile URI says about the blob it names (nothing, for AC or unusual URIs)."""

    uri: str
    size: int | None
    hash: str | None
    digest_function: str | None
    """The hashlib name to verify with; None when the URI's function cannot be checked."""
    zstd: bool

    @classmethod
    def parse(cls, uri: str) -> BlobUri:
        """Read the digest and size out of `[instance/](blobs|compressed-blobs/zstd)/…/hash/size`."""
        path = unquote(urlsplit(uri).path)
        match = _CAS_NAME.search(path)
        if match is None or "/blobs/ac/" in f"/{path}":
            return cls(uri, None, None, None, False)
        function = match["function"]
        digest = match["hash"]
        if function is None:
            function = "sha256" if len(digest) == _VERIFIABLE["sha256"] else None
        elif _VERIFIABLE.get(function) != len(digest):
            function = None
        return cls(uri, int(match["size"]), digest, function, match["kind"] != "blobs")


class VerifyingSink:
    """Counts and hashes the blob's bytes on their way to a consumer, and judges them at the end.

    Bytes beyond the promised size never reach the consumer: they are the server's appended
    error text, or a decompression bomb.
    """

    def __init__(self, blob: BlobUri, consumer: Consumer) -> None:
        self._blob = blob
        self._consumer = consumer
        self._hasher = hashlib.new(blob.digest_function) if blob.digest_function else None
        self.received = 0

    def write(self, data: bytes) -> int:
        """Pass `data` on (also the target of the zstd stream writer, hence the return value)."""
        size = self._blob.size
        if size is not None and self.received + len(data) > size:
            raise IncompleteDownloadError(
                f"GetFile sent more than the {size} bytes the URI promises: the download is corrupt"
            )
        self.received += len(data)
        if self._hasher is not None:
            self._hasher.update(data)
        self._consumer(data)
        return len(data)

    def finish(self) -> None:
        """Raise unless the blob arrived whole: its exact size and digest."""
        size = self._blob.size
        if size is not None and self.received != size:
            raise IncompleteDownloadError(
                f"GetFile ended after {self.received} of {size} bytes: the download is incomplete"
            )
        if self._hasher is not None and self._hasher.hexdigest() != self._blob.hash:
            raise DigestMismatchError(
                f"GetFile content does not match its {self._blob.digest_function} digest "
                f"{self._blob.hash}: the download is corrupt"
            )


class Decoder:
    """Feeds a response body to a `VerifyingSink`, through zstd when the URI asks for it."""

    def __init__(self, sink: VerifyingSink, zstd: bool) -> None:
        self._sink = sink
        # The stream writer hands the sink at most `_PIECE` decompressed bytes at a time (its
        # `write` is all it uses), which keeps a highly compressed blob from filling memory.
        self._writer = (
            zstandard.ZstdDecompressor().stream_writer(
                cast(IO[bytes], sink), write_size=_PIECE, closefd=False
            )
            if zstd
            else None
        )

    def feed(self, data: bytes) -> None:
        """Take the next piece of the body."""
        if self._writer is None:
            self._sink.write(data)
            return
        try:
            self._writer.write(data)
        except zstandard.ZstdError as error:
            raise MalformedResponseError(f"GetFile sent a corrupt zstd stream ({error})") from None


class Feeder:
    """Hands a response body to a `Decoder`, on the event loop or in a worker thread.

    With `offload`, the body goes to the thread in batches of about `BATCH_BYTES`, one batch in
    flight at a time: hashing and writing to disk (which release the GIL) then overlap the
    network reads instead of following them, and memory stays at two batches. Only for
    consumers that are safe to call from another thread, such as a file. `drain()` before
    trusting `sink.received` or finishing, and always leave through it (the context manager
    does), so no thread is still writing when the caller moves on.
    """

    def __init__(self, decoder: Decoder, *, offload: bool) -> None:
        self._decoder = decoder
        self._offload = offload
        self._batch: list[bytes] = []
        self._batched = 0
        self._in_flight: asyncio.Future[None] | None = None

    async def put(self, data: bytes) -> None:
        """Take the next piece of the body; raises what decoding an earlier piece raised."""
        if not self._offload:
            self._decoder.feed(data)
            return
        self._batch.append(data)
        self._batched += len(data)
        if self._batched >= BATCH_BYTES:
            await self._hand_over()

    async def drain(self) -> None:
        """Wait until every piece taken so far has been decoded."""
        await self._hand_over()
        await self._wait()

    async def _hand_over(self) -> None:
        await self._wait()
        batch, self._batch, self._batched = self._batch, [], 0
        if batch:
            self._in_flight = asyncio.get_running_loop().run_in_executor(
                None, self._decode, batch
            )

    async def _wait(self) -> None:
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            await in_flight

    def _decode(self, batch: list[bytes]) -> None:
        self._decoder.feed(b"".join(batch))

    async def __aenter__(self) -> Feeder:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.drain()
            return
        # Leaving on an error: let the thread finish its batch (its own error, if any, matters
        # less than the one already on its way) so it never writes to a file being removed.
        with contextlib.suppress(Exception):
            await self._wait()


def _start_writeback(descriptor: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range of the file to disk now, without waiting for it.

    `POSIX_FADV_DONTNEED` on dirty pages starts their writeback (and drops them from the page
    cache once written). Only a hint: where the platform lacks it (macOS, Windows) or the file
    system refuses it, nothing changes but the speed of the final `fsync`.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(descriptor, offset, length, os.POSIX_FADV_DONTNEED)


WriteMode = Literal["replace", "stream"]


def write_mode(mode: int, destination: Path) -> WriteMode:
    """How a download goes to `destination`, given its `st_mode` (from `os.stat`, which follows
    a symbolic link): a regular file is `replace`d once the download is whole; a character
    device or a FIFO (`/dev/null`, a terminal, a pipe another process reads) gets the bytes as
    they come, as standard output does, and stays what it is. Anything else is a `ConfigError`:
    replacing a directory, a socket or a disk with a file is never what was meant."""
    if stat.S_ISREG(mode):
        return "replace"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    kind = "a directory" if stat.S_ISDIR(mode) else "a block device" if stat.S_ISBLK(mode) else (
        "a socket" if stat.S_ISSOCK(mode) else "a special file"
    )
    raise ConfigError(f"{destination} is {kind}: give the name of a file to write")


def open_destination(destination: Path) -> AtomicFile | StreamedFile:
    """The file a download writes to `destination`: see `write_mode`; a new name is a new file."""
    try:
        mode = os.stat(destination).st_mode
    except FileNotFoundError:
        return AtomicFile(destination)
    except OSError as error:
        raise ConfigError(f"cannot write {destination}: {error.strerror}") from None
    if write_mode(mode, destination) == "replace":
        return AtomicFile(destination)
    return StreamedFile(destination)


class _DownloadTarget:
    """What a download writes to: `destination`, through the open binary file `_file`."""

    destination: Path
    _file: IO[bytes]

    def write(self, data: bytes) -> None:
        """Write `data` (to the temporary file, or through to the device or FIFO)."""
        try:
            self._file.write(data)
        except OSError as error:
            raise BuildwatchError(f"cannot write {self.destination}: {error.strerror}") from None


class AtomicFile(_DownloadTarget):
    """A file written beside its destination and renamed into place only when it is whole.

    Used as a context manager: leaving without `commit()` (an error, a cancel) removes the
    temporary file, so a partial download never sits under the real name.
    """

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self._temporary = destination.with_name(
            f".{destination.name}.{secrets.token_hex(4)}.part"
        )
        try:
            descriptor = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as error:
            raise ConfigError(f"cannot write {destination}: {error.strerror}") from None
        self._file = os.fdopen(descriptor, "wb", buffering=0)
        self._written = 0
        self._committed = False

    def write(self, data: bytes) -> None:
        """Write `data` to the temporary file and start putting it on disk.

        The writeback hint makes the kernel flush each piece while the next ones are still on the
        network, so the `fsync` of `commit()` finds little left to do instead of the whole file
        (on a slow disk that wait was most of a big download's time), and a big download does
        not push other programs' pages out of the page cache.
        """
        super().write(data)
        _start_writeback(self._file.fileno(), self._written, len(data))
        self._written += len(data)

    def commit(self) -> None:
        """Flush to disk and give the file its real name."""
        try:
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temporary, self.destination)
        except OSError as error:
            raise BuildwatchError(f"cannot write {self.destination}: {error.strerror}") from None
        self._committed = True

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._committed:
            self._file.close()
            self._temporary.unlink(missing_ok=True)


class StreamedFile(_DownloadTarget):
    """A character device or a FIFO, written in place as the bytes come (nothing to rename).

    It has `AtomicFile`'s interface; `commit()` only closes it.
    """

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        try:
            # Never the controlling terminal, should the device be a terminal. Opening a FIFO
            # waits for a reader, as a shell redirection does.
            descriptor = os.open(destination, os.O_WRONLY | os.O_NOCTTY)
        except OSError as error:
            raise ConfigError(f"cannot write {destination}: {error.strerror}") from None
        self._file = os.fdopen(descriptor, "wb", buffering=0)

    def commit(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> StreamedFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()
