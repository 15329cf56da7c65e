"""The errors predictors raise, re-exported from the one exception tree in
:mod:`hwnas.errors` (where they are defined, beside every other hwnas error)."""

from __future__ import annotations

from hwnas.errors import (
    ArtifactError,
    LookupTableError,
    NotFittedError,
    PredictorContractError,
    PredictorError,
    UnknownKindError,
)

__all__ = [
    "ArtifactError",
    "LookupTableError",
    "NotFittedError",
    "PredictorContractError",
    "PredictorError",
    "UnknownKindError",
]
