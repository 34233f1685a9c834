"""A lean HTTP/1.1 client for the benchmarks' loopback load, on asyncio's streams.

A load generator must cost less than the server it measures. httpx's ``AsyncClient`` spent
about 3 ms of this 2-core machine's CPU per request (three times the server's decide) and,
offered 500 requests a second, fell behind on its own (its pool scans every waiting
request), so it measured itself. This client does what wrk does: requests are prepared
bytes, a response is read by its ``Content-Length``, connections are kept alive.
"""

from __future__ import annotations

import asyncio
import time

#: Seconds a connection may sit idle before the pool drops it rather than reuse it. The
#: server closes a keep-alive connection idle for 5 s (uvicorn's default); a request sent
#: on one it is closing is lost (the answer ends early), as httpx's ``keepalive_expiry``
#: (5 s) also avoids.
KEEP_ALIVE_EXPIRY = 4.0


def request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 request, ready to send (``Content-Length`` added)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection: send a prepared request, read one response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    def reusable(self, expiry: float = KEEP_ALIVE_EXPIRY) -> bool:
        """Not closed by the server, and not idle long enough that it may be closing it."""
        fresh = time.monotonic() - self.idle_since < expiry
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        """The response's status code (its body read and dropped)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Idle connections, opened on demand up to ``limit``; callers beyond it wait."""

    def __init__(self, host: str, port: int, limit: int, expiry: float = KEEP_ALIVE_EXPIRY) -> None:
        self.host, self.port, self.limit, self.expiry = host, port, limit, expiry
        self.idle: list[Connection] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def take(self) -> Connection:
        async with self.freed:
            while True:
                while self.idle:
                    connection = self.idle.pop()
                    if connection.reusable(self.expiry):
                        return connection
                    connection.close()  # its slot is taken by the one opened below
                    self.opened -= 1
                if self.opened < self.limit:
                    break
                await self.freed.wait()
            self.opened += 1
        try:
            return await Connection.open(self.host, self.port)
        except OSError:
            async with self.freed:
                self.opened -= 1
                self.freed.notify()
            raise

    async def give(self, connection: Connection | None) -> None:
        """Back to the pool; ``None`` for a connection that broke (its slot is freed)."""
        async with self.freed:
            if connection is None:
                self.opened -= 1
            else:
                connection.idle_since = time.monotonic()
                self.idle.append(connection)
            self.freed.notify()

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
