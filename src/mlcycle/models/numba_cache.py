"""Where numba keeps the compiled kernels: a cache folder, never beside a model's code.

The kernels are compiled with ``cache=True``. By default numba writes that cache next to
the source file, which, when a registered model is loaded from its shipped code, is the
model's own folder in the artifact store. Shipped with the model (no mlcycle settings).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_ENV = "NUMBA_CACHE_DIR"


def use_numba_cache(folder: Path) -> None:
    """Send numba's cache to ``folder``, unless ``NUMBA_CACHE_DIR`` already names one.

    Call it before the kernels are imported: numba picks a kernel's cache folder when
    the kernel is defined.
    """
    if os.environ.get(CACHE_ENV):
        return
    os.environ[CACHE_ENV] = str(folder)
    if "numba" in sys.modules:  # numba read its environment when imported: read it again
        from numba.core import config

        config.reload_config()


def user_cache_folder() -> Path:
    """The user's cache folder for kernels: ``$XDG_CACHE_HOME`` (or ``~/.cache``)/mlcycle/numba."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlcycle" / "numba"
