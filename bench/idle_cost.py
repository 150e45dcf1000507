"""What waiting costs in CPU: the same httpx request, answered at once and answered after a
delay, by a minimal server in another process; user+system CPU of this process per request.
A process that sleeps between calls finds its caches cold (and, in a VM, its CPU slowed down)
when the answer comes, so the same work takes more CPU: why a first run at realistic latency
takes more CPU than the same run without. Usage:

    .venv/bin/python bench/idle_cost.py [--requests 300] [--delay-ms 120] [--json bench/results/idle_cost.json]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import write_json

# A server that reads a POST, waits, and answers 600 bytes of JSON, as companies.info does.
SERVER = """
import http.server, sys, time
delay = float(sys.argv[1])
body = b'{"data": {"id": "x", "name": "' + b"y" * 560 + b'"}}'
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        time.sleep(delay)
        self.wfile.write(b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: "
                         + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""


def cpu_per_request(delay_s: float, requests: int) -> tuple[float, float]:
    """ms of user+system CPU and of wall time per request against a server answering after
    `delay_s`."""
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(delay_s)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/companies.info"
        with httpx.Client() as client:
            client.post(url, json={"id": "warm-up"})
            before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            for _ in range(requests):
                client.post(url, json={"id": "abc"}, headers={"Authorization": "Bearer t"}).json()
            after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return cpu / requests * 1000, wall / requests * 1000
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--delay-ms", type=float, default=120.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = {}
    print(f"{'answer':>16} {'CPU ms/request':>15} {'wall ms/request':>16}")
    for label, delay in (("at once", 0.0), (f"after {args.delay_ms:.0f} ms", args.delay_ms / 1000)):
        cpu, wall = cpu_per_request(delay, args.requests)
        figures[label] = {"cpu_ms": cpu, "wall_ms": wall}
        print(f"{label:>16} {cpu:>15.3f} {wall:>16.1f}")
    write_json(args.json, {"requests": args.requests, "delay_ms": args.delay_ms, "per_request": figures})


if __name__ == "__main__":
    main()
