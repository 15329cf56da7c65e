"""hwnas: hardware-aware neural architecture search.

Every workflow of the command line is a Python call::

    import hwnas

    ms = hwnas.profile(["model.onnx"])                       # list[Measurement]
    ms = hwnas.profile_space("nb201", sample=20, seed=0)     # sampled, exported, measured
    store = hwnas.open_store("hwnas.db")
    frame = store.to_frame(device="local")                   # a pandas table
    hwnas.export_measurements("team.parquet", store)         # or a store URL: shared
    hwnas.import_measurements("team.parquet", store)         # idempotent: adds what is new
    lut = hwnas.build_lut("chain", device="local")           # LookupTable
    pred = hwnas.train_predictor(space="nb201", metric="latency_ms", device="local")
    result = hwnas.search(space="nb201", predictors={"latency_ms": pred},
                          budgets={"latency_ms": 5.0})
    result.pareto[0].arch, result.to_frame()

Names are imported on first use, so ``import hwnas`` is cheap and never imports torch.
Errors a user can hit are :class:`hwnas.HwnasError` subclasses (``hwnas.errors``);
progress is reported through ``progress=`` callbacks (``hwnas.events``), never printed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("hwnas")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

#: Public name -> the module that defines it (imported on first access).
_EXPORTS: dict[str, str] = {
    # workflows
    "profile": "hwnas.profiler.api",
    "profile_space": "hwnas.profiler.api",
    "resume": "hwnas.profiler.api",
    "queue_status": "hwnas.profiler.api",
    "cancel_jobs": "hwnas.profiler.api",
    "queue_add": "hwnas.profiler.worker",
    "run_worker": "hwnas.profiler.worker",
    "check_device": "hwnas.profiler.api",
    "open_store": "hwnas.store",
    "import_measurements": "hwnas.sharing",
    "export_measurements": "hwnas.sharing",
    "build_lut": "hwnas.predictors.build",
    "build_kernel_predictor": "hwnas.predictors.build",
    "estimate_memory": "hwnas.predictors.memory",
    "quantize_model": "hwnas.profiler.quantize",
    "train_predictor": "hwnas.predictors.train",
    "evaluate_predictor": "hwnas.predictors.train",
    "load_predictor": "hwnas.predictors.artifacts",
    "get_space": "hwnas.spaces",
    "quickstart": "hwnas.search.pipeline",
    "report": "hwnas.search.report",
    # vocabulary
    "Predictor": "hwnas.predictors.base",
    "SearchResult": "hwnas.search.api",
    "Store": "hwnas.store",
    "Arch": "hwnas.records",
    "DeviceSpec": "hwnas.records",
    "Fingerprint": "hwnas.records",
    "Measurement": "hwnas.records",
    "Event": "hwnas.events",
    "HwnasError": "hwnas.errors",
}

__all__ = sorted([*_EXPORTS, "search", "__version__"])


def __getattr__(name: str) -> Any:
    # ``hwnas.search`` is the subpackage, and calling it runs a search: the module is
    # callable (see hwnas/search/__init__.py), so ``hwnas.search(...)`` works whether or
    # not the subpackage was imported before.
    if name == "search":
        return importlib.import_module("hwnas.search")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hwnas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from hwnas.errors import HwnasError as HwnasError
    from hwnas.events import Event as Event
    from hwnas.records import Arch as Arch
    from hwnas.records import DeviceSpec as DeviceSpec
    from hwnas.records import Fingerprint as Fingerprint
    from hwnas.records import Measurement as Measurement
    from hwnas.store import Store as Store
