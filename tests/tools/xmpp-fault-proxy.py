#!/usr/bin/env python3
"""xmpp-fault-proxy.py - a TCP proxy in front of an XMPP server that drops the connection
whenever a given text passes from client to server (the stanza carrying it never arrives),
the way a server closes a stream it finds invalid. For tests (notifier_poison_send.sh).

  xmpp-fault-proxy.py --target HOST:PORT --drop-on TEXT [--drop-on TEXT ...]
                      [--drop-late N:TEXT ...] [--port-file FILE] [--log FILE]

--drop-late N:TEXT drops the connection the same way the first N-1 times TEXT passes, and
from the Nth time on forwards it to the server first, then drops the connection: the server
took the message, the client never hears back.

Listens on a free loopback port (written to --port-file once listening); each drop is one
line "drop <text>" in --log.
"""
import argparse
import asyncio
import sys


async def pipe(reader, writer, markers, on_drop, tail=256):
    """Copy reader -> writer; with markers, check each chunk (with the previous chunk's tail,
    so a marker split across reads is seen) before forwarding it. on_drop(marker) returns
    True when the chunk is to be forwarded before the drop."""
    prev = b""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if markers:
                window = prev + data
                hit = next((m for m in markers if m in window), None)
                if hit is not None:
                    if on_drop(hit):
                        writer.write(data)
                        await writer.drain()
                    return True
                prev = window[-tail:]
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    return False


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--drop-on", action="append", default=[])
    ap.add_argument("--drop-late", action="append", default=[])
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    late = {}
    for spec in a.drop_late:
        n, _, text = spec.partition(":")
        late[text.encode()] = int(n)
    markers = [m.encode() for m in a.drop_on] + list(late)
    hits = {}
    log = open(a.log, "a", buffering=1) if a.log else sys.stderr

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection(host, int(port))
        except OSError as e:
            log.write(f"connect {a.target}: {e}\n")
            cwriter.close()
            return

        def on_drop(m):
            hits[m] = hits.get(m, 0) + 1
            forward = m in late and hits[m] >= late[m]
            log.write(f"drop {m.decode(errors='replace')}{' after forwarding' if forward else ''}\n")
            return forward

        up = asyncio.ensure_future(pipe(creader, swriter, markers, on_drop))
        down = asyncio.ensure_future(pipe(sreader, cwriter, [], on_drop))
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        for t in (up, down):
            t.cancel()
        for w in (cwriter, swriter):
            try:
                w.transport.abort()  # no closing </stream:stream>: the connection is just lost
            except Exception:
                pass

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    lport = srv.sockets[0].getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{lport}\n")
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    log.write(f"listening on 127.0.0.1:{lport} -> {a.target}\n")
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
