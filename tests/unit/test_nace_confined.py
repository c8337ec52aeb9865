"""The NACE flagship is one project among others: its names stay in the text task.

Every ``.py`` file of ``src/mlcycle`` outside ``src/mlcycle/tasks/text`` must be free of
the words ``nace`` and ``naf`` (any case, in code, comments and docstrings alike): a
stage that names them has knowledge of one project that every other project would
carry. Allowed, and so not searched:

* ``src/mlcycle/tasks/text/``: the text task owns the NAF rev.2 nomenclature, its
  generator, vocabulary and the packaged example project (``default_project.yaml``);
* data files anywhere (``*.yaml``, ``*.csv``, templates): the project files of the
  examples and the deploy manifests rendered for the flagship project describe *that*
  project, as a user's own project file describes theirs;
* ``tests/``, ``examples/``, ``benchmarks/`` and ``docs/``, which exercise and measure
  the flagship on purpose.

Words are compared whole after splitting identifiers (``NAF_REV2``, ``naf-rev2``,
``NaceVocabulary``, ``nace@production`` are caught), so English words that merely
contain the letters (``menace``, ``unaffected``) are not.
"""

from __future__ import annotations

import re
from pathlib import Path

import mlcycle

PACKAGE = Path(mlcycle.__file__).parent
ALLOWED = PACKAGE / "tasks" / "text"
FORBIDDEN = {"nace", "naf"}
# A capitalised or lower-case run of letters, or an upper-case run not followed by a
# lower-case letter: ``NAFRev2`` -> NAF, Rev; ``nace_vocabulary`` -> nace, vocabulary.
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _mentions(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if any(word.lower() in FORBIDDEN for word in _WORD.findall(line)):
            found.append((number, line.strip()))
    return found


def test_the_word_split_catches_identifiers_and_spares_english_words() -> None:
    caught = ["NAF_REV2", "_naf_rev2", "naf-rev2", "NaceVocabulary", "nace@production", "NACE"]
    spared = ["menace", "furnace", "unaffected", "Nacelle", "snafu"]
    assert all(_mentions(text) for text in caught)
    assert not any(_mentions(text) for text in spared)


def test_no_module_outside_the_text_task_names_nace() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.is_relative_to(ALLOWED)
        for number, line in _mentions(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "NACE names outside mlcycle/tasks/text:\n" + "\n".join(offenders)
