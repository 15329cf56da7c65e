"""Per-device predictors of latency, peak memory and energy (see DESIGN.md).

- :func:`train_predictor` / :func:`evaluate_predictor`: the workflows (from a table or
  the store); ``hwnas.predictors.build``: lookup tables and kernel-level predictors
  measured on a device. Every kind implements :class:`Predictor` and registers itself
  (:func:`register_predictor`; third parties through the entry point group
  ``hwnas.predictors``); ``hwnas.predictors.contract`` checks an implementation.
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
from hwnas.predictors.base import FeaturePredictor, Interval, Origin, Predictor
from hwnas.predictors.errors import ArtifactError, NotFittedError, PredictorError
from hwnas.predictors.lgbm import LightGBMPredictor
from hwnas.predictors.registry import predictor_kinds, register_predictor
from hwnas.predictors.train import evaluate_predictor, train_predictor
from hwnas.predictors.transfer import TransferPredictor

__all__ = [
    "FORMAT_VERSION",
    "ArtifactError",
    "FeaturePredictor",
    "Interval",
    "LightGBMPredictor",
    "NotFittedError",
    "Origin",
    "Predictor",
    "PredictorError",
    "TransferPredictor",
    "evaluate_predictor",
    "load_predictor",
    "predictor_kinds",
    "read_meta",
    "register_predictor",
    "save_predictor",
    "train_predictor",
]
