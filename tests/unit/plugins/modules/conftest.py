# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process and return its JSON result."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys):
    def _run(main, args, check_mode=False, diff=False):
        full = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(full), pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)

    return _run
