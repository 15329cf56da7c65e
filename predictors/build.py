"""Workflows that measure on a device and return a predictor: ``hwnas.build_lut`` and
``hwnas.build_kernel_predictor``.

Both measure only what the store lacks under the device's current fingerprint (every
job is queued in the store before it runs, so after Ctrl-C or a lost device the same
call finishes the work), report progress through ``progress=`` callbacks
(``hwnas.events``; the library prints nothing) and raise ``HwnasError`` subclasses;
bad Python arguments are ``ParameterError`` naming the parameter.

``build_lut`` and ``build_kernel_predictor`` return the predictor and raise on any
failure; :func:`run_lut_build` and :func:`run_kernel_build` return a report of
everything that happened (what was measured, skipped and failed, Ctrl-C), which is what
the command line renders.
"""

from __future__ import annotations

from hwnas.predictors.kernel_build import (
    KernelBuild,
    build_kernel_predictor,
    kernel_settings,
    measure_kernels,
    run_kernel_build,
)
from hwnas.predictors.lut_build import (
    CalibratedTable,
    LutBuild,
    build_lut,
    calibrated_table,
    run_lut_build,
)

__all__ = [
    "CalibratedTable",
    "KernelBuild",
    "LutBuild",
    "build_kernel_predictor",
    "build_lut",
    "calibrated_table",
    "kernel_settings",
    "measure_kernels",
    "run_kernel_build",
    "run_lut_build",
]
