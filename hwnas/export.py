"""Torch module -> ONNX file, through one of torch's exporters (:data:`DEFAULT_EXPORTER`
unless told otherwise), and the one
export cache: files named by the content hash of everything they depend on, under
``<cache_dir>/onnx`` (:func:`cached_export`; architectures through :func:`export_arch`,
lookup-table blocks through ``hwnas.profiler.lut.export_block``).

Many architectures export in parallel on any ``concurrent.futures.Executor``
(``hwnas.executors.open_executor``: local processes or a Dask cluster): a worker exports
into its own cache and sends the file back (:func:`export_in_worker`), which lands in this
host's cache (:func:`install_export`); :func:`exporting_ahead` submits a sample's exports
before its measurements start, and :func:`export_arch` then waits for a file underway
instead of exporting it again.

torch is imported inside the functions: the core must stay importable without it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwnas.config import cache_dir
from hwnas.errors import ExportError as ExportError  # re-exported: its old home
from hwnas.errors import ParameterError
from hwnas.onnx_model import file_hash
from hwnas.records import stable_hash

if TYPE_CHECKING:
    from hwnas.spaces.base import SearchSpace


#: torch's ONNX exporters: ``dynamo`` (torch.export; the default and the future) and
#: ``torchscript`` (the legacy tracer: deprecated, but about 10x faster to export).
EXPORTERS = ("dynamo", "torchscript")
#: The exporter of every command and call that is not given one, chosen by measured
#: speed: ``torchscript`` exported an NB201 cell in 1.0 s, ``dynamo`` in 6.8 s (torch 2.13,
#: a 2-core host; issue 11 measured 8.1 s against 28.6 s for 8 cells). The guard that its
#: files compute what the torch module does is the space contract's
#: ``check_onnx_export``, which exports with this default and compares onnxruntime's
#: output with torch's for every space. Jobs queued before this default existed name
#: their exporter, or meant ``dynamo`` (``hwnas.profiler.fleet``).
DEFAULT_EXPORTER = "torchscript"
# torch's exporters are not known to be thread-safe; fleets export from worker threads.
_EXPORT_LOCK = threading.Lock()


def check_exporter(exporter: str) -> str:
    """``exporter`` if it is one of :data:`EXPORTERS`; else a ``ParameterError`` naming it
    (the CLI says ``--exporter``)."""
    if exporter not in EXPORTERS:
        raise ParameterError(
            "exporter",
            f"names an unknown exporter {exporter!r}; use one of {', '.join(EXPORTERS)}",
        )
    return exporter


def export_onnx(
    module: Any,
    input_shape: Sequence[int],
    path: str | Path,
    *,
    opset: int = 18,
    exporter: str = DEFAULT_EXPORTER,
) -> Path:
    """Export ``module`` (eval mode) for one input of ``input_shape`` to ``path``.

    The file is written to a temporary name first and renamed, so a crash never
    leaves a truncated model behind. Returns the path.
    """
    import onnx
    import torch

    check_exporter(exporter)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    example = torch.randn(*input_shape)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with _quiet_exporter():
            _torch_export(module, example, tmp, opset=opset, exporter=exporter)
        _keep_input(tmp, input_shape)
        onnx.checker.check_model(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    except Exception as exc:
        raise ExportError(f"exporting {type(module).__name__} to ONNX failed: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _keep_input(path: str, input_shape: Sequence[int]) -> None:
    """Give the model back the input torchscript's exporter dropped: a module whose output
    does not depend on its input (an NB201 cell with no path from input to output) exports
    without graph inputs, and a runner fed the model's one input would find none. The
    input is added unused, as the dynamo exporter leaves it."""
    import onnx

    model = onnx.load(path)
    if len(model.graph.input) > 0:
        return
    model.graph.input.append(
        onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, list(input_shape))
    )
    onnx.save(model, path)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """One export at a time, with torch's exporter silenced: it chats on stdout and warns
    about its own internals; neither is the user's business, and stdout must stay clean
    for --json."""
    loggers = [
        logging.getLogger(n)
        for n in ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript", "onnx_ir")
    ]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with _EXPORT_LOCK, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _torch_export(module: Any, example: Any, tmp: str, *, opset: int, exporter: str) -> None:
    import torch

    with torch.no_grad():
        if exporter == "dynamo":
            program = torch.onnx.export(
                module, (example,), dynamo=True, opset_version=opset, verbose=False
            )
            assert program is not None
            program.save(tmp)
        else:
            torch.onnx.export(
                module,
                (example,),
                tmp,
                dynamo=False,
                opset_version=opset,
                input_names=["input"],
                output_names=["output"],
            )


# --------------------------------------------------------------------------- cache

#: Bump when the way a space's module becomes an ONNX file changes (invalidates the cache).
EXPORT_FORMAT_VERSION = 2  # 2: a graph input always (_keep_input)


@dataclass(frozen=True)
class Exported:
    """An ONNX file in the export cache."""

    path: Path
    key: str
    cached: bool  # True: the file was already there; False: exported now


#: The name ``export_arch`` has always returned (an architecture's file).
ExportedArch = Exported


def default_cache() -> Path:
    """The export cache of this user: ``<cache_dir>/onnx`` (``hwnas.config.cache_dir``)."""
    return cache_dir() / "onnx"


def content_key(
    space: SearchSpace,
    subject: Mapping[str, Any],
    input_shape: Sequence[int],
    *,
    opset: int,
    exporter: str,
    format: int = EXPORT_FORMAT_VERSION,
) -> str:
    """Content hash of everything an exported file depends on: the space (its identity,
    constructor arguments included), what of it is exported (``subject``: an architecture
    or a block), the input shape, torch's version, the opset, the exporter and ``format``.
    Equal keys mean interchangeable files; a torch upgrade exports afresh."""
    import torch

    return stable_hash(
        {
            "space": space.identity(),
            **subject,
            "input_shape": list(input_shape),
            "torch": torch.__version__,
            "opset": opset,
            "exporter": exporter,
            "format": format,
        }
    )


def cached_export(
    key: str,
    module: Callable[[], Any],
    input_shape: Sequence[int],
    *,
    record: Mapping[str, Any],
    cache: str | Path | None = None,
    opset: int = 18,
    exporter: str = DEFAULT_EXPORTER,
) -> Exported:
    """The ONNX file under content hash ``key``: exported from ``module()`` (called only
    on a miss) once, then served from ``cache`` (default: :func:`default_cache`).

    A cached file is used only if its sidecar record (``record`` plus the key and the
    file's SHA-256) matches its content; a damaged file is exported again. Concurrent
    exporters of one key are safe (atomic renames, same content). Raises ``ExportError``
    when the export fails or the cache is not writable.
    """
    if cache is None and (ahead := _ahead(key)) is not None:
        return ahead  # submitted ahead to an executor (exporting_ahead): its file
    folder = Path(cache) if cache is not None else default_cache()
    path = folder / key[:2] / f"{key}.onnx"
    if cache_hit(path):
        return Exported(path=path, key=key, cached=True)  # else missing or damaged: export
    try:
        export_onnx(module(), input_shape, path, opset=opset, exporter=exporter)
        write_sidecar(path, {**record, "key": key, "sha256": file_hash(path)})
    except OSError as exc:
        raise ExportError(
            f"cannot write the export cache at {folder}: {exc.strerror or exc}; free some "
            f"space, fix its permissions, or point HWNAS_HOME at a writable directory."
        ) from None
    return Exported(path=path, key=key, cached=False)


def export_key(
    space: SearchSpace, arch: str, *, opset: int = 18, exporter: str = DEFAULT_EXPORTER
) -> str:
    """Content hash of everything the exported file of ``arch`` depends on
    (:func:`content_key`): two architectures that compute the same function share one
    file, and a torch upgrade exports afresh."""
    subject = {"arch": space.canonical(arch)}
    return content_key(space, subject, space.arch_input_shape(arch), opset=opset, exporter=exporter)


def export_arch(
    space: SearchSpace,
    arch: str,
    *,
    cache: str | Path | None = None,
    opset: int = 18,
    exporter: str = DEFAULT_EXPORTER,
) -> Exported:
    """The ONNX file of ``arch``, exported once and then served from the cache
    (:func:`cached_export`; ``cache`` defaults to ``<cache_dir>/onnx``). Raises
    ``InvalidArchError`` for a string not in the space (before exporting anything),
    ``ParameterError`` for an unknown exporter and ``ExportError``."""
    canonical = space.canonical(arch)  # raises InvalidArchError for strings not in the space
    key = export_key(space, canonical, opset=opset, exporter=check_exporter(exporter))
    return cached_export(
        key,
        lambda: space.to_torch(canonical),
        space.arch_input_shape(canonical),
        record={"space": space.name, "arch": canonical},
        cache=cache,
        opset=opset,
        exporter=exporter,
    )


# --------------------------------------------------------------------------- in parallel


@dataclass(frozen=True)
class ExportedFile:
    """A file exported by a worker (another process, another host): its place under the
    export cache, its bytes and its sidecar record, so that this host's cache gets it
    whether or not the worker shares it; ``cached``: the worker found it in its cache.
    ``error``: why the export failed."""

    key: str
    relative: str
    data: bytes = b""
    sidecar: str = ""
    cached: bool = False
    error: str | None = None


def exported_file(export: Callable[[], Exported]) -> ExportedFile:
    """Run ``export`` (in a worker) and return its file with its bytes; a failure is
    returned, not raised: exceptions do not always travel back intact."""
    from hwnas.errors import HwnasError

    try:
        done = export()
        data = done.path.read_bytes()
        sidecar = done.path.with_suffix(".json").read_text()
    except HwnasError as exc:
        return ExportedFile(key="", relative="", error=exc.message)
    except OSError as exc:
        return ExportedFile(key="", relative="", error=f"reading the exported file: {exc}")
    return ExportedFile(done.key, f"{done.key[:2]}/{done.key}.onnx", data, sidecar, done.cached)


def export_in_worker(space: SearchSpace, arch: str, exporter: str, opset: int = 18) -> ExportedFile:
    """:func:`export_arch` in the worker's own cache, returned with the file's bytes (what
    an executor runs; the result pickles)."""
    # The cache named: never wait for an export submitted ahead (in a thread of the
    # process that submitted it, as a Dask LocalCluster without processes runs, that
    # would be waiting for itself).
    return exported_file(
        lambda: export_arch(space, arch, cache=default_cache(), exporter=exporter, opset=opset)
    )


def install_export(exported: ExportedFile, cache: str | Path | None = None) -> Path:
    """Put a worker's export into ``cache`` (default: :func:`default_cache`) unless the same
    file is there already; return its path here. ``ExportError`` for a failed export."""
    if exported.error is not None:
        raise ExportError(exported.error)
    folder = Path(cache) if cache is not None else default_cache()
    path = folder / exported.relative
    if cache_hit(path):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((path, exported.data), (path.with_suffix(".json"), None)):
            fd, tmp = tempfile.mkstemp(suffix=target.suffix, dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content if content is not None else exported.sidecar.encode())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(
            f"cannot write the export cache at {folder}: {exc.strerror or exc}; free some "
            f"space, fix its permissions, or point HWNAS_HOME at a writable directory."
        ) from None
    return path


def cache_hit(path: Path) -> bool:
    """Whether ``path`` is in a file cache (exports, int8 copies) with a sidecar record
    (``path`` with ``.json``) whose ``sha256`` matches its content."""
    sidecar = path.with_suffix(".json")
    try:
        return bool(json.loads(sidecar.read_text()).get("sha256") == file_hash(path))
    except (OSError, ValueError):
        return False


def write_sidecar(path: Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` (with the file's ``sha256``: see :func:`cache_hit`) beside the
    cached file ``path``, atomically and readable by all."""
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(dict(record), fh)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path.with_suffix(".json"))


class _Ahead:
    """An export running on an executor; :meth:`result` waits for it and installs it."""

    def __init__(self, key: str, future: Any) -> None:
        self.key, self.future = key, future
        self._lock = threading.Lock()
        self._done: Exported | None = None

    def result(self) -> Exported:
        with self._lock:
            if self._done is None:
                exported = self.future.result()
                path = install_export(exported)
                self._done = Exported(path=path, key=self.key, cached=exported.cached)
            return self._done


#: Exports submitted ahead (:func:`submitting_ahead`), by their cache key: a
#: :func:`cached_export` of such a key waits for it instead of exporting again.
_AHEAD: dict[str, _Ahead] = {}
_AHEAD_LOCK = threading.Lock()

#: One export to submit ahead: its cache key, the function a worker runs (importable by
#: name, returning an :class:`ExportedFile`) and its arguments.
AheadTask = tuple[str, Callable[..., ExportedFile], tuple[Any, ...]]


@contextlib.contextmanager
def submitting_ahead(executor: Any, tasks: Sequence[AheadTask]) -> Iterator[int]:
    """While the block runs, the ``tasks`` (those whose file is not in the default cache
    yet) run on ``executor``, all submitted at once in order; a :func:`cached_export` of
    one of their keys (to the default cache) waits for it rather than exporting again.
    Yields how many were submitted; those not started when the block ends are cancelled."""
    keys: list[str] = []
    try:
        for key, fn, args in tasks:
            if key in keys or cache_hit(default_cache() / key[:2] / f"{key}.onnx"):
                continue
            ahead = _Ahead(key, executor.submit(fn, *args))
            with _AHEAD_LOCK:
                _AHEAD[key] = ahead
            keys.append(key)
        yield len(keys)
    finally:
        with _AHEAD_LOCK:
            gone = [_AHEAD.pop(k, None) for k in keys]
        for pending in gone:
            if pending is not None:
                pending.future.cancel()


def exporting_ahead(
    space: SearchSpace,
    archs: Sequence[str],
    *,
    executor: Any,
    exporter: str = DEFAULT_EXPORTER,
    opset: int = 18,
) -> contextlib.AbstractContextManager[int]:
    """:func:`submitting_ahead` for the exports of ``archs`` (``executor``: a
    ``concurrent.futures.Executor``, e.g. of ``hwnas.executors.open_executor``), so that
    whoever measures them finds each file ready."""
    tasks: list[AheadTask] = []
    for arch in dict.fromkeys(space.canonical(a) for a in archs):
        key = export_key(space, arch, opset=opset, exporter=check_exporter(exporter))
        tasks.append((key, export_in_worker, (space, arch, exporter, opset)))
    return submitting_ahead(executor, tasks)


def _ahead(key: str) -> Exported | None:
    """The file of an export submitted ahead under ``key`` (waiting for it), else None:
    also when the executor could not run it (a worker process died, a cluster went away),
    so that the caller exports it itself. A failed export is its ``ExportError``."""
    from hwnas.errors import HwnasError

    with _AHEAD_LOCK:
        ahead = _AHEAD.get(key)
    if ahead is None:
        return None
    try:
        return ahead.result()
    except HwnasError:
        raise
    except Exception:  # the executor's failure, not the export's: export here instead
        with _AHEAD_LOCK:
            if _AHEAD.get(key) is ahead:
                del _AHEAD[key]
        return None


def export_archs(
    space: SearchSpace,
    archs: Sequence[str],
    *,
    executor: Any = None,
    exporter: str = DEFAULT_EXPORTER,
    opset: int = 18,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """The ONNX files of ``archs`` (in order), exported on ``executor`` in parallel (or
    here, one by one, when it is ``None``) into the default cache. ``progress(done,
    total)`` after each one. Raises ``ExportError`` naming the first that failed."""
    check_exporter(exporter)
    ahead: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if executor is not None:
        ahead = exporting_ahead(space, archs, executor=executor, exporter=exporter, opset=opset)
    paths = []
    with ahead:
        for i, arch in enumerate(archs, start=1):
            paths.append(export_arch(space, arch, exporter=exporter, opset=opset).path)
            if progress is not None:
                progress(i, len(archs))
    return paths
