"""Stands in as the ``__main__`` of pytest-xdist's workers (see ``tests/conftest.py``).

A process a test spawns runs its parent's ``__main__`` file first: this one does nothing.
"""
