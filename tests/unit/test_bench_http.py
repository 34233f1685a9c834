"""The benchmarks' HTTP client keeps the keep-alive contract with a server: a connection the
server closes when idle is never used again (the request sent on it would be lost and
counted as the server's failure)."""

from __future__ import annotations

import asyncio

import pytest
from bench._http import Pool, request_bytes

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#: the test server closes a connection idle this long (uvicorn: 5 s)
SERVER_IDLE = 0.3


async def _serve(opened: list[int]) -> asyncio.Server:
    """Answers every request with 200, and closes a connection idle for SERVER_IDLE."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.append(1)
        try:
            while True:
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SERVER_IDLE)
                writer.write(RESPONSE)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def _twice(expiry: float, pause: float) -> tuple[list[int | str], int]:
    opened: list[int] = []
    server = await _serve(opened)
    port = server.sockets[0].getsockname()[1]
    pool = Pool("127.0.0.1", port, limit=4, expiry=expiry)
    request = request_bytes("GET", "/", f"127.0.0.1:{port}", {}, b"")
    answers: list[int | str] = []
    try:
        for wait in (0.0, pause):
            await asyncio.sleep(wait)
            connection = await pool.take()
            try:
                answers.append(await connection.exchange(request))
            except asyncio.IncompleteReadError:
                answers.append("lost")
                connection.close()
                await pool.give(None)
            else:
                await pool.give(connection)
    finally:
        pool.close()
        server.close()
        await server.wait_closed()
    return answers, len(opened)


def test_a_connection_is_reused_while_the_server_keeps_it_open() -> None:
    answers, opened = asyncio.run(_twice(expiry=SERVER_IDLE * 0.5, pause=0.0))
    assert answers == [200, 200]
    assert opened == 1


@pytest.mark.parametrize("expiry", [SERVER_IDLE * 0.5, 60.0])
def test_a_connection_the_server_closed_when_idle_is_not_reused(expiry: float) -> None:
    """Dropped for its age (expiry below the server's) or because its end was read."""
    answers, opened = asyncio.run(_twice(expiry=expiry, pause=SERVER_IDLE * 2))
    assert answers == [200, 200]
    assert opened == 2
