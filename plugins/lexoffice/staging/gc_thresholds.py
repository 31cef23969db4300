"""Fewer passes of Python's cyclic garbage collector while a window is staged.

Staging builds millions of short-lived containers (row lists, payload dicts, documents). With CPython's
default thresholds (700, 10, 10) the collector runs every 700 new containers and keeps re-walking the page
that is still being built, finding nothing to free. Reference counting frees almost all of it anyway, so
collecting every 10,000 containers loses nothing but the waste:
the same peak memory, the same result. The settings are process-wide, so the old ones come back afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Generation-0 threshold while staging (then every 10th pass looks at generation 1, and so on).
STAGING_THRESHOLDS = (10_000, 10, 10)


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Raise the collector's thresholds (never lower them) for the duration of the block."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(old, new) for old, new in zip(before, STAGING_THRESHOLDS, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*before)
