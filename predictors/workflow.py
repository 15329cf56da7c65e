"""What the workflows of the predictors layer share (``hwnas.build_lut``,
``hwnas.build_kernel_predictor``): arguments resolved and checked (a space or its name, a
device or its name, options), bad ones as ``ParameterError`` naming the parameter, and a
measuring stage's failures raised as exceptions.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from hwnas.devices.registry import get_device
from hwnas.errors import ConnectionLostError, ParameterError, ProfileError
from hwnas.profiler.stage import StageOutcome
from hwnas.records import DeviceSpec


def resolve_device(device: str | DeviceSpec) -> DeviceSpec:
    """``device`` itself, or the registered device of that name (``UnknownDeviceError``
    lists the known ones)."""
    if isinstance(device, DeviceSpec):
        return device
    if isinstance(device, str) and device:
        return get_device(device)
    raise ParameterError("device", f"must be a device name or a DeviceSpec, got {device!r}")


def check_options(function: Any, options: Mapping[str, Any], *, caller: str) -> None:
    """Raise ``ParameterError`` for a name in ``options`` (the ``**options`` of
    ``caller``) that is not a keyword-only parameter of ``function``, naming the known
    ones."""
    known = [
        p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]
    for name in options:
        if name not in known:
            raise ParameterError(name, f"is not an option of {caller}; known: {', '.join(known)}")


def raise_stage_problems(stages: Sequence[StageOutcome], *, again: str, result: object) -> None:
    """The first problem of ``stages`` as an exception: the device's error, a lost
    connection (``ConnectionLostError``), or failed jobs (``ProfileError`` whose
    ``result`` is ``result``, the workflow's report of everything it did)."""
    for stage in stages:
        if stage.device_error is not None:
            raise stage.device_error
        if stage.connection_lost:
            raise ConnectionLostError(
                f"lost {stage.device} while measuring {stage.stage}: {stage.connection_lost}; "
                f"what was measured is stored: call {again} again to finish"
            )
    failed = [e for stage in stages for e in stage.errors]
    if failed:
        first = failed[0]
        raise ProfileError(
            f"{len(failed)} measurement(s) failed on {stages[0].device}, first "
            f"{first.get('model')}: {first.get('message')}; what was measured is stored: "
            f"call {again} again to retry the failed ones",
            result,
        )
