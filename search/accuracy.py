"""Where a search gets accuracy from: a tabular benchmark, your table, a zero-cost proxy,
or your function.

Every source maps a list of architecture strings of one space to one number each,
higher is better, and says what the number is (``name``, ``unit``). Your table and your
function are asked once per equivalence class (``space.canonical``); a slow function
can run in worker processes (``jobs``, through :mod:`hwnas.executors`).
"""

from __future__ import annotations

import abc
import functools
import gzip
import importlib
import io
import math
import os
import weakref
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hwnas.errors import AccuracyError as AccuracyError  # re-exported: its old home
from hwnas.errors import DataError, InvalidArchError, ParameterError
from hwnas.executors import (
    ExecutorFactory,
    check_executor,
    check_jobs,
    check_sendable,
    executor_factory,
    local_pool,
    map_ordered,
    split,
)
from hwnas.spaces import SearchSpace

#: How many architectures or rows a message lists.
_SHOWN = 5
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
#: Suffixes that end a table's file name, so never a column (``table:FILE[:COLUMN]``).
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".gz")
# Floats must read back exactly as written: pandas 3 does so by default, pandas 2 must
# be asked (as in hwnas.tables).
_CSV_OPTIONS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


class AccuracySource(abc.ABC):
    """Accuracy (or a proxy of it) for architectures of one space; higher is better."""

    name: str
    unit: str = ""

    @abc.abstractmethod
    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        """One finite float per architecture, in order."""

    def close(self) -> None:
        """Release what the source holds (worker processes); by default nothing."""
        return None


class TabularAccuracy(AccuracySource):
    """NAS-Bench-201 test accuracy after 200 epochs, from the bundled NATS-Bench table."""

    DATASETS = {
        "cifar10": "cifar10_test_acc",
        "cifar100": "cifar100_test_acc",
        "imagenet16": "imagenet16_test_acc",
    }
    unit = "%"

    def __init__(self, space: SearchSpace, dataset: str = "cifar10") -> None:
        if getattr(space, "name", None) != "nb201":
            raise AccuracyError(
                f"the tabular benchmark covers the nb201 space only, not "
                f"{getattr(space, 'name', space)!r}; use the accuracy proxy:naswot or your "
                f"own evaluator (package.module:function)"
            )
        if dataset not in self.DATASETS:
            raise AccuracyError(
                f"unknown dataset {dataset!r} for tabular accuracy; use one of "
                f"{', '.join(self.DATASETS)}"
            )
        from hwnas.data import nb201_table

        table = nb201_table()
        self.space = space
        self.name = f"nb201 {dataset} test accuracy"
        self._by_arch = dict(zip(table["arch"], table[self.DATASETS[dataset]], strict=True))

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        out = np.empty(len(archs))
        for i, arch in enumerate(archs):
            value = self._by_arch.get(arch)
            if value is None:  # a valid but non-official spelling: go through the encoding
                value = self._by_arch[self.space.decode(self.space.encode(arch))]
            out[i] = value
        return out


class NaswotProxy(AccuracySource):
    """NASWOT (Mellor et al., ICML 2021): log-determinant of the Hamming kernel of the
    ReLU activation patterns of a mini-batch, at initialisation. No training, no labels;
    random inputs (seeded) stand in for data, so the ranking is coarser than with real
    images. Cost: one forward pass per architecture."""

    unit = "score"

    def __init__(self, space: SearchSpace, *, batch: int = 32, seed: int = 0) -> None:
        if batch < 2:
            raise ParameterError("batch", f"must be >= 2, got {batch}")
        self.space, self.batch, self.seed = space, batch, seed
        self.name = f"NASWOT proxy (batch {batch})"

    def score(self, arch: str) -> float:
        import torch
        from torch import nn

        module = self.space.to_torch(arch)
        shape = (self.batch, *self.space.arch_input_shape(arch)[1:])
        # The kernel is accumulated layer by layer (as the paper's code does): keeping
        # every layer's codes for one product would hold batch x all-activations floats,
        # gigabytes for a 224 x 224 network.
        kernel = torch.zeros(self.batch, self.batch, dtype=torch.float64)
        seen = [False]

        def hook(_m: Any, _i: Any, out: torch.Tensor) -> None:
            c = (out.detach().reshape(out.shape[0], -1) > 0).float()
            agree = c @ c.t() + (1 - c) @ (1 - c).t()  # units where two inputs agree
            kernel.add_(agree.double())
            seen[0] = True

        handles = [
            m.register_forward_hook(hook)
            for m in module.modules()
            if isinstance(m, nn.ReLU | nn.ReLU6)
        ]
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(self.seed))
        try:
            with torch.no_grad():
                module(x)
        finally:
            for h in handles:
                h.remove()
        if not seen[0]:
            return 0.0
        sign, logdet = torch.linalg.slogdet(kernel)
        return float(logdet) if sign > 0 else 0.0

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        return np.array([self.score(a) for a in archs], dtype=np.float64)


class CallableAccuracy(AccuracySource):
    """A function ``archs -> scores`` as an accuracy source: called with a list of
    architecture strings, it must return one finite number per architecture (higher is
    better); anything else is an ``AccuracyError`` naming the function.

    Each architecture is evaluated once for the life of the source: with ``space``,
    once per equivalence class (``space.canonical``): the function gets the first
    spelling met and every member of the class gets that value; without, once per
    distinct string.

    With ``jobs`` > 1 the architectures of a call not evaluated before are split into
    about two chunks per worker, in order, and each chunk is one call of the function
    in a worker process of ``executor(jobs)`` (``executor``: a factory, default
    :func:`hwnas.executors.local_pool`, or a Dask scheduler's address
    ``dask://HOST:PORT``, whose workers then run the chunks even with ``jobs=1``, as
    :func:`hwnas.executors.executor_factory` connects), kept for the life of the source
    (:meth:`close` or a ``with`` block stops it, as does garbage collection). The values
    are those of ``jobs=1`` for a function that gives the same value each time. Workers
    import the function by name, so it must be defined at the top level of a module (a lambda or
    a closure is a ``ParameterError`` saying so); a chunk that raises in a worker is an
    ``AccuracyError`` naming the chunk's architectures and the original error.
    """

    unit = ""

    def __init__(
        self,
        func: Callable[[list[str]], Any],
        *,
        name: str | None = None,
        space: SearchSpace | None = None,
        jobs: int = 1,
        executor: ExecutorFactory | str | None = local_pool,
    ) -> None:
        if not callable(func):
            raise AccuracyError(f"{name or func!r} is not a function")
        self.func = func
        self.name = name or getattr(func, "__qualname__", None) or repr(func)
        self.space = space
        self.jobs = check_jobs(jobs)
        # A cluster's address (dask://HOST:PORT) sends the chunks there whatever jobs is.
        remote = isinstance(executor, str) and executor != "local"
        self._parallel = self.jobs > 1 or remote
        if self._parallel:
            why = f"executor={executor}" if remote else f"jobs={jobs}"
            check_sendable(func, param="accuracy", why=f"{why} runs it in worker processes")
        self._executor_factory = (
            executor_factory(executor)
            if executor is None or isinstance(executor, str)
            else executor
        )
        self._pool: Executor | None = None
        self._stop_pool: weakref.finalize | None = None
        self._known: dict[str, float] = {}

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        keys = [self.space.canonical(a) if self.space else a for a in archs]
        first: dict[str, str] = {}  # class -> the spelling the function is called with
        for arch, key in zip(archs, keys, strict=True):
            if key not in self._known:
                first.setdefault(key, arch)
        if first:
            values = self._compute(list(first.values()))
            self._known.update(zip(first, values.tolist(), strict=True))
        return np.array([self._known[k] for k in keys], dtype=np.float64)

    def close(self) -> None:
        """Stop the worker processes, if any were started (a later evaluate starts new)."""
        if self._stop_pool is not None:
            self._stop_pool()
        self._pool = self._stop_pool = None

    def __enter__(self) -> CallableAccuracy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _compute(self, todo: list[str]) -> np.ndarray:
        if not self._parallel:
            return self._checked(self.func(list(todo)), todo)
        chunks = split(todo, 2 * self.jobs)

        def failed(index: int, exc: Exception) -> AccuracyError:
            return self._chunk_failed(chunks, index, exc)

        results = map_ordered(
            self._executor(), _call, [(self.func, c) for c in chunks], failed=failed
        )
        return np.concatenate(
            [
                self._checked(r, c, where=f" (chunk {i + 1} of {len(chunks)})")
                for i, (r, c) in enumerate(zip(results, chunks, strict=True))
            ]
        )

    def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = self._executor_factory(self.jobs)
            self._stop_pool = weakref.finalize(
                self, self._pool.shutdown, wait=True, cancel_futures=True
            )
        return self._pool

    def _chunk_failed(self, chunks: list[list[str]], index: int, exc: Exception) -> AccuracyError:
        chunk = chunks[index]
        shown = ", ".join(repr(a) for a in chunk[:_SHOWN])
        more = f" and {len(chunk) - _SHOWN} more" if len(chunk) > _SHOWN else ""
        where = f"chunk {index + 1} of {len(chunks)} ({len(chunk)} architecture(s): {shown}{more})"
        if isinstance(exc, BrokenExecutor):
            self.close()  # a broken pool takes no more work; the next evaluate starts anew
            return AccuracyError(
                f"a worker process running the evaluator {self.name} on {where} died ({exc}); "
                f"it crashed or was killed. From a script, call the search under "
                f'`if __name__ == "__main__":`, as workers import the script'
            )
        return AccuracyError(
            f"the evaluator {self.name} failed on {where} in a worker process: "
            f"{type(exc).__name__}: {exc}"
        )

    def _checked(self, values: Any, archs: Sequence[str], where: str = "") -> np.ndarray:
        """``values`` as one finite float per architecture, or an AccuracyError."""
        try:
            out = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise AccuracyError(
                f"the evaluator {self.name} returned {type(values).__name__}{where} "
                f"that is not a list of numbers ({exc})"
            ) from None
        if out.size != len(archs):
            raise AccuracyError(
                f"the evaluator {self.name} returned {out.size} values for "
                f"{len(archs)} architectures{where}; return one per architecture"
            )
        bad = [a for a, v in zip(archs, out, strict=True) if not math.isfinite(v)]
        if bad:
            raise AccuracyError(
                f"the evaluator {self.name} returned a non-finite value for "
                f"{len(bad)} architecture(s){where}, e.g. {bad[0]!r}"
            )
        return out


def _call(func: Callable[[list[str]], Any], archs: list[str]) -> Any:
    """One chunk's call in a worker process (a module-level function: workers import it)."""
    return func(list(archs))


class UserAccuracy(CallableAccuracy):
    """Your evaluator: ``package.module:function``, called with a list of architecture
    strings (and the space as keyword ``space``), returning one number per architecture;
    with ``jobs`` > 1, in worker processes (see :class:`CallableAccuracy`)."""

    def __init__(
        self, space: SearchSpace, reference: str, *, jobs: int = 1, executor: str | None = None
    ) -> None:
        module_name, _, attr = reference.partition(":")
        if not module_name or not attr:
            raise ParameterError(
                "accuracy",
                f"{reference!r} must be tabular[:DATASET], table:FILE[:COLUMN], proxy:naswot "
                f"or package.module:function",
            )
        try:
            func = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise AccuracyError(
                f"cannot load the evaluator {reference!r} ({exc}); check "
                f"the name and that its package is installed"
            ) from None
        if not callable(func):
            raise AccuracyError(f"{reference!r} is not a function")
        super().__init__(
            functools.partial(func, space=space),
            name=reference,
            space=space,
            jobs=jobs,
            executor=executor,
        )


class TableAccuracy(AccuracySource):
    """Accuracy from your table: CSV or Parquet (told apart by content), optionally
    gzipped, with a column ``arch`` and an accuracy column.

    ``column`` names the accuracy column; by default it is the only numeric column
    besides ``arch`` and ``index`` (several or none: a ``DataError`` listing them).
    Rows are keyed by canonical form (``space.canonical``), so any member of an
    equivalence class finds the class's value; several rows of one class (e.g. all
    15,625 NAS-Bench-201 cells as written, 6,466 classes) give the **mean** of their
    values. A row whose ``arch`` the space rejects, or whose value is not a finite
    number, is a ``DataError`` naming the row, when the table is read. Architectures
    the table lacks are an ``AccuracyError`` at the first :meth:`evaluate` that asks
    for them, saying how many, a few of them, the file and the column.
    """

    unit = ""

    def __init__(
        self, space: SearchSpace, path: str | os.PathLike[str], column: str | None = None
    ) -> None:
        self.space, self.path = space, Path(path)
        frame, is_parquet = _read_accuracy_table(self.path)
        self.column = _accuracy_column(frame, self.path, column)
        self.name = f"{self.column} from {self.path.name}"
        self.rows = len(frame)

        def where(i: int) -> str:
            return f"row {i + 1}" if is_parquet else f"row {i + 1} (line {i + 2} of the file)"

        values = _finite_values(frame[self.column].tolist(), where, self.path, self.column)
        keys = _canonical_keys(space, frame["arch"].tolist(), where, self.path)
        grouped: dict[str, list[float]] = {}
        for key, value in zip(keys, values, strict=True):
            grouped.setdefault(key, []).append(value)
        self.values = {k: float(np.mean(v)) for k, v in grouped.items()}

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        keys = [self.space.canonical(a) for a in archs]
        missing = list(dict.fromkeys(k for k in keys if k not in self.values))
        if missing:
            shown = ", ".join(repr(a) for a in missing[:_SHOWN])
            more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
            raise AccuracyError(
                f"the accuracy table {self.path} has no {self.column} value for "
                f"{len(missing)} of the {len(set(keys))} {self.space.name} architecture(s) "
                f"the search reached: {shown}{more}. Add rows for them (any member of an "
                f"equivalence class will do) or use a table that covers the space"
            )
        return np.array([self.values[k] for k in keys], dtype=np.float64)


def _read_accuracy_table(path: Path) -> tuple[pd.DataFrame, bool]:
    """The file as a frame, and whether it is Parquet; gzip and Parquet are told by their
    magic bytes, CSV is the rest. A ``DataError`` says what is wrong with the file."""
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise DataError(f"the accuracy table {path} {what}; pass a CSV or Parquet file")
    try:
        data = path.read_bytes()
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the accuracy table {path} ({exc})") from None
    if not data.strip():
        raise DataError(
            f"the accuracy table {path} is empty; it needs a header with arch and an "
            f"accuracy column, and one row per architecture"
        )
    if data[:4] == _PARQUET_MAGIC:
        try:
            return pd.read_parquet(io.BytesIO(data), engine="pyarrow"), True
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise DataError(f"the accuracy table {path} is not readable Parquet ({exc})") from None
    if b"\x00" in data[:4096]:
        raise DataError(f"the accuracy table {path} is a binary file, not CSV or Parquet")
    try:
        return pd.read_csv(io.BytesIO(data), **_CSV_OPTIONS), False
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"the accuracy table {path} is not readable CSV ({exc})") from None


def _accuracy_column(frame: pd.DataFrame, path: Path, column: str | None) -> str:
    """The accuracy column: ``column`` if given, else the only numeric one besides
    ``arch`` and ``index``; a ``DataError`` listing the candidates otherwise."""
    frame.columns = [str(c) for c in frame.columns]
    names = list(frame.columns)
    if "arch" not in names:
        raise DataError(f"the accuracy table {path} has no arch column (it has {_listed(names)})")
    if frame.empty:
        raise DataError(f"the accuracy table {path} has a header but no rows")
    if column is not None:
        if column not in names:
            raise DataError(
                f"the accuracy table {path} has no column {column!r}; it has {_listed(names)}"
            )
        return column
    numeric = [
        c
        for c in names
        if c not in ("arch", "index")
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if len(numeric) == 1:
        return numeric[0]
    found = f"{len(numeric)} numeric columns ({_listed(numeric)})" if numeric else "none"
    example = numeric[0] if numeric else "COLUMN"
    raise DataError(
        f"which column of the accuracy table {path} holds the accuracy? Besides arch and "
        f"index it has {found}; name one: table:{path}:{example}"
    )


def _listed(names: Sequence[str], most: int = 12) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more if names else "no columns"


def _finite_values(
    given: Sequence[Any], where: Callable[[int], str], path: Path, column: str
) -> list[float]:
    """Each row's value as a float; a ``DataError`` naming rows without a finite number."""
    values = pd.to_numeric(pd.Series(given, dtype=object), errors="coerce").astype("float64")
    bad = [i for i, v in enumerate(values.tolist()) if not math.isfinite(v)]
    if bad:
        listed = "; ".join(f"{where(i)}: {given[i]!r}" for i in bad[:_SHOWN])
        more = f" (and {len(bad) - _SHOWN} more)" if len(bad) > _SHOWN else ""
        raise DataError(
            f"{len(bad)} row(s) of the accuracy table {path} have no finite {column} value"
            f"{more}: {listed}. Fill them in or drop those rows"
        )
    return [float(v) for v in values.tolist()]


def _canonical_keys(
    space: SearchSpace, archs: Sequence[Any], where: Callable[[int], str], path: Path
) -> list[str]:
    """Each row's architecture in canonical form; a ``DataError`` naming the rows whose
    ``arch`` is missing or not of ``space``."""
    keys: list[str] = []
    bad: list[str] = []
    memo: dict[str, str] = {}
    for i, arch in enumerate(archs):
        text = "" if arch is None or (isinstance(arch, float) and math.isnan(arch)) else str(arch)
        try:
            if not text.strip():
                raise InvalidArchError("it has no arch")
            if text not in memo:
                memo[text] = space.canonical(text.strip())
            keys.append(memo[text])
        except InvalidArchError as exc:
            bad.append(f"{where(i)}: {exc.message}")
    if bad:
        more = f" (and {len(bad) - _SHOWN} more)" if len(bad) > _SHOWN else ""
        raise DataError(
            f"{len(bad)} row(s) of the accuracy table {path} are not {space.name} "
            f"architectures{more}: {'; '.join(bad[:_SHOWN])}. Fix or drop those rows, or "
            f"search the space they belong to"
        )
    return keys


def split_table_spec(arg: str) -> tuple[str, str | None]:
    """``FILE[:COLUMN]`` (what follows ``table:``) as ``(file, column or None)``.

    The text after the last ``:`` is the column unless it contains ``/`` or ``\\``,
    ends in a table suffix (``.csv``, ``.parquet``, ``.pq``, ``.gz``), is empty, or
    the whole text names an existing file: so ``C:\\data\\acc.csv`` and
    ``/mnt/a:b/acc.csv`` are files, ``C:\\data\\acc.csv:top1`` is that file's column
    ``top1``. A file whose name has a ``:`` and no such suffix needs its column named.
    """
    head, sep, tail = arg.rpartition(":")
    is_path = (
        not sep
        or not head
        or "/" in tail
        or "\\" in tail
        or tail.lower().endswith(_TABLE_SUFFIXES)
        or Path(arg).is_file()
    )
    if is_path:
        return arg, None
    return head, tail or None


def accuracy_source(
    spec: str, space: SearchSpace, *, seed: int = 0, jobs: int = 1, executor: str | None = None
) -> AccuracySource:
    """``tabular[:cifar10|cifar100|imagenet16]``, ``table:FILE[:COLUMN]`` (see
    :func:`split_table_spec`), ``proxy:naswot`` or ``package.module:function``.

    ``jobs`` > 1 evaluates a ``package.module:function`` in that many worker processes
    (:class:`CallableAccuracy`), ``executor="dask://HOST:PORT"`` on that Dask cluster; the
    other sources are lookups or one forward pass per architecture, and ignore both.
    """
    check_jobs(jobs)
    check_executor(executor, param="executor")
    kind, _, arg = spec.partition(":")
    if kind == "tabular":
        return TabularAccuracy(space, arg or "cifar10")
    if kind == "table":
        if not arg:
            raise ParameterError("accuracy", f"{spec!r} must name a file: table:FILE[:COLUMN]")
        return TableAccuracy(space, *split_table_spec(arg))
    if kind == "proxy":
        if arg not in ("", "naswot"):
            raise AccuracyError(f"unknown proxy {arg!r}; available: naswot")
        return NaswotProxy(space, seed=seed)
    return UserAccuracy(space, spec, jobs=jobs, executor=executor)
