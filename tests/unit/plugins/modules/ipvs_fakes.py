# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory IPVS backend for the module tests: a table to read and a log of every write."""

from __future__ import annotations

import copy


class FakeBackend:
    name = "fake"

    def __init__(self, table=None):
        self.table = copy.deepcopy(table or [])
        self.writes = []

    def read(self, counters=False):
        return copy.deepcopy(self.table)

    def __getattr__(self, action):
        # add_service, edit_service, delete_service, add_realserver, edit_realserver, delete_realserver
        if action.split("_")[0] in ("add", "edit", "delete"):
            return lambda *args: self.writes.append((action, *args))
        raise AttributeError(action)
