"""Where exports run (issue 11 item 3): one executor interface, in this process, local
worker processes or a Dask cluster (tested against a ``distributed.LocalCluster``), and
exports submitted ahead of the measurements that need them."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

import hwnas
from hwnas import executors
from hwnas.errors import ExecutorError, ExportError, ParameterError
from hwnas.executors import check_executor, open_executor
from hwnas.export import (
    ExportedFile,
    export_archs,
    export_in_worker,
    exporting_ahead,
    file_hash,
    install_export,
)
from tests.toy_space import ToySpace

FAST = {"max_seconds": 0.3, "target_ci": 0.2, "warmup": 1, "min_runs": 5}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Dask cluster of two worker threads in this process: its scheduler's address
    as ``--executor`` takes it."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield "dask://" + local.scheduler_address.split("://", 1)[1]


def exports_run(address: str, name: str = "export_in_worker") -> int:
    """A count that grows by the same amount with each export the cluster ran (the
    scheduler's state transitions of ``name`` tasks)."""
    import distributed

    def count(dask_scheduler: object) -> int:
        prefix = dask_scheduler.task_prefixes.get(name)  # type: ignore[attr-defined]
        return 0 if prefix is None else sum(prefix.state_counts.values())

    with distributed.Client(address.replace("dask://", "tcp://")) as client:
        return int(client.run_on_scheduler(count))


def test_executor_names_are_checked_and_one_job_runs_here() -> None:
    assert check_executor(None) is None and check_executor("local") == "local"
    assert check_executor("dask://10.0.0.5:8786") == "dask://10.0.0.5:8786"
    for bad in ("dask://host", "ray://h:1", "spark", 3):
        with pytest.raises(ParameterError, match="executor must be 'local' or a Dask"):
            check_executor(bad)
    with open_executor(None, jobs=1) as here:
        assert here is None
    with pytest.raises(ParameterError, match="jobs must be a whole number >= 1"):
        with open_executor("local", jobs=0):
            pass


def test_a_factory_of_dask_executors_for_code_that_takes_one(cluster: str) -> None:
    from hwnas.executors import executor_factory, local_pool

    assert executor_factory() is local_pool and executor_factory("local") is local_pool
    pool = executor_factory(cluster)(2)
    try:
        assert pool.submit(pow, 2, 10).result() == 1024
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(ParameterError, match="executor must be"):
        executor_factory("dask:/x")


def test_an_unreachable_scheduler_says_what_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", 0.5)
    with pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler at dask://127"):
        with open_executor("dask://127.0.0.1:9"):
            pass


def test_a_workers_export_lands_in_this_hosts_cache(tmp_path: Path) -> None:
    space, arch = ToySpace(), "c8-c16"
    # What a process pool sends: the function by name, the space and arch by value.
    pickle.loads(pickle.dumps((export_in_worker, space, arch, "torchscript")))
    exported = export_in_worker(space, arch, "torchscript")
    assert exported.error is None and exported.relative.endswith(f"{exported.key}.onnx")
    elsewhere = install_export(exported, cache=tmp_path / "other-host")
    assert elsewhere.read_bytes() == exported.data
    assert json.loads(elsewhere.with_suffix(".json").read_text())["sha256"] == file_hash(elsewhere)
    assert install_export(exported, cache=tmp_path / "other-host") == elsewhere  # a hit
    with pytest.raises(ExportError, match="torch said no"):
        install_export(ExportedFile(key="", relative="", error="torch said no"))


def test_exports_run_on_a_dask_cluster_ahead_of_the_measurements(cluster: str) -> None:
    space = ToySpace()
    archs = ["c4-c8", "c16-c4"]
    with open_executor(cluster) as pool:
        assert pool is not None
        with exporting_ahead(space, archs, executor=pool, exporter="torchscript") as submitted:
            assert submitted == 2
            paths = export_archs(space, archs, exporter="torchscript")
        # Now in the cache: nothing is submitted again.
        with exporting_ahead(space, archs, executor=pool, exporter="torchscript") as again:
            assert again == 0
    assert all(p.exists() for p in paths)
    before = exports_run(cluster)
    result = hwnas.profile_space(
        space,
        archs=["c8-c8", "c4-c16"],
        exporter="torchscript",
        executor=cluster,
        **FAST,
    )
    assert exports_run(cluster) == 2 * before > 0  # profile_space's two ran there too
    assert len(result) == 2 and not result.errors


def test_profile_says_when_jobs_and_executor_do_not_apply(
    capsys: pytest.CaptureFixture[str], conv_onnx: Path
) -> None:
    from hwnas.cli import main

    assert main(["profile", str(conv_onnx), "--jobs", "2"]) == 2
    assert "--jobs and --executor export --space architectures" in capsys.readouterr().err
    assert main(["profile", "--resume", "--jobs", "0"]) == 2
    assert "--jobs must be a whole number >= 1" in capsys.readouterr().err
    assert main(["profile", "--space", "nb201", "--sample", "1", "--executor", "spark"]) == 2
    assert "Invalid value for '--executor': must be 'local' or a Dask" in capsys.readouterr().err


def test_lookup_table_blocks_export_on_the_ambient_executor(cluster: str, tmp_path: Path) -> None:
    from hwnas.devices.registry import connect, get_device
    from hwnas.executors import ambient_executor, using_executor
    from hwnas.profiler.lut import BlockSet, plan_blocks
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.store import Store
    from tests.test_lut import ToyLutSpace

    blocks = BlockSet(ToyLutSpace())
    settings = ProfileSettings(max_seconds=0.2, target_ci=0.2, warmup=1, min_runs=5)
    with open_executor(cluster) as pool, using_executor(pool), Store(tmp_path / "s.db") as db:
        assert ambient_executor() is pool
        plan = plan_blocks(db, get_device("local"), settings, blocks, batch="b", connect=connect)
    assert ambient_executor() is None
    assert len(plan.jobs) == plan.exported == 16
    assert all(j.model_path and Path(j.model_path).exists() for j in plan.jobs)
    assert exports_run(cluster, "export_block_in_worker") > 0


class BrokenPool:
    """An executor whose workers are gone: every future fails."""

    def submit(self, fn: object, *args: object) -> Future[object]:
        future: Future[object] = Future()
        future.set_exception(RuntimeError("A process in the process pool was terminated"))
        return future


def test_an_executor_that_fails_leaves_the_export_to_this_process(tmp_path: Path) -> None:
    space = ToySpace()
    paths = export_archs(space, ["c4-c4", "c8-c4"], executor=BrokenPool())
    assert all(p.exists() for p in paths)


def test_resume_exports_the_queued_architectures_ahead(cluster: str, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    queued = hwnas.queue_add(space=ToySpace(), archs=["c16-c16", "c4-c16"], store=store, **FAST)
    assert len(queued.jobs) == 2
    before = exports_run(cluster)
    result = hwnas.resume(store=store, executor=cluster)
    assert len(result) == 2 and not result.errors
    assert exports_run(cluster) > before


def test_a_worker_exports_its_queued_architectures_ahead(cluster: str, tmp_path: Path) -> None:
    from hwnas.profiler.worker import run_worker

    store = tmp_path / "s.db"
    archs = ["c16-c8", "c8-c4", "c4-c4"]
    hwnas.queue_add(space=ToySpace(), archs=archs, store=store, **FAST)
    before = exports_run(cluster)
    result = run_worker("local", store=store, exit_when_idle=True, executor=cluster)
    assert result.to_dict()["devices"] == [{"device": "local", "measured": 3, "failed": 0}]
    assert exports_run(cluster) > before
    with pytest.raises(ParameterError, match="jobs must be a whole number"):
        run_worker("local", store=store, exit_when_idle=True, jobs=0)


def test_a_user_accuracy_function_runs_on_the_dask_cluster(cluster: str) -> None:
    from hwnas.search.accuracy import accuracy_source
    from tests import slow_accuracy

    space = hwnas.get_space("nb201")
    archs = space.sample(12, 4)
    here = accuracy_source("tests.slow_accuracy:score", space).evaluate(archs)
    before = exports_run(cluster, "call")  # Dask's task prefix of search.accuracy._call
    remote = accuracy_source("tests.slow_accuracy:score", space, executor=cluster)
    try:
        got = remote.evaluate(archs)
    finally:
        remote.close()
    assert got.tolist() == here.tolist()
    assert exports_run(cluster, "call") > before  # the chunks ran as the cluster's tasks
    assert len(slow_accuracy.CALLS) >= 2 * len({space.canonical(a) for a in archs})
    with pytest.raises(ParameterError, match="executor must be 'local' or a Dask"):
        accuracy_source("tests.slow_accuracy:score", space, executor="spark://x:1")


def test_build_lut_exports_its_blocks_on_the_executor_it_is_given(
    cluster: str, tmp_path: Path
) -> None:
    from hwnas.predictors.build import run_lut_build

    before = exports_run(cluster, "export_block_in_worker")
    result = run_lut_build(
        "tests.test_lut:ToyLutSpace",
        store=tmp_path / "s.db",
        calibrate=0,
        executor=cluster,
        **FAST,
    )
    assert not result.errors and result.table is not None
    assert exports_run(cluster, "export_block_in_worker") > before
    with pytest.raises(ParameterError, match="jobs must be a whole number"):
        run_lut_build("tests.test_lut:ToyLutSpace", store=tmp_path / "s.db", calibrate=0, jobs=0)
