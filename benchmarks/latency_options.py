"""The options for measuring latency, side by side: `python -m benchmarks.latency_options`.

150 requests to a loopback endpoint answering after 20 ms, a second process burning a
core, and a busy thread standing for pytest's; error = |measured - 20 ms| (the server
itself adds 0.1-1 ms). Options: requests with the Python clock (what opscheck did), the
same on as many threads as cores, libcurl's own C-side timings (pycurl, installed only
for this comparison: `pip install pycurl`), an asyncio loop, and the kernel's socket
stamps (wireclock, what opscheck does). The README's Speed section has the figures.
"""

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from opscheck.wireclock import WireClock  # noqa: E402

try:
    import pycurl
except ImportError:
    pycurl = None
LAT = 0.02


def _raise_priority():
    with contextlib.suppress(OSError):
        os.nice(-10)


srv = subprocess.Popen(
    [sys.executable, str(ROOT / "benchmarks" / "latency_server.py"), "--latency", str(LAT)],
    stdout=subprocess.PIPE,
    text=True,
    preexec_fn=_raise_priority,
)
port = int(srv.stdout.readline())
burn = subprocess.Popen([sys.executable, "-c", "while True: pass"])
url = f"http://127.0.0.1:{port}/ep/1"
REQ = b"GET /ep/1 HTTP/1.1\r\nHost: x\r\n\r\n"
stop = False


def busy():
    while not stop:
        sum(range(1000))


def requests_clock(_):
    t = time.monotonic()
    r = requests.get(url, timeout=10)
    _ = r.content
    return time.monotonic() - t


def pycurl_c(_):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.setopt(pycurl.PROXY, "")
    c.perform()
    v = c.getinfo(pycurl.TOTAL_TIME)
    c.close()
    return v


def kernel_stamps(_):
    s = socket.create_connection(("127.0.0.1", port))
    with WireClock(s.fileno()) as c:
        c.mark_send()
        s.sendall(REQ)
        sent = c.sent()
        first = c.arrival(10, after=sent)
    s.recv(65536)
    s.close()
    return (first - sent) / 1e9


async def one(_):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    t = time.monotonic()
    w.write(REQ)
    await r.read(65536)
    v = time.monotonic() - t
    w.close()
    return v


def run_threads(fn, conc, n=150):
    with ThreadPoolExecutor(conc) as ex:
        return list(ex.map(fn, range(n)))


def run_asyncio(n=150):
    async def main():
        sem = asyncio.Semaphore(32)

        async def lim(i):
            async with sem:
                return await one(i)

        return await asyncio.gather(*(lim(i) for i in range(n)))

    return asyncio.run(main())


def report(name, vals):
    err = sorted(abs(v - LAT) * 1000 for v in vals)
    print(
        f"{name:44} median {statistics.median(err):6.2f} ms  p99 {err[int(len(err) * 0.99) - 1]:7.2f}  max {err[-1]:7.2f}",
        flush=True,
    )


try:
    time.sleep(0.5)
    th = threading.Thread(target=busy)
    th.start()
    report("requests, Python clock, 32 threads (before)", run_threads(requests_clock, 32))
    report("requests, Python clock, 2 threads (=cores)", run_threads(requests_clock, 2))
    if pycurl is not None:
        report("pycurl, libcurl's C timings, 32 threads", run_threads(pycurl_c, 32))
    report("asyncio loop, Python clock, 32 in flight", run_asyncio())
    report("kernel socket stamps, 32 threads (chosen)", run_threads(kernel_stamps, 32))
    report("requests, Python clock, 1 thread", run_threads(requests_clock, 1, 40))
    report("kernel socket stamps, 1 thread", run_threads(kernel_stamps, 1, 40))
    stop = True
    th.join()
finally:
    burn.kill()
    srv.kill()
