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


def icmp_frame(src, dst, icmp_type, code, quoted):
    """An ICMP error from src to dst quoting the IP packet of the frame `quoted` (its header and 8 bytes)."""
    inner = quoted[14 : 14 + 20 + 8]
    icmp = struct.pack("!BBHI", icmp_type, code, 0, 0) + inner
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, src, dst)
    return b"\x00" * 12 + struct.pack("!H", 0x0800) + ip + icmp


def test_an_icmp_port_unreachable_about_a_segment_to_the_vip():
    director = socket.inet_aton("192.168.100.202")
    syn = frame(CLIENT, VIP, 40000, 80, 0x02)
    seen = sniff.parse(icmp_frame(director, CLIENT, 3, 3, syn), VIP)
    assert seen == ("192.168.100.202", 40000, "192.168.100.50", 80, "ICMP 3/3", 0)


@pytest.mark.parametrize(
    "other",
    [
        icmp_frame(CLIENT, VIP, 8, 0, frame(CLIENT, VIP, 40000, 80, 0x02)),  # an echo request, not an error
        icmp_frame(VIP, CLIENT, 3, 3, frame(CLIENT, VIP, 40000, 53, 0x02, proto=17)),  # about UDP
        icmp_frame(VIP, CLIENT, 3, 3, frame(CLIENT, socket.inet_aton("192.168.100.11"), 1, 80, 0x02)),  # another
    ],
    ids=["echo", "about udp", "about another address"],
)
def test_what_is_not_an_icmp_error_about_the_address_is_left_out(other):
    assert sniff.parse(other, VIP) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and a raw packet socket need root")
def test_it_sees_a_router_answer_a_syn_with_icmp():
    """A client namespace and a router namespace on a veth pair; the router has an unreachable route to the
    address, so it answers the client's SYN with ICMP host unreachable (3/1), which the sniffer on the router's
    end of the veth reports as sent. Nothing leaves the two namespaces."""
    pid = os.getpid()
    client, router = f"lvsha-sniff-c{pid}", f"lvsha-sniff-r{pid}"
    target = "10.77.9.9"

    def ip(*args, ns=None):
        subprocess.run((["ip", "netns", "exec", ns] if ns else []) + ["ip", *args], check=True)

    try:
        ip("netns", "add", client)
        ip("netns", "add", router)
        ip("link", "add", "sniff-c", "netns", client, "type", "veth", "peer", "name", "sniff-r", "netns", router)
        ip("addr", "add", "10.77.0.1/30", "dev", "sniff-c", ns=client)
        ip("link", "set", "sniff-c", "up", ns=client)
        ip("route", "add", "default", "via", "10.77.0.2", ns=client)
        ip("addr", "add", "10.77.0.2/30", "dev", "sniff-r", ns=router)
        ip("link", "set", "sniff-r", "up", ns=router)
        ip("route", "add", "unreachable", f"{target}/32", ns=router)
        subprocess.run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        argv = ["ip", "netns", "exec", router, sys.executable, str(SNIFF), "sniff-r", target, "4"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        connect = f"import socket; socket.create_connection(({target!r}, 80), timeout=2)"
        tried = subprocess.run(
            ["ip", "netns", "exec", client, sys.executable, "-c", connect], check=False, capture_output=True
        )
        out, _ = proc.communicate(timeout=15)
        mac = (
            subprocess.run(
                ["ip", "netns", "exec", router, "cat", "/sys/class/net/sniff-r/address"],
                check=True,
                capture_output=True,
            )
            .stdout.decode()
            .strip()
        )
    finally:
        subprocess.run(["ip", "netns", "del", client], check=False)
        subprocess.run(["ip", "netns", "del", router], check=False)
    assert b"No route to host" in tried.stderr, tried.stderr  # EHOSTUNREACH: the client got the ICMP error
    lines = [json.loads(line) for line in out.splitlines()]
    assert any(s[1] == "in" and s[6] == "S" and s[4] == target for s in lines[:-1]), lines
    icmp = [s for s in lines[:-1] if s[6].startswith("ICMP")]
    # sent by the router: its address, its MAC, about the client's SYN to port 80
    assert icmp and icmp[0][1:] == ["out", "10.77.0.2", icmp[0][3], "10.77.0.1", 80, "ICMP 3/1", 0, mac], lines
    assert lines[-1]["summary"]["icmp_out"] == len(icmp)
    assert lines[-1]["summary"]["segments"] == len(lines) - 1 - len(icmp)  # TCP segments only
