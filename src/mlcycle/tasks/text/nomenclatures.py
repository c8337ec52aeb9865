"""The nomenclatures a text project can name in ``data.nomenclature``.

Each is built when first asked for (the NAF rev.2 table is read from its CSV then).
"""

from __future__ import annotations

from collections.abc import Callable

from mlcycle.tasks.labels import Nomenclature


def _naf_rev2() -> Nomenclature:
    from mlcycle.tasks.text.nace import NAF_REV2

    return NAF_REV2


NOMENCLATURES: dict[str, Callable[[], Nomenclature]] = {"naf-rev2": _naf_rev2}
