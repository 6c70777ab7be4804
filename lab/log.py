"""Progress lines with the time each phase took."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


@contextmanager
def phase(name: str) -> Iterator[None]:
    start = time.monotonic()
    say(f"{name} ...")
    yield
    say(f"{name} done in {time.monotonic() - start:.1f} s")
