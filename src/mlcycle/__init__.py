"""mlcycle: take a model from a data file to a monitored production service and back.

Importing the package has no side effects and imports nothing heavy; the library's
functions live in the stage packages (``mlcycle.data``, ``mlcycle.train``, ...).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
