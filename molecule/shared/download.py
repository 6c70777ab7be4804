# SPDX-License-Identifier: GPL-3.0-or-later
"""A slow HTTP download that really spans a failover: the client's receive buffer is kept small, so the data
keeps crossing the network at the reading rate instead of landing in the kernel's buffer in the first second
(curl --limit-rate only slows the reading: with the default buffers a file of a few MB is on the client long
before it is read, and the connection is idle when the director dies).

    download.py URL RATE [RCVBUF] [TIMEOUT] [HOLD]

Reads URL (HTTP/1.0, plain TCP) at RATE bytes/s with SO_RCVBUF RCVBUF bytes (16384 unless given) and a
TIMEOUT s (10 unless given) limit on each read; with HOLD, a file, the RATE holds only while HOLD exists and the
rest is read at full speed once it is gone (a drill ends the download when the event it spans has been seen,
not after a guess of seconds that a slower machine outlasts). Then it prints one JSON line: the status code, the
Content-Length, the body bytes received, whether the body is complete, the error that broke it (a reset from
a director that has never seen the connection, a timeout) and the seconds it took. Stdlib only: it runs on
the lab's client with the system python3.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.parse


def parse_head(raw):
    """(status, content_length, header_bytes) from the start of a response, or None while incomplete."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = raw[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, length, end + 4


def download(url, rate, rcvbuf=16384, timeout=10.0, hold=None):
    parts = urllib.parse.urlsplit(url)
    result = {"status": None, "length": None, "received": 0, "complete": False, "error": None}
    started = time.monotonic()
    raw = b""
    head = None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            sock.connect((parts.hostname, parts.port or 80))
            sock.sendall(f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
            total = 0
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                total += len(chunk)
                if head is None:
                    raw += chunk
                    head = parse_head(raw)
                if hold is not None and not os.path.exists(hold):
                    rate = hold = None  # released: the rest at full speed
                if rate is None:
                    continue
                # Sleep until the bytes read so far match RATE.
                ahead = total / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    if head is not None:
        result["status"], result["length"], header_bytes = head
        result["received"] = total - header_bytes
        result["complete"] = result["error"] is None and result["received"] == result["length"]
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rcvbuf = int(argv[3]) if len(argv) > 3 else 16384
    timeout = float(argv[4]) if len(argv) > 4 else 10.0
    hold = argv[5] if len(argv) > 5 else None
    print(json.dumps(download(argv[1], float(argv[2]), rcvbuf, timeout, hold)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
