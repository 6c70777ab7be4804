# SPDX-License-Identifier: GPL-3.0-or-later
"""Every filter has its documentation beside it (plugins/filter/<name>.yml, what ansible-doc -t filter reads for
a file that holds several filters), and the documented arguments are the function's: same names, same order,
same defaults, required exactly when the function has no default."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from ansible_collections.lvs.ha.plugins.filter import roles, site

FILTERS = {**site.FilterModule().filters(), **roles.FilterModule().filters()}
DOCS = Path(site.__file__).resolve().parent


def doc(name):
    return yaml.safe_load((DOCS / f"{name}.yml").read_text())


def test_every_doc_names_a_filter():
    assert sorted(p.stem for p in DOCS.glob("*.yml")) == sorted(FILTERS)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_doc_matches_the_function(name):
    data = doc(name)
    assert set(data) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = data["DOCUMENTATION"]
    assert documentation["name"] == name
    assert f"lvs.ha.{name}" in data["EXAMPLES"]
    assert "_value" in data["RETURN"]
    params = list(inspect.signature(FILTERS[name]).parameters.values())
    names = ["_input", *(p.name for p in params[1:])]
    assert [n.strip() for n in documentation["positional"].split(",")] == names
    options = documentation["options"]
    assert list(options) == names
    for param, option in zip(params, names, strict=True):
        spec = options[option]
        if param.default is inspect.Parameter.empty:
            assert spec.get("required") is True, option
        else:
            assert not spec.get("required"), option
            assert spec.get("default") == param.default, option
