"""fastText's supervised classifier, our own engine: numpy to predict, numba to train."""

from mlcycle.models.fasttext.classifier import FastTextClassifier
from mlcycle.models.fasttext.params import FastTextParams

__all__ = ["FastTextClassifier", "FastTextParams"]
