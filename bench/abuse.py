#!/usr/bin/env python3
"""A node under abuse (issue 17), measured: run by bench/abuse.sh.

    python bench/abuse.py ACCORD_BINARY [--slow N] [--per-address N] [--flood RATE]

1. Slow connections: a separate process opens N connections (default
   10,000) from 127.0.0.2, each sending half a request line and then
   nothing, and re-opens each one a second after the node closes it. While
   it runs, a legitimate client on 127.0.0.1 makes 500 `GET /taxii2/`
   (a new connection each, bearer token, 50 per second); prints p50/p99/max
   and the node's peak VmRSS and open descriptors. `--per-address` sets
   `max_connections_per_address` (and raises `max_connections` to match),
   so that the node really holds the N connections until its header read
   timeout.
2. Wrong passwords: a separate process sends RATE (default 200) requests
   per second with wrong passwords from 127.0.0.2; the legitimate client
   POSTs envelopes of 1,000 new indicators (Basic, credentials verified
   once before), 5 without the flood and 5 with it; prints the medians and
   their ratio, and the flood's answers by status.

Prints one JSON object per part.
"""
import asyncio
import base64
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "bench-token"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def start_node(accord, workdir, limits):
    port = free_port()
    cfg = os.path.join(workdir, "n.toml")
    out = subprocess.run([accord, "init", "-o", cfg, "--user", "cert", "--name", "n",
                          "--listen", f"127.0.0.1:{port}", "--data", os.path.join(workdir, "n")],
                         capture_output=True, text=True, check=True)
    password = out.stdout.split("has password `")[1].split("`")[0]
    text = open(cfg).read()
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    text = text.replace("token_sha256 = []", f'token_sha256 = ["{digest}"]')
    for key, value in limits.items():
        lines = text.split("\n")
        found = False
        for i, line in enumerate(lines):
            if line.split("=")[0].strip() == key:
                lines[i] = f"{key} = {value}"
                found = True
        text = "\n".join(lines)
        if not found:
            text = text.replace("[limits]\n", f"[limits]\n{key} = {value}\n", 1)
    open(cfg, "w").write(text)
    node = subprocess.Popen([accord, "serve", "--config", cfg], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in node.stdout:
        if line.startswith("Accord node listening on"):
            break
    threading.Thread(target=lambda: [None for _ in node.stdout], daemon=True).start()
    return node, port, password


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def request(port, raw, timeout=30):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
    s.close()
    data = b"".join(chunks)
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - t, data


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---- attacker processes (run as `abuse.py --attack-slow PORT N` etc.) ----

async def slow_attacker(port, n, stop_after):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + stop_after
    open_now = [0]

    async def one():
        while loop.time() < deadline:
            try:
                sock = socket.socket()
                sock.setblocking(False)
                sock.bind(("127.0.0.2", 0))
                await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 10)
                r, w = await asyncio.open_connection(sock=sock)
                w.write(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                open_now[0] += 1
                try:
                    await asyncio.wait_for(r.read(), max(0.1, deadline - loop.time()))
                except Exception:
                    pass
                open_now[0] -= 1
                w.close()
            except Exception:
                pass
            await asyncio.sleep(1)

    async def report():
        while loop.time() < deadline:
            print(open_now[0], flush=True)
            await asyncio.sleep(0.5)

    await asyncio.gather(report(), *(one() for _ in range(n)))


async def flood_attacker(port, rate, stop_after):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + stop_after
    counts = {}

    async def one(i):
        try:
            sock = socket.socket()
            sock.setblocking(False)
            sock.bind(("127.0.0.2", 0))
            await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 5)
            r, w = await asyncio.open_connection(sock=sock)
            auth = basic("cert", f"wrong-{i}")
            w.write(f"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n".encode())
            head = await asyncio.wait_for(r.readline(), 30)
            code = head.split(b" ")[1].decode() if head else "closed"
            w.close()
        except Exception as e:
            code = type(e).__name__
        counts[code] = counts.get(code, 0) + 1

    i = 0
    tasks = []
    start = loop.time()
    while loop.time() < deadline:
        i += 1
        tasks.append(asyncio.ensure_future(one(i)))
        await asyncio.sleep(max(0, start + i / rate - loop.time()))
    await asyncio.gather(*tasks)
    print(json.dumps({"sent": i, "answers": counts}), flush=True)


def envelope(lines):
    return ('{"objects":[' + ",".join(lines) + "]}").encode()


def main():
    if sys.argv[1] == "--attack-slow":
        asyncio.run(slow_attacker(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
        return
    if sys.argv[1] == "--attack-flood":
        asyncio.run(flood_attacker(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
        return
    accord = sys.argv[1]
    args = sys.argv[2:]
    opt = lambda name, default: args[args.index(name) + 1] if name in args else default
    slow_n = int(opt("--slow", "10000"))
    per_address = opt("--per-address", None)
    rate = float(opt("--flood", "200"))
    me = os.path.abspath(__file__)

    # ---- 1. slow connections ----
    with tempfile.TemporaryDirectory() as d:
        limits = {}
        if per_address:
            limits = {"max_connections_per_address": per_address,
                      "max_connections": max(int(per_address), 4096)}
        node, port, _ = start_node(accord, d, limits)
        get = f"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n".encode()
        assert request(port, get)[0] == 200
        base_rss = rss_kib(node.pid)
        attack = subprocess.Popen([sys.executable, me, "--attack-slow", str(port), str(slow_n), "45"],
                                  stdout=subprocess.PIPE, text=True)
        held = [0]
        threading.Thread(target=lambda: [held.__setitem__(0, max(held[0], int(l))) for l in attack.stdout],
                         daemon=True).start()
        time.sleep(12)  # let the connections open
        lat, codes, peak_rss, peak_fds = [], {}, 0, 0
        for i in range(500):
            t0 = time.perf_counter()
            try:
                code, took, _ = request(port, get, timeout=10)
            except Exception as e:
                code, took = type(e).__name__, 10.0
            codes[code] = codes.get(code, 0) + 1
            lat.append(took * 1000)
            if i % 25 == 0:
                peak_rss = max(peak_rss, rss_kib(node.pid))
                peak_fds = max(peak_fds, fds(node.pid))
            time.sleep(max(0, 0.02 - (time.perf_counter() - t0)))
        attack.kill()
        attack.wait()
        lat.sort()
        print(json.dumps({
            "part": "slow connections", "attempted": slow_n,
            "max_connections_per_address": per_address or "default (256)",
            "attacker_open_at_once_client_view": held[0],
            "legit_get_taxii2": {"n": len(lat), "status": codes,
                                 "p50_ms": round(lat[len(lat) // 2], 2),
                                 "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2),
                                 "max_ms": round(lat[-1], 2)},
            "node_rss_mib": {"before": round(base_rss / 1024, 1), "peak": round(peak_rss / 1024, 1)},
            "node_open_fds_peak": peak_fds,
        }), flush=True)
        node.kill()
        node.wait()

    # ---- 2. wrong passwords ----
    if rate <= 0:
        return
    with tempfile.TemporaryDirectory() as d:
        node, port, password = start_node(accord, d, {})
        gen = os.path.join(d, "gen.jsonl")
        subprocess.run([accord, "generate", "--count", "10000", "--seed", "3", "-o", gen],
                       check=True, capture_output=True)
        objs = open(gen).read().split("\n")
        auth = basic("cert", password)
        head = ("POST /api1/collections/default/objects/ HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {auth}\r\nContent-Type: application/taxii+json;version=2.1\r\n"
                "Connection: close\r\nContent-Length: {}\r\n\r\n")

        def post(k):
            body = envelope(objs[k * 1000:(k + 1) * 1000])
            code, took, data = request(port, head.format(len(body)).encode() + body, timeout=60)
            assert code == 202 and b'"success_count":1000' in data, data[:300]
            return took * 1000

        request(port, f"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n".encode())
        post(0)  # warm up
        quiet = [post(k) for k in range(1, 6)]
        flood = subprocess.Popen([sys.executable, me, "--attack-flood", str(port), str(rate), "20"],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(3)
        flooded = [post(k) for k in range(6, 10)]
        flood_out = json.loads(flood.stdout.read() or "{}")
        flood.wait()
        q, f = statistics.median(quiet), statistics.median(flooded)
        print(json.dumps({
            "part": "wrong-password flood", "rate_per_s": rate,
            "post_1000_ms_without": [round(x, 1) for x in quiet],
            "post_1000_ms_with": [round(x, 1) for x in flooded],
            "median_without_ms": round(q, 1), "median_with_ms": round(f, 1),
            "ratio": round(f / q, 2), "flood": flood_out,
            "node_rss_mib": round(rss_kib(node.pid) / 1024, 1),
        }), flush=True)
        node.kill()
        node.wait()


if __name__ == "__main__":
    main()
