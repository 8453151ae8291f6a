"""Writing a streamed 200 body the way a flaky network would deliver it.

Every streamed body of both simulated servers goes through `stream_body`, which applies the
transport faults of `SimContext.faults`: a slow first byte, the framing (chunked or delimited by
closing the connection), a cut at a random byte (a clean FIN or a TCP reset) and a silent stall.
A cut lands at a random byte of the body, so mid-line, mid-event, mid-gzip stream and, with
chunked framing, mid-chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

from aiohttp import web

from buildwatch.sim.context import SimContext

Chunk = bytes | memoryview
"""A piece of a body; cached bodies are sent as memoryview slices, without copying."""
_LIVE_CUT_ALLOWANCE = 4096
"""How far past what is known a cut may land in a body that never ends (a live stream)."""


class _CloseDelimitedResponse(web.StreamResponse):
    """A body with neither a length nor chunks: it ends when the server closes the connection."""

    _length_check = False


@dataclass
class _Plan:
    """Where this response's body goes wrong, in body bytes; None: it doesn't."""

    cut_at: int | None
    stall_at: int | None
    reset: bool
    chunked: bool


async def stream_body(
    request: web.Request,
    chunks: AsyncIterable[Chunk] | Iterable[Chunk],
    ctx: SimContext,
    *,
    headers: Mapping[str, str] | None = None,
    gzip: bool = False,
    precompressed: bool = False,
    size_hint: int = 0,
    live: bool = False,
) -> web.StreamResponse:
    """Send `chunks` as a 200 body, honouring the faults in `ctx.faults`.

    With `gzip`, the body is gzipped here, flushed after every chunk so a live stream is never
    held back in the compressor. With `precompressed`, `chunks` already form a gzip stream and
    only `Content-Encoding` is set. Cuts and stalls land at a random byte of the `size_hint`
    bytes `chunks` will yield (of what is known so far, plus 4 KiB, for a `live` body that
    never ends), or of the first `faults.cut_within` bytes, never before `faults.cut_after`
    bytes. Positions count the bytes of
    `chunks`; when gzipping, the compressed write holding the position is cut in proportion, so
    cuts land mid-gzip.
    """
    faults = ctx.faults
    await ctx.pause_if_slow()
    chunked = faults.framing == "chunked" or (faults.framing == "mixed" and ctx.should(0.5))
    response = web.StreamResponse() if chunked else _CloseDelimitedResponse()
    if not chunked:
        response.force_close()
    response.headers.update(headers or {})
    if gzip or precompressed:
        response.headers["Content-Encoding"] = "gzip"
    span = faults.cut_within or size_hint + (_LIVE_CUT_ALLOWANCE if live else 0)
    earliest = min(faults.cut_after, max(span - 1, 0))
    plan = _Plan(
        cut_at=ctx.fault_rng.randrange(earliest, max(span, earliest + 1))
        if ctx.should(faults.drop) else None,
        stall_at=ctx.fault_rng.randrange(earliest, max(span, earliest + 1))
        if ctx.should(faults.stall) else None,
        reset=ctx.should(faults.rst),
        chunked=chunked,
    )
    # The client may hang up at any byte, even before the status line goes out; that ends the
    # response, it is not an error (aiohttp finishes a response whose client went away quietly).
    with contextlib.suppress(ConnectionResetError):
        await response.prepare(request)
        await _write_body(request, response, _compressed(chunks) if gzip else _plain(chunks), plan)
    return response


async def _write_body(
    request: web.Request,
    response: web.StreamResponse,
    body: AsyncIterator[tuple[int, Chunk]],
    plan: _Plan,
) -> None:
    # Positions count the bytes given to stream_body; a gzipped write is cut in proportion.
    position = 0
    async for consumed, data in body:
        end = position + consumed
        if plan.stall_at is not None and end > plan.stall_at:
            await response.write(data[: _share(data, plan.stall_at - position, consumed)])
            # Silent until the client hangs up: the server then cancels this handler.
            await asyncio.Event().wait()
        if plan.cut_at is not None and end > plan.cut_at:
            await _cut(
                request, data[: _share(data, plan.cut_at - position, consumed)], len(data), plan
            )
            return
        if data:
            await response.write(data)
        position = end
    await response.write_eof()


def _share(data: Chunk, part: int, whole: int) -> int:
    return len(data) * part // whole


async def _plain(
    chunks: AsyncIterable[Chunk] | Iterable[Chunk],
) -> AsyncIterator[tuple[int, Chunk]]:
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield len(chunk), chunk
    else:
        for chunk in chunks:
            yield len(chunk), chunk
            # Let other streams run between the chunks of a big cached body.
            await asyncio.sleep(0)


async def _compressed(
    chunks: AsyncIterable[Chunk] | Iterable[Chunk],
) -> AsyncIterator[tuple[int, Chunk]]:
    encoder = zlib.compressobj(wbits=31)
    async for consumed, chunk in _plain(chunks):
        yield consumed, encoder.compress(chunk) + encoder.flush(zlib.Z_SYNC_FLUSH)
    yield 0, encoder.flush()


async def _cut(request: web.Request, head: Chunk, full: int, plan: _Plan) -> None:
    """Send `head`, the start of a `full`-byte write, then drop the connection."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    if plan.chunked:
        # The chunk header announces the whole write, so the client is left mid-chunk.
        transport.write(f"{full:x}\r\n".encode("ascii") + bytes(head))
    else:
        transport.write(bytes(head))
    if plan.reset:
        # Let the partial bytes leave before the reset discards whatever is still buffered.
        while transport.get_write_buffer_size() and not transport.is_closing():
            await asyncio.sleep(0.001)
        sock: socket.socket | None = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
