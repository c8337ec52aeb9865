"""The interrupt gate: Ctrl-C is raised inside a fit or at a check, never in between."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from mlcycle.train.tune.runs import InterruptGate


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # let the interpreter run the handler


def test_outside_a_fit_ctrl_c_waits_for_the_next_check() -> None:
    gate = InterruptGate()
    with pytest.raises(KeyboardInterrupt), gate:
        _ctrl_c()  # e.g. while a run is being written: nothing raised here
        reached = True
        gate.check()
    assert reached and gate.pending


def test_inside_a_fit_ctrl_c_is_raised_at_once_and_only_once() -> None:
    gate = InterruptGate()
    reached = False
    with pytest.raises(KeyboardInterrupt), gate:  # the gate, left normally, raises the note
        with pytest.raises(KeyboardInterrupt), gate.fit():
            _ctrl_c()
            pytest.fail("the fit should have been interrupted")
        _ctrl_c()  # a terminal's Ctrl-C plus a forwarded one: the second is only noted
        reached = True
    assert reached


def test_a_ctrl_c_noted_last_is_not_swallowed_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    gate = InterruptGate()
    with pytest.raises(KeyboardInterrupt), gate:
        _ctrl_c()
    assert signal.getsignal(signal.SIGINT) is before
    with gate, gate.fit():
        pass  # no Ctrl-C: nothing raised


class _Finalized:
    """An object whose finalizer runs while Ctrl-C arrives (as SQLAlchemy's do)."""

    def __del__(self) -> None:
        _ctrl_c()


def test_a_ctrl_c_landing_in_a_finalizer_is_raised_at_the_check_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    printed: list[object] = []  # what Python would print as "Exception ignored in ..."
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    gate = InterruptGate()
    with pytest.raises(KeyboardInterrupt), gate:
        with gate.fit():
            _Finalized()  # freed at once: the handler raises inside __del__
        gate.check()
    assert gate.pending and printed == []
    assert sys.unraisablehook == printed.append
