# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory IPVS backend for the module tests: a table to read and a log of every write."""

from __future__ import annotations

import copy


class FakeBackend:
    name = "fake"

    def __init__(self, table=None):
        self.table = copy.deepcopy(table or [])
        self.writes = []
        self.batches = []

    def read(self, counters=False):
        return copy.deepcopy(self.table)

    def apply(self, changes):
        """A batch (ipvs_table): logged, and applied to the in-memory table the way the kernel would, so a test can
        compare the module's idea of the table after with this one (written apart from the module's code)."""
        self.batches.append(copy.deepcopy(changes))
        for chg in changes:
            svc = chg["service"]
            same = [s for s in self.table if _key(s) == _key(svc)]
            if chg["kind"] == "service":
                if chg["action"] == "add":
                    assert not same, f"the kernel refuses a second {_key(svc)}"
                    self.table.append(dict(copy.deepcopy(svc), realservers=[]))
                elif chg["action"] == "edit":
                    same[0].update(copy.deepcopy(svc))
                else:
                    self.table.remove(same[0])
                continue
            rss = same[0]["realservers"]
            rs = chg["realserver"]
            old = [r for r in rss if (r["address"], r["port"]) == (rs["address"], rs["port"])]
            if chg["action"] == "add":
                assert not old, f"the kernel refuses a second {rs['address']}:{rs['port']}"
                rss.append(copy.deepcopy(rs))
            elif chg["action"] == "edit":
                old[0].update(copy.deepcopy(rs))
            else:
                rss.remove(old[0])

    def __getattr__(self, action):
        # add_service, edit_service, delete_service, add_realserver, edit_realserver, delete_realserver
        if action.split("_")[0] in ("add", "edit", "delete"):
            return lambda *args: self.writes.append((action, *args))
        raise AttributeError(action)


def _key(svc):
    return (svc["fwmark"], svc["family"]) if svc["fwmark"] else (svc["protocol"], svc["address"], svc["port"])
