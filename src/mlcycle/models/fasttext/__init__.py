"""fastText's supervised classifier, our own engine on numpy and numba."""

from mlcycle.models.fasttext.classifier import FastTextClassifier
from mlcycle.models.fasttext.params import FastTextParams

__all__ = ["FastTextClassifier", "FastTextParams"]
