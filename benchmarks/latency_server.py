"""A loopback HTTP server whose every answer takes a set time: the benchmark's endpoints.

Run in its own process so its threads do not compete with the suite being measured
for the GIL. `GET /ep/N` sleeps `--latency` seconds and answers healthy JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port: int, latency: float) -> None:
    body = json.dumps({"status": "healthy", "paperTradingMode": True}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real health endpoint behind nginx
        # Headers and body go out in two writes; with Nagle on, keep-alive answers wait ~40 ms for an ACK.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if latency:
                time.sleep(latency)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    serve(args.port, args.latency)
