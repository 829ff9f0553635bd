"""The disk's own flush latency, for reading latency figures beside it.

Overwrites one 16 KiB block (one SQLite page here) of a preallocated file
and times the fdatasync, about 500 times a second for SECONDS seconds,
with nothing else of Accord's running. Any request that is answered only
once something is durable (a TAXII GET waits for its `out` ledger records)
cannot have a latency percentile below this one.

    python3 bench/fsync_probe.py FILE [SECONDS]   # FILE is created and removed
"""

import os
import sys
import time


def main() -> None:
    path = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    block = b"x" * 16384
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.ftruncate(fd, 4000 * len(block))
        os.fsync(fd)
        lat = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            os.pwrite(fd, block, (len(lat) % 4000) * len(block))
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
            time.sleep(0.002)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    n = len(lat)

    def pct(p: float) -> float:
        return lat[min(n - 1, int(n * p))] * 1e3

    print(
        f"disk: fdatasync of one 16 KiB overwrite, {n} samples over {seconds:.0f} s: "
        f"p50 {pct(0.5):.2f} ms p90 {pct(0.9):.2f} ms p99 {pct(0.99):.2f} ms max {lat[-1] * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
