# SPDX-License-Identifier: GPL-3.0-or-later
"""molecule/shared/sniff.py: the frame parser on frames built here, and the whole tool on this machine's
loopback (a raw packet socket: root only) against a connection refused with a reset."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sniff  # molecule/shared/sniff.py, on the path through pytest.ini (pythonpath)

SNIFF = Path(sniff.__file__)
VIP = socket.inet_aton("192.168.100.10")
CLIENT = socket.inet_aton("192.168.100.50")


def frame(src, dst, sport, dport, flags, payload=b"", ethertype=0x0800, proto=6):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, proto, 0, src, dst)
    return b"\x00" * 12 + struct.pack("!H", ethertype) + ip + tcp


def test_a_syn_to_the_vip():
    seen = sniff.parse(frame(CLIENT, VIP, 40000, 80, 0x02), VIP)
    assert seen == ("192.168.100.50", 40000, "192.168.100.10", 80, "S", 0)


def test_a_reset_from_the_vip_with_its_ack_and_a_payload_count():
    assert sniff.parse(frame(VIP, CLIENT, 80, 40000, 0x14), VIP)[4] == "R."
    assert sniff.parse(frame(CLIENT, VIP, 40000, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n"), VIP)[4:] == ("P.", 18)


@pytest.mark.parametrize(
    "other",
    [
        frame(CLIENT, socket.inet_aton("192.168.100.11"), 40000, 80, 0x02),  # another address
        frame(CLIENT, VIP, 40000, 80, 0x02, proto=17),  # UDP
        frame(CLIENT, VIP, 40000, 80, 0x02, ethertype=0x86DD),  # not IPv4
        b"\x00" * 20,  # too short
    ],
    ids=["other address", "udp", "ipv6 ethertype", "short"],
)
def test_what_is_not_a_tcp_segment_of_the_address_is_left_out(other):
    assert sniff.parse(other, VIP) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="a raw packet socket needs root")
def test_it_sees_a_refused_connection_on_loopback():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # a port nothing listens on: the kernel answers a SYN with a reset
    proc = subprocess.Popen([sys.executable, str(SNIFF), "lo", "127.0.0.1", "3"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    out, _ = proc.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines()]
    segments = [line for line in lines[:-1] if port in (line[3], line[5])]
    assert any(s[5] == port and s[6] == "S" for s in segments), segments
    assert any(s[1] == "out" and s[3] == port and "R" in s[6] for s in segments), segments
    assert lines[-1]["summary"]["resets_out"] >= 1
