# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make a docsite that `antsibull-docs sphinx-init` wrote build without network access.

    python tools/docs_offline.py DOCSITE

The generated conf.py fetches Sphinx inventories (objects.inv) of Python, Jinja and Ansible from the web, and a
failed fetch is a warning, which the build treats as an error. The pages antsibull-docs writes for this
collection link to Ansible's docs only through a few labels; this writes a local inventory with those labels
(DOCSITE/ansible_devel.inv, pointing at the real pages) and makes conf.py use it alone. A label the pages start
to use that is missing here shows up as an "undefined label" warning: add it to LABELS.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

BASE_URL = "https://docs.ansible.com/projects/ansible/devel/"
# label -> (page and anchor under BASE_URL, title)
LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "ansible_configuration_settings": (
        "reference_appendices/config.html#ansible-configuration-settings",
        "Ansible Configuration Settings",
    ),
}
INVENTORY = "ansible_devel.inv"
CONF_OVERRIDE = f"""
# Written by tools/docs_offline.py (make docs): no inventory is fetched from the network; the labels of Ansible's
# docs that these pages use come from a local inventory that points at the real pages.
intersphinx_mapping = {{
    'ansible_devel': ('{BASE_URL}', '../{INVENTORY}'),
}}
"""


def inventory() -> bytes:
    header = (
        "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(f"{label} std:label -1 {uri} {title}\n" for label, (uri, title) in sorted(LABELS.items()))
    return header.encode() + zlib.compress(lines.encode())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    site = Path(argv[0])
    conf = site / "conf.py"
    if "tools/docs_offline.py" not in conf.read_text():
        conf.write_text(conf.read_text() + CONF_OVERRIDE)
    (site / INVENTORY).write_bytes(inventory())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
