# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Facts of the Linux network device layer that modules and the site rules share."""

from __future__ import annotations

# IFNAMSIZ - 1: the longest interface name, and the longest IPv4 address label (ip addr ... label NAME:SUFFIX).
IFNAME_MAX = 15
