# SPDX-License-Identifier: GPL-3.0-or-later
"""molecule/shared/download.py against a real HTTP server on loopback: a whole body, a body cut short, a
reset, and the reading rate it keeps."""

from __future__ import annotations

import socket
import struct
import threading

import download  # molecule/shared/download.py, on the path through pytest.ini (pythonpath)
import pytest

BODY = bytes(range(256)) * 400  # 102400 bytes


def serve_once(handler):
    """A one-connection server on 127.0.0.1; handler(conn) answers. Returns the URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def run():
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            handler(conn)
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/file.bin"


def head(length):
    return f"HTTP/1.0 200 OK\r\nContent-Length: {length}\r\nContent-Type: x/y\r\n\r\n".encode()


def test_a_whole_body_is_complete_and_read_at_the_rate():
    url = serve_once(lambda conn: conn.sendall(head(len(BODY)) + BODY))
    result = download.download(url, rate=400_000)
    assert result["status"] == 200 and result["length"] == len(BODY) == result["received"], result
    assert result["complete"] is True and result["error"] is None
    assert result["seconds"] >= 0.2  # 102400 bytes at 400000 bytes/s: not read faster than asked


def test_a_hold_keeps_the_rate_until_its_file_is_gone(tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    threading.Timer(0.5, hold.unlink).start()
    url = serve_once(lambda conn: conn.sendall(head(len(BODY)) + BODY))
    result = download.download(url, rate=1024, hold=str(hold))  # at the rate alone: 100 s
    assert result["complete"] is True, result
    assert 0.4 <= result["seconds"] < 10, result  # held half a second, then the rest at full speed


def test_a_body_cut_short_is_not_complete():
    url = serve_once(lambda conn: conn.sendall(head(len(BODY)) + BODY[:1000]))
    result = download.download(url, rate=10_000_000)
    assert result["received"] == 1000 and result["complete"] is False, result


def test_a_reset_is_reported():
    def reset(conn):
        conn.sendall(head(len(BODY)) + BODY[:1000])
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST

    url = serve_once(reset)
    result = download.download(url, rate=1000)
    assert result["complete"] is False and "Reset" in (result["error"] or ""), result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", (200, 5, 38)),
        (b"HTTP/1.1 404 Not Found\r\n\r\n", (404, None, 26)),
        (b"HTTP/1.1 200 OK\r\nContent-Len", None),
    ],
)
def test_parse_head(raw, expected):
    assert download.parse_head(raw) == expected
