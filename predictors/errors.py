"""The errors predictors raise; all are :class:`~hwnas.errors.HwnasError` subclasses.

Messages say what is wrong and what to do, like every hwnas error.
"""

from __future__ import annotations

from hwnas.errors import HwnasError


class PredictorError(HwnasError):
    """A predictor cannot be trained, loaded or used as asked."""

    exit_code = 2
    kind = "predictor"


class ArtifactError(PredictorError):
    """A predictor directory is missing, incomplete, tampered with or does not match."""

    kind = "predictor_artifact"


class NotFittedError(PredictorError, ValueError, AttributeError):
    """A predictor was used before ``fit`` (scikit-learn's ``NotFittedError`` contract:
    also a ``ValueError`` and an ``AttributeError``)."""

    kind = "not_fitted"
