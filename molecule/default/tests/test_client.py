# SPDX-License-Identifier: GPL-3.0-or-later
"""The client sees both real servers through the VIP, in turn (round robin)."""

from __future__ import annotations

from itertools import pairwise


def test_requests_alternate_between_both_pages(lab, site):
    url = f'http://{site.vip}:{site.port}/'
    out = lab('client').check_output(
        f'for i in $(seq 10); do curl -s --max-time 2 {url} | tail -n 1; echo; done')
    bodies = [line for line in out.splitlines() if line.strip()]
    print(f'\n10 requests to {url}: {bodies}')
    pages = {site.page(rs) for rs in site.real_servers}
    assert len(bodies) == 10 and set(bodies) == pages, bodies
    assert all(a != b for a, b in pairwise(bodies)), bodies
