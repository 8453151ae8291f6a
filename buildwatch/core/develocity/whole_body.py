"""Reading a response body, and knowing afterwards whether it arrived whole.

httpx ends two truncated bodies cleanly, as if they were complete: one delimited by closing the
connection (neither `Content-Length` nor chunked), cut anywhere; and a gzip stream cut before
its trailer (httpx's decoder does not check that the stream ended). A body that is framed (its
length or its last chunk tells where it ends; a cut there is a `RemoteProtocolError`) and whose
gzip stream, if any, reached its end, is whole: the server ended it on purpose.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx


class BodyReader:
    """Decodes `response`'s body as httpx would; `whole` says, once it is read, whether the
    server ended it on purpose. An encoding other than gzip (not asked for) is decoded by httpx
    and never counts as whole."""

    __slots__ = ("_ended", "_framed", "_gzip", "_response", "_unknown_encoding")

    def __init__(self, response: httpx.Response) -> None:
        headers = response.headers
        encoding = headers.get("Content-Encoding", "").strip().lower()
        self._response = response
        self._gzip = encoding == "gzip"
        self._unknown_encoding = encoding not in ("", "identity", "gzip")
        # h11 refuses a Transfer-Encoding other than chunked, so its presence means chunks.
        self._framed = "Transfer-Encoding" in headers or "Content-Length" in headers
        self._ended = False

    @property
    def whole(self) -> bool:
        """True once the body was read to an end the server chose, False before or otherwise."""
        return self._ended and self._framed and not self._unknown_encoding

    async def chunks(self) -> AsyncIterator[bytes]:
        """The decoded body, chunk by chunk (raises `httpx.DecodingError` on corrupt gzip)."""
        response = self._response
        if self._unknown_encoding:
            async for chunk in response.aiter_bytes():
                yield chunk
            return
        if not self._gzip:
            async for chunk in response.aiter_raw():
                if chunk:
                    yield chunk
            self._ended = True
            return
        # As httpx's gzip decoder, but keeping the decompressor to ask whether the stream ended.
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            async for raw in response.aiter_raw():
                chunk = decompressor.decompress(raw)
                if chunk:
                    yield chunk
            chunk = decompressor.flush()
        except zlib.error as error:
            raise httpx.DecodingError(str(error), request=response.request) from None
        if chunk:
            yield chunk
        self._ended = decompressor.eof
