"""Per-device predictors of latency, peak memory and energy (see DESIGN.md).

- :class:`LightGBMPredictor` learns a metric of one space's architectures on one
  device from measurements (``hwnas.predictors.lgbm``); :class:`TransferPredictor` adapts a
  predictor of one device to another from a few measurements (``hwnas.predictors.transfer``).
- :func:`load_predictor` / ``Predictor.save`` read and write predictor directories of
  open-format files, checked on load (``hwnas.predictors.artifacts``).
- :mod:`hwnas.predictors.data` gets training data from the store or a table;
  :mod:`hwnas.predictors.metrics` scores predictions; :mod:`hwnas.predictors.features` turns
  architectures into feature vectors.
"""

from __future__ import annotations

from hwnas.predictors.artifacts import FORMAT_VERSION, load_predictor, read_meta, save_predictor
from hwnas.predictors.base import Interval, Origin, Predictor
from hwnas.predictors.errors import ArtifactError, NotFittedError, PredictorError
from hwnas.predictors.lgbm import LightGBMPredictor
from hwnas.predictors.transfer import TransferPredictor

__all__ = [
    "FORMAT_VERSION",
    "ArtifactError",
    "Interval",
    "LightGBMPredictor",
    "NotFittedError",
    "Origin",
    "Predictor",
    "PredictorError",
    "TransferPredictor",
    "load_predictor",
    "read_meta",
    "save_predictor",
]
