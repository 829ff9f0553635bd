#!/usr/bin/env python3
"""10,000 concurrent connections against a running node: it stays up, its
memory stays bounded, and it serves again once they go.

    python bench/connections.py HOST PORT TOKEN [N]

Opens N connections at once (asyncio, 10 s connect timeout each) that send
nothing; the node accepts up to its `max_connections` and leaves the rest in
the kernel's backlog. Then one real request (bearer TOKEN) is made while they
are open, all are closed, and a last request must succeed. Prints JSON.
"""
import asyncio
import json
import sys
import time

host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 10000


async def hold(results):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        results.append(w)
    except Exception as e:  # refused or timed out: counted, not fatal
        results.append(e)


async def request():
    t = time.perf_counter()
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    w.write(f"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode())
    await w.drain()
    head = await asyncio.wait_for(r.readline(), 120)
    w.close()
    return head.decode().strip(), round(time.perf_counter() - t, 3)


async def main():
    results = []
    await asyncio.gather(*(hold(results) for _ in range(n)))
    opened = [x for x in results if not isinstance(x, Exception)]
    during = None
    try:
        during = await asyncio.wait_for(request(), 15)
    except Exception as e:
        during = ("no answer while %d connections are held: %s" % (len(opened), type(e).__name__), None)
    for w in opened:
        w.close()
    await asyncio.sleep(1)
    after = await request()
    print(json.dumps({"attempted": n, "connected": len(opened), "failed": n - len(opened),
                      "request_while_held": during, "request_after": after}))

asyncio.run(main())
