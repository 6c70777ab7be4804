# SPDX-License-Identifier: GPL-3.0-or-later
"""What a host sees of the TCP segments (and ICMP errors about them) to and from one address on one interface, bounded in time: the lab's
hosts have no tcpdump, and a director's view at a takeover (does it forward the client's segments, or answer
them with a reset?) is what a failover question often comes down to.

    sniff.py INTERFACE ADDRESS DURATION [STOP]

Prints one JSON line per IPv4 TCP segment whose source or destination is ADDRESS, seen on INTERFACE (both
directions, as the kernel hands them to a packet socket), for DURATION s at most or until the file STOP
exists: [time, "in" or "out", source, source port, destination, destination port, flags, payload bytes,
source MAC] (the MAC tells which host sent it where several answer for one address, as a VIP does),
time on CLOCK_BOOTTIME (the first field of /proc/uptime, as probe.py stamps its requests), flags as tcpdump
writes them (S, F, R, P, . for ACK). An ICMP error about a TCP segment to or from ADDRESS (IPVS answers a
segment it cannot schedule with ICMP port unreachable) is a line too: the ICMP packet's own source and
destination, the ports of the segment it is about, flags "ICMP TYPE/CODE", 0 bytes. Then {"summary":
{"segments": N, "resets_out": N, "icmp_out": N}}: the TCP segments, the resets sent from ADDRESS (a director
forwards the client's own too) and the ICMP errors this host sent. Root only (a raw packet socket).
Stdlib only: it runs on the lab's hosts with the system python3.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
FLAGS = ((0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x10, "."))


def flags_text(bits):
    return "".join(mark for bit, mark in FLAGS if bits & bit)


def parse(frame, address):
    """(source, sport, destination, dport, flags, payload bytes) of an IPv4 TCP frame to or from `address`
    (bytes of 4), or of an ICMP error about such a segment (see the module's doc), or None."""
    if len(frame) < 14 + 20 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] == socket.IPPROTO_ICMP:
        return icmp_error(ip, ihl, address)
    if ip[9] != socket.IPPROTO_TCP or len(ip) < ihl + 20:
        return None
    src, dst = ip[12:16], ip[16:20]
    if address not in (src, dst):
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:]
    sport, dport = struct.unpack("!HH", tcp[0:4])
    offset = (tcp[12] >> 4) * 4
    payload = max(0, total - ihl - offset)
    return socket.inet_ntoa(src), sport, socket.inet_ntoa(dst), dport, flags_text(tcp[13]), payload


def icmp_error(ip, ihl, address):
    """An ICMP error (destination unreachable, time exceeded, ...) quoting a TCP segment to or from `address`."""
    icmp = ip[ihl:]
    if len(icmp) < 8 + 20 or icmp[0] not in (3, 4, 5, 11, 12):
        return None
    quoted = icmp[8:]
    quoted_ihl = (quoted[0] & 0x0F) * 4
    if quoted[9] != socket.IPPROTO_TCP or len(quoted) < quoted_ihl + 4 or address not in (quoted[12:16], quoted[16:20]):
        return None
    sport, dport = struct.unpack("!HH", quoted[quoted_ihl : quoted_ihl + 4])
    return socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]), dport, f"ICMP {icmp[0]}/{icmp[1]}", 0


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    interface, address, duration = argv[1], socket.inet_aton(argv[2]), float(argv[3])
    stop = argv[4] if len(argv) > 4 else None
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, 0))
    deadline = time.monotonic() + duration
    segments = resets_out = icmp_out = 0
    while time.monotonic() < deadline and not (stop and os.path.exists(stop)):
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        frame, meta = sock.recvfrom(65535)
        seen = parse(frame, address)
        if seen is None:
            continue
        direction = "out" if meta[2] == PACKET_OUTGOING else "in"
        icmp = seen[4].startswith("ICMP")
        segments += not icmp
        # sent from ADDRESS itself: a director in direct routing also sends out the client's own segments
        resets_out += direction == "out" and "R" in seen[4] and seen[0] == argv[2]
        icmp_out += direction == "out" and icmp
        mac = frame[6:12].hex(":")
        print(json.dumps([round(time.clock_gettime(time.CLOCK_BOOTTIME), 6), direction, *seen, mac]), flush=True)
    print(json.dumps({"summary": {"segments": segments, "resets_out": resets_out, "icmp_out": icmp_out}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
