# SPDX-License-Identifier: GPL-3.0-or-later
"""Let `ansible-test sanity` build its per-test virtual environments without ci-files.testing.ansible.com.

ansible-test creates each sanity venv without pip and bootstraps pip with a get-pip.py it downloads from
ci-files.testing.ansible.com, caching it as ~/.ansible/test/cache/get_pip_<version>.py. Where only PyPI is
reachable that download fails ("does not have pip available"). This script puts a small stand-in at that
cache path: it runs pip from the pip wheel (fetched once from PyPI with the current interpreter's pip) to
install the packages ansible-test asks for. An existing cache file is left alone.

Usage: python tools/pip_bootstrap.py      (run with the interpreter that runs ansible-test)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CACHE = Path("~/.ansible/test/cache").expanduser()
STAND_IN = '''\
"""Stand-in for get-pip.py written by lvs.ha tools/pip_bootstrap.py: runs pip from {wheel_name}."""
import runpy
import sys

sys.path.insert(0, {wheel!r})
# get-pip.py takes `pip install` arguments without the subcommand and its own --no-setuptools/--no-wheel.
sys.argv = ['pip', 'install'] + [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
runpy.run_module('pip', run_name='__main__', alter_sys=True)
'''


def ansible_test_pip_version() -> str:
    """The pip version ansible-test bootstraps into its venvs (get_venv_packages in python_requirements.py)."""
    import ansible_test

    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    match = re.search(r"default_packages = dict\(\s*pip='([^']+)'", source.read_text())
    if not match:
        raise SystemExit(f"pip_bootstrap: cannot find the pip version ansible-test wants in {source}")
    return match.group(1)


def main() -> int:
    version = ansible_test_pip_version()
    target = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    if target.exists():
        print(f"pip_bootstrap: {target} exists, nothing to do")
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = CACHE / "pip-wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(wheels),
            f"pip=={version}",
        ],
        check=True,
    )
    wheel = next(wheels.glob(f"pip-{version}-*.whl"))
    partial = target.with_suffix(".partial")
    partial.write_text(STAND_IN.format(wheel=str(wheel), wheel_name=wheel.name))
    partial.replace(target)
    print(f"pip_bootstrap: wrote {target} (pip {version} from {wheel.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
