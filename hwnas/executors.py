"""Where slow work runs: worker processes on this machine now, a cluster later.

The seam is :class:`concurrent.futures.Executor` (``submit(fn, *args)`` returning a
future), which :func:`local_pool` returns and a Dask client offers too
(``distributed.Client.get_executor()``). Code that fans work out takes an
:data:`ExecutorFactory` (``jobs -> Executor``) instead of making a pool itself, so
another kind of pool plugs in without touching it.

What runs in a worker is sent there by pickling: a function by its importable name
(``package.module.function``), its arguments by value. :func:`check_sendable` says,
before any work starts, when that cannot work.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from hwnas.errors import ExecutorError, ParameterError

__all__ = [
    "ExecutorFactory",
    "ambient_executor",
    "check_executor",
    "executor_factory",
    "check_jobs",
    "check_sendable",
    "local_pool",
    "map_ordered",
    "open_executor",
    "split",
    "using_executor",
]

#: How ``--executor`` names a Dask cluster: its scheduler's address.
DASK_SCHEMES = ("dask://", "tcp://", "tls://")
#: How long to wait for a Dask scheduler to answer (s).
DASK_CONNECT_TIMEOUT = 15.0

#: Makes an executor of ``jobs`` workers; :func:`local_pool` is the default one.
ExecutorFactory = Callable[[int], Executor]


def check_jobs(jobs: Any, *, param: str = "jobs") -> int:
    """``jobs`` as an int >= 1; a :class:`ParameterError` naming ``param`` otherwise."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(param, f"must be a whole number >= 1 (worker processes), got {jobs!r}")
    return jobs


def local_pool(jobs: int) -> Executor:
    """A pool of ``jobs`` worker processes on this machine.

    Workers are started from a clean server process (``forkserver``; ``spawn`` where
    the platform lacks it), never forked from the caller: a process that has run
    OpenMP threads (LightGBM, torch) can deadlock a forked child that uses them again.
    So a worker imports what it runs: the function must be importable by name, and a
    script that starts a pool must do so under ``if __name__ == "__main__":``.

    Each worker runs its native thread pools (OpenMP, MKL, OpenBLAS: torch's and
    numpy's) with one thread unless the environment says otherwise, as Dask's workers
    do: the processes share the cores. With torch's default of a thread per core in every
    process, 2 workers on 2 cores exported chain networks at 0.41 architectures/s
    against 1.43 with one thread each.
    """
    check_jobs(jobs)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_one_thread)


#: The native thread pools a pool's worker runs single-threaded (unless already set).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _one_thread() -> None:
    """In a new worker process: one native thread each, before torch or numpy start
    theirs (a torch already imported, e.g. by a forkserver's preloading, is told too)."""
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    torch, threads = sys.modules.get("torch"), os.environ["OMP_NUM_THREADS"]
    if torch is not None and threads.isdigit():
        torch.set_num_threads(int(threads))


def check_sendable(func: Callable[..., Any], *, param: str, why: str) -> None:
    """A :class:`ParameterError` naming ``param`` unless worker processes can receive
    ``func`` (with anything it binds, e.g. a ``functools.partial``'s arguments).

    A lambda, a function defined inside another one, or a function of an interactive
    session (``__main__`` without a file) pickles by a name that workers cannot import.
    ``why`` says what needs the workers (``"jobs=2 runs it in worker processes"``).
    """
    what = getattr(func, "func", func)  # functools.partial: the function it wraps
    name = getattr(what, "__qualname__", None) or repr(what)
    advice = (
        "define it at the top level of a module that workers can import (not a lambda, "
        "a function inside a function, or one typed into an interactive session) and "
        "pass it, or its package.module:function name; or use jobs=1"
    )
    main = sys.modules.get("__main__")
    if getattr(what, "__module__", None) == "__main__" and not getattr(main, "__file__", None):
        raise ParameterError(
            param,
            f"{name} is defined in an interactive session, where worker processes cannot "
            f"import it; {why}: {advice}",
        )
    try:
        pickle.dumps(func)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ParameterError(
            param, f"{name} cannot be sent to worker processes ({exc}); {why}: {advice}"
        ) from None


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` in at most ``parts`` consecutive chunks of sizes differing by at most
    one, in order (no empty chunk)."""
    count = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), count)
    chunks, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            chunks.append(list(items[start:end]))
        start = end
    return chunks


def map_ordered(
    executor: Executor,
    fn: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    *,
    failed: Callable[[int, Exception], Exception],
) -> list[Any]:
    """``fn(*args)`` for each ``args`` of ``calls`` on ``executor``, all submitted at
    once; the results in the order of ``calls``.

    The first call (in that order) that raises stops the wait: the calls not started
    are cancelled and ``failed(index, error)`` is raised, chained to the error.
    """
    futures = [executor.submit(fn, *args) for args in calls]
    results = []
    for index, future in enumerate(futures):
        try:
            results.append(future.result())
        except Exception as exc:
            for later in futures[index + 1 :]:
                later.cancel()
            raise failed(index, exc) from exc
    return results


def check_executor(executor: Any, *, param: str = "executor") -> str | None:
    """``executor`` if it names one: ``None`` or ``"local"`` (worker processes on this
    machine) or a Dask scheduler's address ``dask://HOST:PORT`` (``tcp://``, ``tls://``
    too); a :class:`ParameterError` naming ``param`` otherwise."""
    if executor is None or executor == "local":
        return executor
    if isinstance(executor, str) and executor.startswith(DASK_SCHEMES):
        rest = executor.split("://", 1)[1]
        host, _, port = rest.rpartition(":")
        if host and port.isdigit():
            return executor
    raise ParameterError(
        param,
        f"must be 'local' or a Dask scheduler's address such as dask://HOST:8786, got {executor!r}",
    )


@contextmanager
def open_executor(executor: str | None = None, *, jobs: int = 1) -> Iterator[Executor | None]:
    """Where to send slow work while the block runs, shut down after it.

    ``None`` when ``jobs`` is 1 and ``executor`` is ``None`` or ``"local"``: the work
    runs in the caller's process. Otherwise a :func:`local_pool` of ``jobs`` processes,
    or for ``dask://HOST:PORT`` the executor of a Dask client connected to that
    scheduler (``distributed.Client(address).get_executor()``; its workers, however many
    the cluster has, run the work). Raises :class:`ExecutorError` when the Dask package
    is missing or the scheduler does not answer.
    """
    check_jobs(jobs)
    check_executor(executor)
    if executor is None or executor == "local":
        if jobs == 1:
            yield None
            return
        pool = local_pool(jobs)
        try:
            yield pool
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return
    with _dask_executor(executor) as remote:
        yield remote


@contextmanager
def _dask_executor(address: str) -> Iterator[Executor]:
    """The executor of a Dask client of the scheduler at ``address``, closed afterwards."""
    try:
        import distributed
    except ImportError:
        raise ExecutorError(
            f"--executor {address} needs Dask's distributed package, which is not installed; "
            f"install it with pip install 'hwnas[dask]', or leave --executor out to use "
            f"local processes"
        ) from None
    scheme_free = address.split("://", 1)[1]
    target = address if not address.startswith("dask://") else f"tcp://{scheme_free}"
    try:
        client = distributed.Client(target, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(
            f"cannot reach the Dask scheduler at {address} ({exc}); start one (`dask "
            f"scheduler`, then `dask worker tcp://{scheme_free}` on each host) or correct "
            f"the address given to --executor"
        ) from None
    try:
        yield client.get_executor()
    finally:
        client.close()


_AMBIENT: list[Executor] = []
_AMBIENT_LOCK = threading.Lock()


@contextmanager
def using_executor(executor: Executor | None) -> Iterator[None]:
    """While the block runs, :func:`ambient_executor` is ``executor`` (for this process,
    all its threads): the workflows that export many files (lookup-table blocks and
    networks) submit their exports there ahead of measuring them. ``None`` changes
    nothing."""
    if executor is None:
        yield
        return
    with _AMBIENT_LOCK:
        _AMBIENT.append(executor)
    try:
        yield
    finally:
        with _AMBIENT_LOCK:
            _AMBIENT.remove(executor)


def ambient_executor() -> Executor | None:
    """The executor of the innermost :func:`using_executor` block, or ``None``."""
    with _AMBIENT_LOCK:
        return _AMBIENT[-1] if _AMBIENT else None


def executor_factory(executor: str | None = None) -> ExecutorFactory:
    """An :data:`ExecutorFactory` for ``executor`` (as :func:`check_executor` takes it):
    :func:`local_pool` for ``None`` or ``"local"``; for ``dask://HOST:PORT``, one that
    connects to the scheduler on each call (``jobs`` is then the cluster's business) and
    whose executor closes its client on ``shutdown``. For code that takes a factory, such
    as the accuracy sources of ``hwnas.search``."""
    check_executor(executor)
    if executor is None or executor == "local":
        return local_pool
    address: str = executor

    def connect(jobs: int) -> Executor:
        check_jobs(jobs)
        stack = _dask_executor(address)
        return _Closing(stack.__enter__(), stack)

    return connect


class _Closing(Executor):
    """An executor that also ends a context (a Dask client's) when it is shut down."""

    def __init__(self, inner: Executor, context: Any) -> None:
        self._inner, self._context = inner, context

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:  # Dask's executor knows no cancel_futures: not waiting cancels there
            self._inner.shutdown(wait=wait and not cancel_futures)
        finally:
            self._context.__exit__(None, None, None)
