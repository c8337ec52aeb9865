"""The store-wide lock on a real (embedded) MLflow store."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlcycle.core.errors import Unavailable
from mlcycle.core.lock import PREFIX, poll_delays, registry_lock, try_acquire
from mlcycle.core.tracking import tracking_restored, use_tracking


@pytest.fixture
def store(project_home: Path):
    with tracking_restored():
        use_tracking()
        yield MlflowClient()


def test_a_create_that_committed_is_ours_and_anyone_else_waits(store: MlflowClient) -> None:
    name = PREFIX + "lost-answer"
    # The create reached the store but its answer was lost: the retried create is told
    # the name exists. The owner who made it holds the lock; any other owner does not.
    store.create_registered_model(name, tags={"mlcycle.lock_owner": "me (token-1)"})
    assert try_acquire(name, "me (token-1)", stale_after_s=1800)
    assert not try_acquire(name, "me (token-2)", stale_after_s=1800)
    assert not try_acquire(name, "someone else", stale_after_s=1800)


def test_a_stale_lock_is_broken_and_a_fresh_one_is_not(store: MlflowClient) -> None:
    name = PREFIX + "stale"
    store.create_registered_model(name, tags={"mlcycle.lock_owner": "a killed holder"})
    assert not try_acquire(name, "waiter", stale_after_s=1800)
    assert store.get_registered_model(name).tags["mlcycle.lock_owner"] == "a killed holder"
    time.sleep(0.05)
    assert not try_acquire(name, "waiter", stale_after_s=0.01)  # broken on this attempt
    assert try_acquire(name, "waiter", stale_after_s=1800)  # and taken on the next


def test_two_holders_never_overlap_and_the_lock_is_released(store: MlflowClient) -> None:
    inside: list[int] = []
    overlaps: list[int] = []

    def hold(who: int) -> None:
        with registry_lock("overlap", timeout_s=60):
            inside.append(who)
            if len(inside) > 1:
                overlaps.append(who)
            time.sleep(0.3)
            inside.remove(who)

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert store.search_registered_models(f"name = '{PREFIX}overlap'") == []


def test_a_waiter_gives_up_with_a_sentence_naming_the_holder(store: MlflowClient) -> None:
    store.create_registered_model(PREFIX + "held", tags={"mlcycle.lock_owner": "ann@box pid 7"})
    expected = r"registry lock 'held' \(ann@box pid 7\); retry"
    with pytest.raises(Unavailable, match=expected), registry_lock("held", timeout_s=0.5):
        pass


def test_polls_grow_to_a_few_seconds_and_are_spread() -> None:
    delays = list(itertools.islice(poll_delays(), 40))
    assert delays[0] < 0.4 and max(delays) <= 5.0
    assert sum(delays[:10]) > 10 * 0.4  # grows: ten polls take seconds, not 2.5 s
    assert len({round(d, 6) for d in delays[-10:]}) > 1  # jittered, waiters do not align
