# SPDX-License-Identifier: GPL-3.0-or-later
"""One change to a nested input, for the tables of bad inputs."""

from __future__ import annotations

import copy


def with_change(base, path, value):
    """A deep copy of `base` with the value at `path` (keys and indexes) replaced; KeyError deletes it."""
    data = copy.deepcopy(base)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data
