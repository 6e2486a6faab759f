"""Debian's python3-websockets against examples/chat's /echo: text, binary, large and compressed messages,
a ping, a clean close. Usage: client.py URL [CA_FILE]; prints "ok ..." or exits 1 naming the failed check."""
import asyncio
import ssl
import sys

import websockets


async def session(url, ssl_ctx, compression):
    async with websockets.connect(url, ssl=ssl_ctx, compression=compression, max_size=None) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions") or ""
        assert (compression is not None) == ("permessage-deflate" in ext), "negotiated: " + ext
        await ws.send("hello keel")
        assert await ws.recv() == "hello keel", "text echo"
        await ws.send(b"\x00\x01\xfe\xff")
        assert await ws.recv() == b"\x00\x01\xfe\xff", "binary echo"
        large = bytes((i * 13) & 0xFF for i in range(2 << 20))
        await ws.send(large)
        assert await ws.recv() == large, "large binary echo"
        text = "ünïcødé ✓ " * 30000
        await ws.send(text)
        assert await ws.recv() == text, "large text echo"
        # A fragmented message (an async iterator is sent as fragments).
        async def parts():
            for p in ["frag", "men", "ted"]:
                yield p
        await ws.send(parts())
        assert await ws.recv() == "fragmented", "fragmented echo"
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, 5)
        await ws.close(1000, "done")
        assert ws.close_code == 1000, "close code %s" % ws.close_code


async def main():
    url = sys.argv[1]
    ssl_ctx = None
    if len(sys.argv) > 2:
        ssl_ctx = ssl.create_default_context(cafile=sys.argv[2])
    await session(url, ssl_ctx, None)
    await session(url, ssl_ctx, "deflate")
    print("ok python " + ("wss" if ssl_ctx else "ws"))


try:
    asyncio.run(main())
except Exception as e:  # noqa: BLE001 - report any failure as the test's failure
    print("python client: %r" % e, file=sys.stderr)
    sys.exit(1)
