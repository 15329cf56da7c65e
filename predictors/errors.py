"""The errors predictors raise; all are :class:`~hwnas.errors.HwnasError` subclasses.

Messages say what is wrong and what to do, like every hwnas error. Every predictor
error lives here (``hwnas.predictors.lut.LookupTableError`` is re-exported there for
code that imported it from its old place).
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


class UnknownKindError(PredictorError):
    """No predictor class is registered under a kind (built in, registered with
    ``register_predictor`` or through the entry point group ``hwnas.predictors``)."""

    kind = "unknown_predictor_kind"


class LookupTableError(PredictorError):
    """A lookup table cannot be built, read or used as asked."""

    kind = "lookup_table"


class PredictorContractError(PredictorError):
    """A predictor class that breaks the predictor contract (``hwnas.predictors.contract``);
    the message names the check and what to fix."""

    kind = "predictor_contract"


__all__ = [
    "ArtifactError",
    "LookupTableError",
    "NotFittedError",
    "PredictorContractError",
    "PredictorError",
    "UnknownKindError",
]
