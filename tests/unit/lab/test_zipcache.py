"""lab/hostpy/lvs_lab_zipcache.py in real Python processes: modules imported from a zip, as Ansible's payloads
are, compile once and then load from the cache; a changed source or a damaged entry compiles again."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import zipfile
from pathlib import Path

HOSTPY = Path(__file__).resolve().parents[3] / "lab" / "hostpy"


def payload(path: Path, body: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("payload_mod.py", body)
    return path


def run(archive: Path, cache: Path, code: str = "import payload_mod") -> subprocess.CompletedProcess:
    """A fresh interpreter that loads the cache as the lab's .pth does, with its folder at ``cache``."""
    boot = (
        f"import sys; sys.path.insert(0, {str(HOSTPY)!r}); import lvs_lab_zipcache; "
        f"lvs_lab_zipcache.CACHE = {str(cache)!r}; sys.path.insert(0, {str(archive)!r}); {code}"
    )
    return subprocess.run([sys.executable, "-c", boot], capture_output=True, text=True, check=False)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.iterdir()) if cache.exists() else []


def test_compiles_once_then_loads_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    archive = payload(tmp_path / "a.zip", "print('from source')\n")
    assert run(archive, cache).stdout == "from source\n"
    (entry,) = entries(cache)
    # Put other code under the same key: the next import runs it, so it came from the cache, not a compile.
    other = compile("print('from cache')\n", "x", "exec")
    entry.write_bytes(marshal.dumps(other))
    assert run(archive, cache).stdout == "from cache\n"


def test_a_changed_source_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    assert run(payload(tmp_path / "a.zip", "print(1)\n"), cache).stdout == "1\n"
    assert run(payload(tmp_path / "b.zip", "print(2)\n"), cache).stdout == "2\n"
    assert len(entries(cache)) == 2


def test_a_damaged_entry_is_compiled_again_and_replaced(tmp_path):
    cache = tmp_path / "cache"
    archive = payload(tmp_path / "a.zip", "print('ok')\n")
    run(archive, cache)
    (entry,) = entries(cache)
    entry.write_bytes(b"not marshal data")
    result = run(archive, cache)
    assert (result.returncode, result.stdout) == (0, "ok\n")
    assert entry.read_bytes() != b"not marshal data"


def test_tracebacks_name_the_zip_of_this_run(tmp_path):
    cache = tmp_path / "cache"
    body = "def boom():\n    raise RuntimeError('x')\n"
    run(payload(tmp_path / "first.zip", body), cache)
    second = payload(tmp_path / "second.zip", body)
    result = run(second, cache, "import payload_mod; payload_mod.boom()")
    assert len(entries(cache)) == 1  # same source, one entry: the code came from the cache
    assert f"{second}{os.sep}payload_mod.py" in result.stderr
    assert "first.zip" not in result.stderr


def test_a_cache_that_cannot_be_written_costs_only_the_compile(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a folder cannot be made under a file, not even by root
    result = run(payload(tmp_path / "a.zip", "print('ok')\n"), blocked / "cache")
    assert (result.returncode, result.stdout) == (0, "ok\n")
