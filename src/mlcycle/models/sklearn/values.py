"""How the pipeline reads one JSON-decoded value, reproduced without pandas.

A number is what ``float()`` makes of it (as scikit-learn's imputer converts an object
column); a date is what ``pd.to_datetime(value, utc=True, format="ISO8601")`` makes of
it, read by Python when the text is a form both read alike and by pandas otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mlcycle.models.sklearn.preprocess import TO_DATETIME

DATE_PARTS: dict[str, Callable[[datetime], int]] = {
    "year": lambda t: t.year,
    "month": lambda t: t.month,
    "day": lambda t: t.day,
    "day_of_week": lambda t: t.weekday(),  # Monday is 0 in pandas as in Python
    "hour": lambda t: t.hour,
}
# Dates Python reads exactly as pandas' ISO 8601 parser does; others go to pandas.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?")


class Unreadable(ValueError):
    """A value the pipeline would refuse; the message says why, in a few words."""


def is_missing(value: Any) -> bool:
    """What ``pandas.isna`` calls missing, for the values JSON and Python give."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def read_number(value: Any) -> float:
    """A value as the imputer reads it (``float()``); NaN for null; inf is refused."""
    if value is None:
        return math.nan
    if isinstance(value, bool | int | float | np.number | str):
        try:
            number = float(value)
        except ValueError:
            raise Unreadable(f"{value!r} is not a number") from None
        if math.isinf(number):
            raise Unreadable(f"{value!r} is not a finite number")
        return number
    raise Unreadable(f"{value!r} is not a number")


def one_number(value: Any) -> tuple[float]:
    """:func:`read_number` as a one-value reading (what every column reader returns)."""
    return (read_number(value),)


def date_reader(parts: Sequence[str]) -> Callable[[Any], tuple[float, ...]]:
    """Reads the given parts of a date (``year``, ``day_of_week``...) as the pipeline
    does, parsing the value once for all of them."""
    getters = [DATE_PARTS[part] for part in parts]
    nothing = (math.nan,) * len(getters)

    def read(value: Any) -> tuple[float, ...]:
        stamp = None if is_missing(value) else _utc(value)
        return nothing if stamp is None else tuple(float(get(stamp)) for get in getters)

    return read


def _utc(value: Any) -> datetime | None:
    """``pd.to_datetime(value, utc=True, format="ISO8601")``, quickly when it can be."""
    if isinstance(value, str) and _ISO.fullmatch(value):
        try:
            return _as_utc(datetime.fromisoformat(value))
        except ValueError:
            pass  # pandas gives the verdict below
    elif isinstance(value, datetime):
        return _as_utc(value)
    try:
        stamp = pd.to_datetime(pd.Series([value]), **TO_DATETIME).iloc[0]
    except (ValueError, TypeError, OverflowError):
        raise Unreadable(f"{value!r} is not a date (ISO 8601, e.g. 2024-03-01)") from None
    return None if stamp is pd.NaT else stamp.to_pydatetime()


def _as_utc(stamp: datetime) -> datetime:
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
