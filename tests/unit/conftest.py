# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the checkout importable as ansible_collections.lvs.ha (collections/ansible_collections/lvs/ha links
back to the repository root). Under ansible-test the collection is already on the path and this is a no-op."""

from __future__ import annotations

import sys
from pathlib import Path

_COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
if (_COLLECTIONS / "ansible_collections").is_dir() and str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))
