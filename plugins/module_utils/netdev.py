# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Facts of the Linux network device layer that modules and the site rules share."""

from __future__ import annotations

# IFNAMSIZ - 1: the longest interface name, and the longest IPv4 address label (ip addr ... label NAME:SUFFIX).
IFNAME_MAX = 15
# The values of net.ipv4.conf.<interface>.arp_ignore the kernel documents (4 to 7 are reserved), and of arp_announce.
ARP_IGNORE = [0, 1, 2, 3, 8]
ARP_ANNOUNCE = [0, 1, 2]


def label_problem(label, interface):
    """What is wrong with `label` as the label of an IPv4 address on `interface`, or None when nothing is.

    The VIP label rule (ip-address(8) and the kernel): the interface's own name, or the name, ':' and a suffix,
    in at most IFNAME_MAX characters. The modules take any such label; the site rules also want a suffix of
    plain characters, as the label reaches keepalived.conf.
    """
    if label != interface and not label.startswith(f"{interface}:"):
        return f"must be {interface!r} or start with '{interface}:' (e.g. {interface}:0)"
    if len(label) > IFNAME_MAX:
        return f"is longer than the kernel limit of {IFNAME_MAX} characters"
    return None
