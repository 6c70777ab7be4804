# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/netdev.py: the VIP label rule, which vip_interface applies as it is and the site rules with a
stricter suffix."""

from __future__ import annotations

import pytest
from ansible_collections.lvs.ha.plugins.module_utils.netdev import IFNAME_MAX, label_problem
from ansible_collections.lvs.ha.plugins.plugin_utils import site_rules as rules


@pytest.mark.parametrize(
    ("label", "interface", "problem"),
    [
        ("lo", "lo", None),
        ("lo:0", "lo", None),
        ("ens33:0", "ens33", None),
        ("ens33:abcdefghi", "ens33", None),  # 15 characters
        ("ens33:abcdefghij", "ens33", "longer than the kernel limit of 15"),
        ("ens33:0", "lo", "must be 'lo' or start with 'lo:'"),
        ("lo0", "lo", "must be 'lo' or start with 'lo:'"),
    ],
)
def test_label_problem(label, interface, problem):
    found = label_problem(label, interface)
    assert found is None if problem is None else problem in found


@pytest.mark.parametrize(
    "label",
    ["ens33", "ens33:", "ens33:0", "ens33:vip_1", "ens33:vip-1", "ens33:abcdefghi", "ens33:abcdefghij", "eth0:0"],
)
def test_site_rules_accept_only_what_the_kernel_rule_accepts(label):
    """The site rules are the kernel's rule plus a suffix of plain characters: never wider."""
    chk = rules.Checker()
    rules.check_label(chk, "vip_label", label, "ens33")
    if not chk.errors:
        assert label_problem(label, "ens33") is None
        assert len(label) <= IFNAME_MAX and label.startswith("ens33:")
