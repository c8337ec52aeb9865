"""``monitor compare`` on logs written as an experimenting server writes them.

Shadow rows go to the shadow log with the champion's request ids; canary rows to the
main log with ``arm`` = canary; feedback labels (request_id, index).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.data.experiment import read_experiment
from mlcycle.data.predlog import (
    FEEDBACK_SCHEMA,
    PREDICTION_SCHEMA,
    log_roots,
    new_request_id,
    shadow_root,
    write_partitioned,
)
from mlcycle.monitor.compare import compare_window, headline
from mlcycle.monitor.results import NoData

LABELS = np.array([f"{code:02d}.1{letter}" for code in range(10, 20) for letter in "AB"])


def log_table(
    ids: list[str], ms: np.ndarray, version: str, top1: list[str], arm: str | None,
    values: list[float] | None = None,
) -> pa.Table:  # fmt: skip
    """Rows of single-text requests in the prediction log's schema."""
    n = len(ids)
    regression = values is not None
    return pa.Table.from_pydict(
        {
            "request_id": ids, "index": pa.array(np.zeros(n), pa.int32()),
            "batch_size": pa.array(np.ones(n), pa.int32()),
            "timestamp": pa.array(np.asarray(ms, np.int64)).cast(pa.timestamp("ms", tz="UTC")),
            "model_name": ["nace"] * n, "model_version": [version] * n,
            "text": ["some text"] * n, "text_hash": pa.nulls(n, pa.string()),
            "text_chars": pa.array(np.full(n, 9), pa.int32()),
            "codes": [[] for _ in top1] if regression else [[c, "99.9Z"] for c in top1],
            "probabilities": pa.array([[] if regression else [0.9, 0.1]] * n,
                                      pa.list_(pa.float32())),
            "latency_ms": pa.array(np.full(n, 2.0), pa.float32()),
            "api_key": pa.nulls(n, pa.string()), "record": pa.nulls(n, pa.string()),
            "value": pa.array(values if regression else [None] * n, pa.float64()),
            "first_of_request": pa.array([True] * n), "arm": pa.array([arm] * n, pa.string()),
        },
        schema=PREDICTION_SCHEMA,
    )  # fmt: skip


def feedback(ids: list[str], ms: np.ndarray, truth: list[str] | None,
             values: list[float] | None = None) -> pa.Table:  # fmt: skip
    n = len(ids)
    return pa.Table.from_pydict(
        {
            "request_id": ids, "index": pa.array(np.zeros(n), pa.int32()),
            "timestamp": pa.array(np.asarray(ms, np.int64) + 500).cast(
                pa.timestamp("ms", tz="UTC")),
            "true_code": pa.array(truth if truth is not None else [None] * n, pa.string()),
            "predicted_code": pa.nulls(n, pa.string()), "model_name": ["nace"] * n,
            "model_version": ["1"] * n, "api_key": pa.nulls(n, pa.string()),
            "true_value": pa.array(values if values is not None else [None] * n, pa.float64()),
        },
        schema=FEEDBACK_SCHEMA,
    )  # fmt: skip


def write_shadow(
    settings: object, n: int, champion: str, challenger: str, champion_right: float,
    challenger_right: float, labelled: int | None = None, seed: int = 0,
    hours_ago: float = 1.0,
) -> None:  # fmt: skip
    """``n`` shadowed requests: each version right on its share of them (the
    challenger's hits include the champion's when it is the better), ``labelled`` of
    them with feedback (all by default)."""
    rng = np.random.default_rng(seed)
    start = int((datetime.now(UTC) - timedelta(hours=hours_ago)).timestamp() * 1000)
    ms = start + np.arange(n) * 100
    ids = [new_request_id(int(m)) for m in ms]
    truth = LABELS[rng.integers(0, LABELS.size, n)]
    wrong = np.roll(LABELS, 1)[np.searchsorted(LABELS, truth)]
    order = rng.permutation(n)
    a = np.where(np.isin(np.arange(n), order[: round(champion_right * n)]), truth, wrong)
    b = np.where(np.isin(np.arange(n), order[: round(challenger_right * n)]), truth, wrong)
    predictions, feedback_root = log_roots(settings)  # type: ignore[arg-type]
    write_partitioned(predictions, log_table(ids, ms, champion, a.tolist(), "champion"))
    write_partitioned(
        shadow_root(settings),  # type: ignore[arg-type]
        log_table(ids, ms, challenger, b.tolist(), "shadow"),
    )
    k = n if labelled is None else labelled
    write_partitioned(feedback_root, feedback(ids[:k], ms[:k], truth[:k].tolist()))


def test_shadow_pairs_show_agreement_disagreements_and_the_difference(project_home: Path) -> None:
    settings = get_settings()
    write_shadow(settings, 600, "1", "2", champion_right=0.6, challenger_right=0.75)
    now = datetime.now(UTC)
    result = compare_window(settings, now - timedelta(days=1), now)
    [found] = result.comparisons
    assert (found.mode, found.champion_version, found.challenger_version) == ("shadow", "1", "2")
    assert found.rows == {"champion": 600, "challenger": 600}
    assert found.labelled == {"champion": 600, "challenger": 600}
    assert found.agreement is not None and found.agreement["rate"]["value"] == pytest.approx(0.85)
    assert found.agreement["disagreements"]
    accuracy = found.metrics["accuracy_top1"]
    assert accuracy.difference.value == pytest.approx(0.15)
    assert accuracy.difference.low > 0.0 and accuracy.difference.p_value < 1e-6
    text = "\n".join(headline(result.to_dict()["comparisons"][0]))
    assert "agreement 85.0%" in text and "accuracy_top1" in text and "McNemar" in text


def test_canary_arms_are_compared_independently(project_home: Path) -> None:
    settings = get_settings()
    start = int((datetime.now(UTC) - timedelta(hours=2)).timestamp() * 1000)
    ms = start + np.arange(400) * 100
    ids = [new_request_id(int(m)) for m in ms]
    truth = ["10.1A"] * 400
    # Requests alternate between the arms: the champion right on 150 of its 200, the
    # canary on 190 of its 200.
    top1 = ["10.1A"] * 150 + ["11.1B"] * 50 + ["10.1A"] * 190 + ["11.1B"] * 10
    arm = np.arange(400) % 2 == 1
    predictions, feedback_root = log_roots(settings)
    champion = [i for i in range(400) if not arm[i]]
    canary = [i for i in range(400) if arm[i]]
    write_partitioned(predictions, log_table([ids[i] for i in champion], ms[champion], "1",
                                             top1[:200], "champion"))  # fmt: skip
    write_partitioned(predictions, log_table([ids[i] for i in canary], ms[canary], "2",
                                             top1[200:], "canary"))  # fmt: skip
    write_partitioned(feedback_root, feedback(ids, ms, truth))
    now = datetime.now(UTC)
    [found] = compare_window(settings, now - timedelta(days=1), now).comparisons
    assert found.mode == "canary" and found.agreement is None
    assert found.labelled == {"champion": 200, "challenger": 200}
    accuracy = found.metrics["accuracy_top1"]
    assert accuracy.champion.value == 0.75 and accuracy.challenger.value == 0.95
    assert accuracy.difference.low > 0.0 and "Fisher" in accuracy.difference.test


def test_rows_outside_experiments_are_no_experiment(project_home: Path) -> None:
    settings = get_settings()
    start = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
    ms = start + np.arange(50) * 100
    ids = [new_request_id(int(m)) for m in ms]
    write_partitioned(log_roots(settings)[0], log_table(ids, ms, "1", ["10.1A"] * 50, None))
    now = datetime.now(UTC)
    assert read_experiment(settings, now - timedelta(days=1), now).empty
    with pytest.raises(NoData, match="No shadow or canary traffic"):
        compare_window(settings, now - timedelta(days=1), now)


def test_a_regression_compares_values_and_errors(project_home: Path) -> None:
    settings = get_settings()
    rng = np.random.default_rng(2)
    start = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
    ms = start + np.arange(300) * 100
    ids = [new_request_id(int(m)) for m in ms]
    truth = rng.normal(100.0, 20.0, 300)
    a, b = truth + rng.normal(0, 10, 300), truth + rng.normal(0, 5, 300)
    predictions, feedback_root = log_roots(settings)
    write_partitioned(predictions, log_table(ids, ms, "1", [""] * 300, "champion", a.tolist()))
    write_partitioned(shadow_root(settings), log_table(ids, ms, "2", [""] * 300, "shadow",
                                                       b.tolist()))  # fmt: skip
    write_partitioned(feedback_root, feedback(ids, ms, None, truth.tolist()))
    rows = read_experiment(settings, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
    from mlcycle.models.live_compare import compare_shadow

    found = compare_shadow(rows.shadow, "1", "2", regression=True)
    assert found.agreement is not None and found.agreement["largest"]
    rmse = found.metrics["rmse"]
    assert rmse.difference.high < 0.0 and rmse.ratio is not None and rmse.ratio.high < 1.0
