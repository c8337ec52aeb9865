"""The ``mlcycle`` command line: one Typer root, one sub-app per noun."""
