"""The simulated cache: blobs addressed by digest, the URIs that name them, and deletion.

Every file an action or invocation lists is stored here under its real SHA-256, so a client can
verify what GetFile returns. Small blobs are kept as bytes; the benchmark's big blob is a
repeated deterministic pattern produced on demand, so it costs no memory while it streams.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import zstandard

CACHE_HOST = "remote.buildbuddy.io"
"""The cache host Bazel's bytestream URIs name; the API server never dials it here."""
_STREAM_PIECE = 1 << 20
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_FINAL_BLOCK = b"\x03\x00"
"""An empty, final, fixed-Huffman deflate block."""
_HASH_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32, "sha384": 96, "sha512": 128, "blake3": 64}
_FUNCTIONS = "|".join(_HASH_LENGTHS)
_CAS_NAME = re.compile(
    rf"^(?:(?P<instance>.*?)/)?(?P<kind>blobs|compressed-blobs/zstd)/"
    rf"(?:(?P<function>{_FUNCTIONS})/)?(?P<hash>[0-9a-f]+)/(?P<size>\d+)$"
)
_AC_NAME = re.compile(
    rf"^(?:(?P<instance>.*?)/)?blobs/ac/(?:(?P<function>{_FUNCTIONS})/)?"
    rf"(?P<hash>[0-9a-f]+)/(?P<size>\d+)$"
)
_LOOKS_LIKE_AC = re.compile(r"(?:^|/)blobs/ac/")
_LOOKS_LIKE_CAS = re.compile(r"(?:^|/)(?:blobs|compressed-blobs/zstd)/")


class BadUri(ValueError):
    """The URI does not parse as Go's `url.Parse` would accept it."""


@dataclass(frozen=True)
class Digest:
    """Where a blob lives in the cache: its instance, digest function, hash and size."""

    instance: str
    function: str
    hash: str
    size: int


@dataclass(frozen=True)
class ResourceName:
    """A parsed bytestream or action-cache resource name."""

    digest: Digest
    action_cache: bool
    zstd: bool


@dataclass(frozen=True)
class Blob:
    """Content stored in the cache. `pattern` blobs repeat `data` until `size` bytes."""

    data: bytes
    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> Blob:
        """A blob holding `data`."""
        return cls(data, len(data), hashlib.sha256(data).hexdigest())

    def pieces(self) -> Iterator[bytes]:
        """The content in pieces of at most 1 MiB; a repeated pattern is yielded, not copied."""
        sent = 0
        while sent < self.size:
            piece = self.data[: min(_STREAM_PIECE, self.size - sent)]
            yield piece
            sent += len(piece)

    def gzip_pieces(self) -> Iterator[bytes]:
        """The content as a gzip stream, at the speed of memory for a repeated pattern.

        Each piece is deflated on its own after a full flush, so the compressed form of the
        repeated block is computed once and can be sent again wherever the block recurs.
        """
        yield _GZIP_HEADER
        crc = 0
        repeated: bytes | None = None
        for piece in self.pieces():
            crc = zlib.crc32(piece, crc)
            if piece is self.data:
                repeated = repeated or _deflate_alone(piece)
                yield repeated
            else:
                yield _deflate_alone(piece)
        yield _FINAL_BLOCK + struct.pack("<II", crc, self.size & 0xFFFFFFFF)

    def zstd_pieces(self) -> Iterator[bytes]:
        """The content as one zstd frame, compressed piece by piece."""
        compressor = zstandard.ZstdCompressor(level=3).compressobj(size=self.size)
        for piece in self.pieces():
            out = compressor.compress(piece)
            if out:
                yield out
        yield compressor.flush()


def _deflate_alone(data: bytes) -> bytes:
    """Raw deflate of `data` that neither refers to nor ends the data around it."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def bytestream_uri(instance: str, blob: Blob) -> str:
    """The URI Bazel publishes for a blob uploaded under `instance`."""
    prefix = f"{instance}/" if instance else ""
    return f"bytestream://{CACHE_HOST}/{prefix}blobs/{blob.sha256}/{blob.size}"


@functools.lru_cache(maxsize=4)
def pattern_blob(size: int, seed: str) -> Blob:
    """A `size`-byte text blob repeating a 1 MiB block of log lines; hashed once per process."""
    rng = random.Random(f"pattern:{seed}")
    lines = []
    length = 0
    while length < _STREAM_PIECE - 200:
        line = (f"{rng.randrange(1 << 32):08x} soak: ledger batch {rng.randrange(10**6)} "
                f"committed, heap {rng.randint(600, 900)} MB\n")
        lines.append(line)
        length += len(line)
    lines.append(" " * (_STREAM_PIECE - length - 1) + "\n")
    block = "".join(lines).encode()
    blob = Blob(block, size, "")
    digest = hashlib.sha256()
    for piece in blob.pieces():
        digest.update(piece)
    return Blob(block, size, digest.hexdigest())


def request_uri(uri: str) -> str:
    """The path part of a URI without its leading slash, the way the server names resources.

    Raises `BadUri` for what Go's `url.Parse` refuses: control characters, bad escapes, a
    missing scheme before a colon, a non-numeric port.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        raise BadUri("invalid control character in URL")
    if re.search(r"%(?![0-9A-Fa-f]{2})", uri):
        raise BadUri("invalid URL escape")
    if uri.startswith(":"):
        raise BadUri("missing protocol scheme")
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 (raises for a non-numeric port)
    except ValueError:
        raise BadUri("invalid port") from None
    path = parts.path if parts.scheme or parts.netloc or uri.startswith("/") else uri.split("?")[0]
    return unquote(path).removeprefix("/")


def parse_resource_name(name: str) -> ResourceName | None:
    """Parse `[instance/](blobs|compressed-blobs/zstd)[/ac]/[function/]hash/size`; None if not."""
    action_cache = _AC_NAME.match(name)
    match = action_cache or _CAS_NAME.match(name)
    if match is None:
        return None
    function = match["function"] or "sha256"
    if len(match["hash"]) != _HASH_LENGTHS[function]:
        return None
    digest = Digest(match["instance"] or "", function, match["hash"], int(match["size"]))
    zstd = action_cache is None and match["kind"] != "blobs"
    return ResourceName(digest, action_cache is not None, zstd)


def delete_target(uri: str) -> tuple[ResourceName | None, str]:
    """What a DeleteFile URI names, or None and the server's InvalidArgument message."""
    try:
        name = request_uri(uri)
    except BadUri:
        return None, "Invalid URL"
    if _LOOKS_LIKE_AC.search(name):
        parsed = parse_resource_name(name)
        if parsed is None or not parsed.action_cache:
            return None, ("Invalid URL. Does not match expected actioncache URI pattern: "
                          f"Unparsable actioncache resource name: {name}")
        return parsed, ""
    if _LOOKS_LIKE_CAS.search(name):
        parsed = parse_resource_name(name)
        if parsed is None:
            return None, ("Invalid URL. Does not match expected CAS URI pattern: "
                          f"Unparsable resource name: {name}")
        return parsed, ""
    return None, "Invalid URL. Only actioncache and CAS URIs supported."


class Cache:
    """The content-addressed store of one simulator: blobs by digest, minus deleted ones."""

    def __init__(self) -> None:
        self._blobs: dict[Digest, Blob] = {}
        self._deleted: set[Digest] = set()

    def put(self, instance: str, blob: Blob) -> None:
        """Store `blob` under `instance`, unless that digest was deleted (it stays deleted)."""
        digest = Digest(instance, "sha256", blob.sha256, blob.size)
        if digest not in self._deleted:
            self._blobs[digest] = blob

    def get(self, digest: Digest) -> Blob | None:
        """The blob with this digest, unless it was never stored or has been deleted."""
        return self._blobs.get(digest)

    def delete(self, digest: Digest) -> None:
        """Remove the blob; deleting a missing one is not an error."""
        self._blobs.pop(digest, None)
        self._deleted.add(digest)
