# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run Galaxy's import checks (galaxy-importer) on a built collection tarball.

    python tools/release_check.py [--repository-optional] lvs-ha-X.Y.Z.tar.gz   (GALAXY_IMPORTER_CONFIG set)

GALAXY_IMPORTER_CONFIG=tools/galaxy-importer.cfg turns off the checks that need a container runtime. Fails
when the importer fails or prints a warning or an error (a role without README, a plugin without docs,
an ansible-lint finding, no changelog, ...).

galaxy-importer refuses a collection whose metadata names no repository, before any other check. While
galaxy.yml has none (there is no public repository yet, and a made-up one would be false), the checks run on
a copy of the tarball whose MANIFEST.json names a stand-in, so that everything else is still proven; the
result is then a failure that says so: the tarball itself cannot be published until galaxy.yml names the
collection's real repository. With --repository-optional (make sanity: every other import check on each
run) that result is a pass that still says Galaxy would refuse the tarball; make release-check, the gate
before a publication, fails on it as before.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

STAND_IN = "https://repository.invalid/galaxy.yml-names-no-repository"


def manifest_of(tarball: Path) -> dict:
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("MANIFEST.json"))


def with_repository(tarball: Path, manifest: dict, target: Path) -> Path:
    """A copy of the tarball, every member the same except MANIFEST.json, which names STAND_IN."""
    manifest = json.loads(json.dumps(manifest))
    manifest["collection_info"]["repository"] = STAND_IN
    data = json.dumps(manifest, indent=4).encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            if member.name == "MANIFEST.json":
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
            else:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    return target


def main(argv: list[str]) -> int:
    repository_optional = "--repository-optional" in argv
    argv = [arg for arg in argv if arg != "--repository-optional"]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    tarball = Path(argv[0]).resolve()
    if not os.environ.get("GALAXY_IMPORTER_CONFIG"):
        print(
            "GALAXY_IMPORTER_CONFIG is not set (tools/galaxy-importer.cfg turns off the checks that need a "
            "container runtime)",
            file=sys.stderr,
        )
        return 2
    manifest = manifest_of(tarball)
    has_repository = bool(manifest["collection_info"].get("repository"))
    checked = tarball
    if not has_repository:
        checked = with_repository(tarball, manifest, tarball.parent / "with-stand-in-repository" / tarball.name)
        print(f"galaxy.yml names no repository: checking a copy whose MANIFEST.json names {STAND_IN}")
    run = subprocess.run(
        [sys.executable, "-m", "galaxy_importer.main", str(checked)],
        cwd=checked.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    output = run.stdout + run.stderr
    print(output, end="")
    problems = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    if run.returncode != 0 or problems:
        print(
            f"release check failed: galaxy-importer exited {run.returncode} with {len(problems)} warning(s) or "
            f"error(s)",
            file=sys.stderr,
        )
        return 1
    if not has_repository:
        print(
            "release check: every galaxy-importer check passed, but Galaxy refuses this tarball as it is: "
            "'repository' is required. Set galaxy.yml's repository to the collection's public repository.",
            file=sys.stderr,
        )
        return 0 if repository_optional else 1
    print("release check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
