"""A bytecode cache for modules imported from zip files, installed in every lab host (lab/guest.py).

Ansible runs each module task as a zip of the module and its module_utils, imported with zipimport, which
compiles every source file it imports from the zip, twice (once to name the module's file, once to run it),
at every task: about 1.3 s of emulated CPU per task under TCG, half of what a task costs the host. This keeps
the compiled code by a hash of the source and the Python version, in the host's /var/cache, so each source is
compiled once per host. What runs is the same source: only zipimport's compile step is skipped. An entry that
cannot be read is compiled again.

Loaded at Python start by lvs_lab_zipcache.pth. Not part of the collection: the lab's hosts only.
"""

import _imp
import marshal
import os
import sys
import zipimport

CACHE = "/var/cache/lvs-lab-zipcache"
_TAG = sys.implementation.cache_tag or "none"
_compile_source = zipimport._compile_source


# hashlib is imported here, not at the top: every python3 on a lab host loads this module, most never
# import from a zip, and hashlib (with OpenSSL) costs them about 0.15 s of emulated CPU.
def _cached_compile_source(pathname, source):
    import hashlib

    path = os.path.join(CACHE, f"{hashlib.sha256(source).hexdigest()}.{_TAG}")
    try:
        with open(path, "rb") as f:
            code = marshal.loads(f.read())  # an unreadable or foreign entry is compiled again and replaced
        _imp._fix_co_filename(code, pathname)
        return code
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = _compile_source(pathname, source)
    try:  # a cache that cannot be written only costs the compile
        os.makedirs(CACHE, mode=0o700, exist_ok=True)
        temp = f"{path}.{os.getpid()}"
        with open(temp, "wb") as f:
            f.write(marshal.dumps(code))
        os.replace(temp, path)
    except OSError:
        pass
    return code


if hasattr(zipimport, "_compile_source"):
    zipimport._compile_source = _cached_compile_source
