"""The measurement store: round trips, filters, migrations, SQLite locking, bad locations.

Every test of what the store does takes ``store_url`` (tests/conftest.py) and so runs
twice: on a SQLite file and on a fresh database of the session's PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, inspect, text

from hwnas import store as store_module
from hwnas.errors import DataError, StoreError
from hwnas.records import Arch, Fingerprint, LatencyStats, Measurement
from hwnas.store import CURRENT_SCHEMA, FingerprintUsage, NewJob, Store, StoredMeasurement

REPO = Path(__file__).resolve().parents[1]
NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|"


def make_fingerprint(**overrides: Any) -> Fingerprint:
    values: dict[str, Any] = {
        "cpu_model": "Cortex-A72",
        "cores": 4,
        "os": "Linux-6.1-aarch64",
        "python": "3.11.7",
        "onnxruntime": "1.18.0",
        "execution_provider": "CPUExecutionProvider",
        "threads": 4,
        "affinity": (0, 1, 2, 3),
        "governor": "performance",
        "frequency_mhz": 1500.0,
        "temperature_c": 48.5,
        "machine": "aarch64",
        "graph_optimization": "all",
    }
    values.update(overrides)
    return Fingerprint(**values)


def make_measurement(
    i: int = 0,
    *,
    device: str = "rpi4",
    fingerprint: Fingerprint | None = None,
    space: str | None = "nb201",
    model_hash: str | None = None,
    n: int = 7,
    **overrides: Any,
) -> Measurement:
    """A realistic measurement; ``i`` varies the model and the latencies."""
    samples = tuple(2.0 + 0.5 * i + 0.013 * ((k * 7) % n) for k in range(n))
    ordered = sorted(samples)
    median = statistics.median(samples)
    latency = LatencyStats(
        n=n,
        median=median,
        mean=statistics.fmean(samples),
        std=statistics.pstdev(samples),
        p10=ordered[max(0, n // 10 - 1)],
        p90=ordered[min(n - 1, (9 * n) // 10)],
        p99=ordered[-1],
        ci_low=ordered[max(0, n // 2 - 1)],
        ci_high=ordered[min(n - 1, n // 2 + 1)],
    )
    values: dict[str, Any] = {
        "model_hash": model_hash or f"model{i:04d}",
        "device": device,
        "fingerprint": fingerprint or make_fingerprint(),
        "latency_ms": latency,
        "timestamp": f"2024-05-{1 + i % 28:02d}T12:00:{i % 60:02d}+00:00",
        "arch": Arch(space=space, string=f"{NB201}#{i}") if space else None,
        "model_name": f"cell-{i}",
        "model_size_mb": 1.25 + i,
        "peak_memory_mb": 30.5 + i,
        "energy_mj": 0.75 * (i + 1),
        "energy_method": "rapl",
        "samples_ms": samples,
        "warmup_ms": (9.0, 4.5, 3.0),
        "inputs": {"x": {"shape": [1, 3, 32, 32], "dtype": "float32"}},
        "settings": {"threads": 4, "target_ci": 0.01, "stop_reason": "target_ci"},
        "op_profile": {"Conv": 0.6, "Relu": 0.1},
        "memory": {"method": "rss", "baseline_mb": 20.0},
        "warnings": ("the standard deviation is 12% of the mean",),
    }
    values.update(overrides)
    return Measurement(**values)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as s:
        yield s


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_sqlite(location: str | Path) -> bool:
    return "://" not in str(location) or str(location).startswith("sqlite:")


@contextmanager
def database(location: str | Path) -> Iterator[Connection]:
    """A plain SQLAlchemy connection to the store at ``location`` (a path or a URL),
    beside hwnas: one transaction, committed at the end of the block."""
    url = str(location) if "://" in str(location) else f"sqlite:///{location}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def schema_versions(location: str | Path) -> list[str]:
    with database(location) as db:
        rows = db.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).all()
    return [row[0] for row in rows]


def schema_version(location: str | Path) -> int:
    (value,) = schema_versions(location)
    return int(value)


def count_rows(location: str | Path, table: str) -> int:
    with database(location) as db:
        return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def downgrade(location: str | Path, version: int) -> None:
    """Make the store at ``location`` what an hwnas of schema ``version`` (>= 1) left: the
    tables and columns later migrations added are dropped, the data kept."""
    with database(location) as db:
        if version < 5:
            db.execute(text("DROP INDEX ix_measurements_identity"))
            db.execute(text("ALTER TABLE measurements DROP COLUMN identity"))
        if version < 4:
            db.execute(text("DROP TABLE device_leases"))
            for name in ("worker", "claimed_at", "claims"):
                db.execute(text(f"ALTER TABLE jobs DROP COLUMN {name}"))
        if version < 3:
            db.execute(text("DROP INDEX ix_measurements_reuse"))
            db.execute(text("ALTER TABLE measurements DROP COLUMN settings_key"))
        if version < 2:
            db.execute(text("DROP TABLE jobs"))
        db.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(version)}
        )


# -- round trips and queries --------------------------------------------------------


def test_round_trip_keeps_everything(store: Store) -> None:
    originals = [
        make_measurement(0),
        make_measurement(1, space=None, energy_mj=None, energy_method=None, op_profile=None),
        make_measurement(2, fingerprint=make_fingerprint(frequency_mhz=None, governor=None)),
        make_measurement(3, peak_memory_mb=None, warmup_ms=(), warnings=(), model_name=None),
    ]
    ids = [store.add(originals[0]), *store.add_many(originals[1:])]
    assert ids == sorted(ids) and len(set(ids)) == 4
    for id_, original in zip(ids, originals, strict=True):
        stored = store.get(id_)
        assert stored == StoredMeasurement(id=id_, measurement=stored.measurement)
        assert stored.measurement.to_dict() == original.to_dict()
        assert Measurement.from_dict(stored.measurement.to_dict()) == original
    # The volatile readings are kept per measurement, the fingerprint row once.
    assert store.get(ids[0]).measurement.fingerprint.temperature_c == 48.5
    assert store.get(ids[2]).measurement.fingerprint.frequency_mhz is None


def test_samples_are_loaded_only_on_request(store: Store) -> None:
    original = make_measurement(5)
    id_ = store.add(original)
    (light,) = store.measurements()
    assert light.id == id_
    assert light.measurement.samples_ms == () and light.measurement.warmup_ms == ()
    assert light.measurement.to_dict(samples=False) == original.to_dict(samples=False)
    assert store.get(id_, samples=False).measurement.samples_ms == ()
    (full,) = store.measurements(samples=True)
    assert full.measurement.samples_ms == original.samples_ms
    assert full.measurement.warmup_ms == original.warmup_ms


def test_filters_limit_and_count(store: Store) -> None:
    fast = make_fingerprint(governor="performance")
    slow = make_fingerprint(governor="powersave")
    ids = store.add_many(
        [
            make_measurement(0, device="rpi4", fingerprint=fast),
            make_measurement(1, device="rpi4", fingerprint=slow),
            make_measurement(2, device="laptop", fingerprint=fast, space="mbv3"),
            make_measurement(3, device="laptop", fingerprint=fast, space=None),
            make_measurement(4, device="rpi4", fingerprint=fast, model_hash="model0000"),
        ]
    )

    def found(**filters: Any) -> list[int]:
        result = [s.id for s in store.measurements(**filters)]
        counted = {k: v for k, v in filters.items() if k not in ("limit", "newest_first")}
        assert store.count(**counted) >= len(result)
        return result

    assert found() == ids and store.count() == 5
    assert found(device="rpi4") == [ids[0], ids[1], ids[4]]
    assert found(fingerprint=slow.hash) == [ids[1]]
    assert found(fingerprint=slow.hash[:8]) == [ids[1]]  # a prefix, as lists show it
    assert found(fingerprint="%") == []  # LIKE wildcards are literal
    assert found(device="laptop", fingerprint=fast.hash) == [ids[2], ids[3]]
    assert found(model_hash="model0000") == [ids[0], ids[4]]
    assert found(space="nb201") == [ids[0], ids[1], ids[4]]
    assert found(space="mbv3") == [ids[2]]
    assert found(ids=[ids[3], ids[1], 10_000]) == [ids[1], ids[3]]
    assert found(ids=[]) == []
    assert found(limit=2) == ids[:2]
    assert found(limit=2, newest_first=True) == [ids[4], ids[3]]
    assert found(device="rpi4", newest_first=True) == [ids[4], ids[1], ids[0]]
    assert found(device="rpi4", limit=0) == []
    assert found(device="nowhere") == []
    assert store.count(device="rpi4", fingerprint=fast.hash) == 2
    assert store.count(model_hash="model0000", space="nb201") == 2
    with pytest.raises(ValueError, match="limit must be >= 0"):
        store.measurements(limit=-1)


def test_fingerprints_counts_and_timestamps(store: Store) -> None:
    fast = make_fingerprint()
    fast_warm = make_fingerprint(temperature_c=71.0, frequency_mhz=1200.0)  # same hash
    slow = make_fingerprint(onnxruntime="1.17.0")
    assert fast.hash == fast_warm.hash != slow.hash
    store.add_many(
        [
            make_measurement(3, fingerprint=fast),
            make_measurement(1, fingerprint=fast_warm),
            make_measurement(9, fingerprint=slow),
            make_measurement(5, fingerprint=fast, device="laptop"),
        ]
    )
    usage = store.fingerprints(device="rpi4")
    assert [(u.fingerprint.hash, u.device, u.count) for u in usage] == [
        (fast.hash, "rpi4", 2),
        (slow.hash, "rpi4", 1),
    ]
    first = usage[0]
    assert isinstance(first, FingerprintUsage)
    assert first.first == make_measurement(1).timestamp
    assert first.last == make_measurement(3).timestamp
    # The stable fields only: the readings of each run stay with its measurement.
    assert first.fingerprint == replace(fast, frequency_mhz=None, temperature_c=None)
    assert fast.differences(usage[1].fingerprint) == {"onnxruntime": ("1.18.0", "1.17.0")}
    everywhere = store.fingerprints()
    assert [(u.device, u.count) for u in everywhere] == [("laptop", 1), ("rpi4", 2), ("rpi4", 1)]
    assert store.fingerprints(device="nowhere") == []
    assert count_rows(store.url, "fingerprints") == 2


def test_has_measurement(store: Store) -> None:
    m = make_measurement(0)
    key = {"model_hash": m.model_hash, "device": m.device, "fingerprint": m.fingerprint_hash}
    assert not store.has_measurement(**key)
    store.add(m)
    assert store.has_measurement(**key)
    assert not store.has_measurement(**{**key, "device": "laptop"})
    assert not store.has_measurement(**{**key, "fingerprint": make_fingerprint(threads=1).hash})
    assert not store.has_measurement(**{**key, "model_hash": "other"})


def test_measured_archs_are_per_space_device_and_fingerprint(store: Store) -> None:
    a, b = make_measurement(0), make_measurement(1)
    store.add_many([a, b, make_measurement(2, device="laptop"), make_measurement(3, space=None)])
    store.add(make_measurement(4, fingerprint=make_fingerprint(threads=1)))
    key = {"space": "nb201", "device": "rpi4", "fingerprint": a.fingerprint_hash}
    assert a.arch is not None and b.arch is not None
    assert store.measured_archs(**key) == {a.arch.string, b.arch.string}
    assert store.measured_archs(**{**key, "space": "chain"}) == set()


def test_get_of_a_missing_id_says_so(store: Store) -> None:
    store.add(make_measurement(0))
    with pytest.raises(StoreError, match=r"no measurement with id 42 .*measurements list"):
        store.get(42)


def test_closed_store_says_so(store_url: str) -> None:
    s = Store(store_url)
    s.close()
    s.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="was closed"):
        s.count()


def test_url_of_a_path_and_of_a_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store("relative.db") as s:
        assert s.url == f"sqlite:///{tmp_path / 'relative.db'}"
    with Store(f"sqlite:///{tmp_path / 'by_url.db'}") as s:
        s.add(make_measurement(0))
    with Store(tmp_path / "by_url.db") as s:
        assert s.count() == 1


# -- atomicity -------------------------------------------------------------------


def test_add_many_leaves_nothing_when_a_record_fails(store: Store) -> None:
    store.add(make_measurement(0))

    def records_then_crash() -> Iterator[Measurement]:
        yield make_measurement(1)
        yield make_measurement(2, fingerprint=make_fingerprint(threads=2))
        raise RuntimeError("the profiler died")

    with pytest.raises(RuntimeError, match="profiler died"):
        store.add_many(records_then_crash())
    unserialisable = make_measurement(3, settings={"callback": object()})
    with pytest.raises(DataError, match=r"settings of the measurement of model model0003"):
        store.add_many([make_measurement(4), unserialisable])
    with pytest.raises(DataError, match="holds Measurement records, got dict"):
        store.add_many([make_measurement(5), make_measurement(6).to_dict()])  # type: ignore[list-item]
    assert [s.measurement.model_hash for s in store.measurements()] == ["model0000"]
    assert len(store.fingerprints()) == 1
    assert count_rows(store.url, "samples") == 1 and count_rows(store.url, "fingerprints") == 1


# -- migrations --------------------------------------------------------------------


def test_fresh_stores_and_empty_files_get_the_current_schema(new_store_url) -> None:
    locations = [new_store_url()]
    if is_sqlite(locations[0]):
        empty = Path(new_store_url())
        empty.touch()
        locations.append(str(empty))
    for location in locations:
        with Store(location) as s:
            assert s.count() == 0
        assert schema_version(location) == CURRENT_SCHEMA == len(store_module.MIGRATIONS)
        with database(location) as db:
            tables = set(inspect(db).get_table_names())
            indexes = {i["name"] for i in inspect(db).get_indexes("measurements")}
        assert tables == {
            "meta",
            "fingerprints",
            "measurements",
            "samples",
            "jobs",
            "device_leases",
        }
        assert indexes == {
            "ix_measurements_device_fingerprint",
            "ix_measurements_model_hash",
            "ix_measurements_arch_space",
            "ix_measurements_reuse",
            "ix_measurements_identity",
        }


def test_a_store_from_a_newer_hwnas_is_refused(store_url: str) -> None:
    with Store(store_url) as s:
        s.add(make_measurement(0))
    future = CURRENT_SCHEMA + 3
    with database(store_url) as db:
        db.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(future)}
        )
    before = sha256(Path(store_url)) if is_sqlite(store_url) else None
    with pytest.raises(StoreError) as caught:
        Store(store_url)
    message = caught.value.message
    assert store_url in message and "newer hwnas" in message
    assert f"schema {future}, this one reads up to {CURRENT_SCHEMA}" in message
    assert "upgrade hwnas or use another --store" in message
    if before is not None:
        assert sha256(Path(store_url)) == before
    assert schema_version(store_url) == future and count_rows(store_url, "measurements") == 1


def test_migrations_run_stepwise_and_keep_the_data(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_url
    original = make_measurement(0)
    with Store(path) as s:
        id_ = s.add(original)
    base = store_module.CURRENT_SCHEMA
    assert schema_version(path) == base

    applied: list[int] = []

    def add_note_column(conn: Any) -> None:
        applied.append(schema_version_inside(conn))
        conn.exec_driver_sql("ALTER TABLE measurements ADD COLUMN note TEXT")
        conn.exec_driver_sql("UPDATE measurements SET note = 'migrated'")

    def schema_version_inside(conn: Any) -> int:
        return int(conn.exec_driver_sql("SELECT value FROM meta").scalar())

    monkeypatch.setattr(
        store_module.schema, "MIGRATIONS", [*store_module.MIGRATIONS, add_note_column]
    )
    with Store(path) as s:
        assert s.get(id_).measurement.to_dict() == original.to_dict()
        s.add(make_measurement(1))  # the new column is optional: old writes still work
    with Store(path) as s:  # already at the new version: nothing runs again
        assert s.count() == 2
    assert applied == [base]
    assert schema_version(path) == base + 1
    with database(path) as db:
        notes = list(db.execute(text("SELECT note FROM measurements ORDER BY id")).scalars())
    assert notes == ["migrated", None]

    monkeypatch.undo()  # this hwnas knows one version less
    with pytest.raises(StoreError, match=rf"schema {base + 1}, this one reads up to {base}"):
        Store(path)


def test_a_failing_migration_changes_nothing(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_url
    with Store(path) as s:
        s.add(make_measurement(0))

    def broken(conn: Any) -> None:
        conn.exec_driver_sql("ALTER TABLE measurements ADD COLUMN note TEXT")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(store_module.schema, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        Store(path)
    monkeypatch.undo()
    assert schema_version(path) == store_module.CURRENT_SCHEMA
    with database(path) as db:
        columns = {c["name"] for c in inspect(db).get_columns("measurements")}
    assert "note" not in columns and "settings_key" in columns
    with Store(path) as s:
        assert s.count() == 1


def test_a_version_1_store_gains_the_jobs_table_and_keeps_its_data(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_url
    monkeypatch.setattr(store_module.schema, "MIGRATIONS", store_module.MIGRATIONS[:1])
    with Store(path):
        pass
    monkeypatch.undo()
    assert count_rows(path, "measurements") == 0 and schema_version(path) == 1
    with Store(path) as s:
        id_ = s.add(make_measurement(0))
    downgrade(path, 1)
    with Store(path) as s:
        assert s.get(id_).measurement.to_dict() == make_measurement(0).to_dict()
        (job,) = s.add_jobs("b1", "rpi4", [NewJob("m.onnx", "/m.onnx", None, {"threads": 1})])
        assert s.jobs(status="pending") == [job]
    assert schema_version(path) == CURRENT_SCHEMA


#: Settings as the runner records them (its names; the input shapes it resolved).
RECORDED = {
    "threads": 4,
    "target_ci": 0.01,
    "max_seconds": 10.0,
    "min_runs": 20,
    "max_runs": 100000,
    "warmup": 10,
    "warmup_seconds": 0.0,
    "graph_optimization": "all",
    "execution_mode": "sequential",
    "provider": "CPUExecutionProvider",
    "seed": 0,
    "shapes": {"x": [1, 3, 32, 32]},
    "op_profile": False,
    "energy": "none",
    "energy_seconds": None,
    "stop_reason": "target_ci",
}


def test_a_version_2_store_gains_settings_keys_from_jobs_and_records(store_url: str) -> None:
    path = store_url
    asked = {
        "threads": 4,
        "max_seconds": 0.5,
        "seed": 7,
        "shapes": {},
        "reference": "/models/ref.onnx",
        "exporter": "torchscript",
    }
    referenced = {**RECORDED, "max_seconds": 0.5, "reference": {"model_hash": "r" * 64}}
    arch = Arch(space="nb201", string=f"{NB201}#0")
    with Store(path) as s:
        (job,) = s.add_jobs("b1", "rpi4", [NewJob(arch.string, None, arch, asked)])
        from_job = s.finish_job(job.id, make_measurement(0, settings=referenced))
        recorded = s.add(make_measurement(1, settings=RECORDED))
        corrupt = s.add(make_measurement(2))
        keys = {m.id: m.settings_key for m in s.measurements()}
    # The job's settings decide (the exporter, the shapes asked), with the reference's hash.
    assert keys[from_job] == store_module.settings_key({**asked, "reference": "r" * 64})
    assert keys[recorded] == store_module.settings_key(RECORDED)
    assert keys[from_job] != keys[recorded]
    downgrade(path, 2)
    with database(path) as db:
        db.execute(text("UPDATE measurements SET record_json = '{' WHERE id = :i"), {"i": corrupt})
    with Store(path) as s:
        assert schema_version(path) == CURRENT_SCHEMA
        fingerprint = make_fingerprint().hash
        counts = s.measured_arch_counts(
            space="nb201", device="rpi4", fingerprint=fingerprint, settings_key=keys[from_job]
        )
        assert counts == {arch.string: 1}
        assert s.count(settings_key=keys[recorded]) == 1
    with database(path) as db:
        rows = db.execute(text("SELECT id, settings_key FROM measurements")).all()
        migrated = {row[0]: row[1] for row in rows}
        indexes = {i["name"] for i in inspect(db).get_indexes("measurements")}
    # Filled as new rows are; a row whose record is unreadable gets none (never reused).
    assert migrated == {from_job: keys[from_job], recorded: keys[recorded], corrupt: None}
    assert "ix_measurements_reuse" in indexes


def test_the_settings_key_counts_what_changes_a_measurement_and_nothing_else() -> None:
    key = store_module.settings_key
    defaults = {**store_module.RESULT_SETTINGS, "seed": 0}
    base = key(defaults)
    assert key({}) == base  # a missing setting is its default
    # Left out: the seed of the random inputs, the pass of a repeat, the runner's own.
    assert key({**defaults, "seed": 9, "repeat": 2, "warmup_seconds": 1.0}) == base
    assert key({**defaults, "max_seconds": 10, "target_ci": 0.01}) == base  # int or float
    assert key({**defaults, "energy_seconds": 5.0}) == base  # no energy: its time is moot
    changed = {
        "threads": 2,
        "graph_opt": "basic",
        "target_ci": 0.02,
        "max_seconds": 0.5,
        "min_runs": 5,
        "max_runs": 50,
        "warmup": 1,
        "shapes": {"x": [2, 3, 32, 32]},
        "op_profile": True,
        "energy": "rapl",
        "reference": "a" * 64,
        "exporter": "torchscript",
    }
    keys = {name: key({**defaults, name: value}) for name, value in changed.items()}
    assert base not in keys.values() and len(set(keys.values())) == len(changed)
    rapl = {**defaults, "energy": "rapl"}
    assert key({**rapl, "energy_seconds": 5.0}) != key(rapl)
    # The runner's record names graph_optimization and reports the reference by its hash.
    report = {"model": "ref.onnx", "model_hash": "a" * 64, "ratio": {"median": 2.0}}
    recorded = {**defaults, "graph_opt": None, "graph_optimization": "basic"}
    assert key(recorded) == keys["graph_opt"]
    assert key({**defaults, "reference": report}) == keys["reference"]
    assert key({**defaults, "shapes": {"x": (2, 3, 32, 32)}}) == keys["shapes"]


def test_measured_archs_count_only_the_settings_asked_for(store: Store) -> None:
    quick = {**RECORDED, "max_seconds": 0.5}
    store.add_many([make_measurement(0, settings=RECORDED), make_measurement(1, settings=quick)])
    key = {"space": "nb201", "device": "rpi4", "fingerprint": make_fingerprint().hash}
    assert store.measured_archs(**key) == {f"{NB201}#0", f"{NB201}#1"}
    one = store_module.settings_key(quick)
    assert store.measured_archs(**key, settings_key=one) == {f"{NB201}#1"}
    (found,) = store.measurements(settings_key=one)
    assert found.settings_key == one and found.measurement.settings == quick


def test_jobs_are_queued_once_and_finished_atomically(store: Store) -> None:
    arch = Arch(space="nb201", string="|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    new = [NewJob("a", "/a.onnx", None, {"threads": 1}), NewJob("b", None, arch, {"threads": 1})]
    a, b = store.add_jobs("batch1", "rpi4", new)
    # The same jobs queued again (a rerun before --resume) are the pending ones.
    assert [j.id for j in store.add_jobs("batch2", "rpi4", new)] == [a.id, b.id]
    assert len(store.add_jobs("batch2", "laptop", new[:1])) == 1
    assert [j.label for j in store.jobs(device="rpi4", status="pending")] == ["a", "b"]
    assert b.arch == arch and b.settings == {"threads": 1}
    first = store.finish_job(a.id, make_measurement(0))
    assert store.finish_job(a.id, make_measurement(0)) == first  # never stored twice
    assert store.count() == 1
    store.fail_job(b.id, {"error": "model", "message": "broken"})
    done, failed = store.jobs(device="rpi4")
    assert (done.status, done.measurement_id) == ("done", first)
    assert (failed.status, failed.error) == ("failed", {"error": "model", "message": "broken"})
    assert store.jobs(device="rpi4", status="pending") == []
    with pytest.raises(StoreError, match="no job with id 999"):
        store.finish_job(999, make_measurement(1))


# -- SQLite settings and concurrency ---------------------------------------------------------------


def test_wal_busy_timeout_and_begin_immediate(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    path = Path(store.url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    engine = store._db
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        store.add(make_measurement(0))
        assert statements[0] == "BEGIN IMMEDIATE"
        statements.clear()
        store.measurements()
        assert statements[0] == "BEGIN DEFERRED"
    finally:
        event.remove(engine, "before_cursor_execute", record)
        store.close()


WRITER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.test_store import make_measurement
from hwnas.store import Store

path, worker = sys.argv[2], int(sys.argv[3])
todo = [make_measurement(i, model_hash=f"w{worker}-{i}", n=5) for i in range(100)]
print("ready", flush=True)
sys.stdin.readline()  # start together
with Store(path) as store:
    for m in todo:  # the "skip what is measured" pattern: a read, then its own write
        if not store.has_measurement(
            model_hash=m.model_hash, device=m.device, fingerprint=m.fingerprint_hash
        ):
            store.add(m)
print("done", flush=True)
"""


def run_together(script: str, argvs: list[list[str]]) -> None:
    """Run ``script`` in one process per argument list, released at the same moment
    once all have started (their imports done); assert each ends cleanly, silent."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(REPO), *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    try:
        for proc in workers:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in workers:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=120) for proc in workers]
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(workers, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "done" and err == ""


def test_two_processes_write_at_once(store_url: str) -> None:
    path = store_url  # not created yet: both also race to create it
    run_together(WRITER, [[path, str(w)] for w in range(2)])
    assert count_rows(path, "measurements") == 200
    assert count_rows(path, "samples") == 200
    assert count_rows(path, "fingerprints") == 1
    with Store(path) as s:
        hashes = {m.measurement.model_hash for m in s.measurements(samples=True)}
        assert hashes == {f"w{w}-{i}" for w in range(2) for i in range(100)}
        assert all(len(m.measurement.samples_ms) == 5 for m in s.measurements(samples=True))


OPENER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.test_store import make_measurement
from hwnas.store import NewJob, Store

locations, worker = sys.argv[2:4], int(sys.argv[4])
jobs = [NewJob(f"m{i}.onnx", f"/m{i}.onnx", None, {"threads": 1}) for i in range(3)]
print("ready", flush=True)
sys.stdin.readline()  # start together
for location in locations:
    with Store(location) as store:
        store.add_many([make_measurement(i, model_hash=f"w{worker}-{i}", n=5) for i in range(2)])
        store.add_jobs(f"batch{worker}", "rpi4", jobs)
        store.put_meta("last", worker)
print("done", flush=True)
"""


def test_processes_that_open_a_new_and_an_old_store_at_once_make_one_schema(
    new_store_url, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creation and migration race (Optuna's RDB storage had table-creation races, optuna
    #1092): six processes open an empty store, then a version-1 one, at the same moment."""
    fresh, old = new_store_url(), new_store_url()
    with Store(old) as s:
        kept = s.add(make_measurement(0, model_hash="kept"))
    downgrade(old, 1)
    workers = 6
    run_together(OPENER, [[fresh, old, str(w)] for w in range(workers)])
    for location in (fresh, old):
        assert schema_versions(location) == [str(CURRENT_SCHEMA)]
        with database(location) as db:
            tables = set(inspect(db).get_table_names())
            indexes = {i["name"] for i in inspect(db).get_indexes("measurements")}
        assert tables == {
            "meta",
            "fingerprints",
            "measurements",
            "samples",
            "jobs",
            "device_leases",
        }
        assert {"ix_measurements_reuse", "ix_measurements_identity"} <= indexes
        assert len(indexes) == 5
        with Store(location) as s:
            stored = s.measurements()
            assert {m.measurement.model_hash for m in stored} >= {
                f"w{w}-{i}" for w in range(workers) for i in range(2)
            }
            # The same jobs queued by every worker: pending once.
            assert sorted(j.label for j in s.jobs(status="pending")) == [
                "m0.onnx",
                "m1.onnx",
                "m2.onnx",
            ]
            assert s.get_meta("last") in range(workers)
        assert count_rows(location, "fingerprints") == 1
    assert count_rows(fresh, "measurements") == 2 * workers
    assert count_rows(old, "measurements") == 2 * workers + 1
    with Store(old) as s:
        assert s.get(kept).measurement.to_dict() == make_measurement(0, model_hash="kept").to_dict()
        assert s.get(kept).settings_key is not None  # filled by the migration
        assert s.get(kept).identity == store_module.measurement_identity(s.get(kept).measurement)


@contextmanager
def holding_job(location: str, job_id: int) -> Iterator[Callable[..., Any]]:
    """Another writer's transaction that holds job ``job_id`` until the block ends and
    then commits (PostgreSQL: the row locked FOR UPDATE; SQLite: the write lock). Yields
    a function that runs SQL (named ``:parameters``) inside it."""
    if is_sqlite(location):
        db = sqlite3.connect(location.removeprefix("sqlite:///"), isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db.execute
            db.execute("COMMIT")
        finally:
            db.close()
        return
    with database(location) as conn:
        conn.execute(text("SELECT id FROM jobs WHERE id = :i FOR UPDATE"), {"i": job_id})
        yield lambda sql, params: conn.execute(text(sql), params)


def waits(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
    """``call`` started in a thread, asserted to be still waiting 0.3 s later."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call, *args, **kwargs)
    pool.shutdown(wait=False)
    time.sleep(0.3)
    assert not future.done(), future.result()
    return future


DONE = "UPDATE jobs SET status = 'done', measurement_id = :m WHERE id = :i"


def test_a_job_finished_elsewhere_meanwhile_is_not_stored_twice(store: Store) -> None:
    (job,) = store.add_jobs("b1", "rpi4", [NewJob("a", "/a.onnx", None, {"threads": 1})])
    theirs = store.add(make_measurement(0))
    with holding_job(store.url, job.id) as other:
        late = waits(store.finish_job, job.id, make_measurement(1))
        other(DONE, {"m": theirs, "i": job.id})
    assert late.result(timeout=60) == theirs
    assert store.count() == 1


def test_a_job_finished_elsewhere_while_cancelling_stays_done(store: Store) -> None:
    new = [NewJob(label, None, None, {"threads": 1}) for label in ("a", "b")]
    a, b = store.add_jobs("b1", "rpi4", new)
    theirs = store.add(make_measurement(0))
    with holding_job(store.url, a.id) as other:
        cancelling = waits(store.cancel_jobs, device="rpi4")
        other(DONE, {"m": theirs, "i": a.id})
    assert cancelling.result(timeout=60) == [b.id]
    assert [(j.id, j.status) for j in store.jobs()] == [(a.id, "done"), (b.id, "cancelled")]


# -- locations that cannot be used ---------------------------------------------------


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(os.urandom(4096))
    # Passes the header check, fails inside SQLite.
    fake = tmp_path / "fake.db"
    fake.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    for path in (garbage, fake):
        before = sha256(path)
        with pytest.raises(StoreError) as caught:
            Store(path)
        message = caught.value.message
        assert str(path) in message and "not an hwnas measurement store" in message
        assert "--store" in message and "HWNAS_STORE" in message
        assert sha256(path) == before
        assert not Path(f"{path}-wal").exists()


def test_a_foreign_database_is_refused(store_url: str) -> None:
    path = store_url
    with database(path) as db:
        db.execute(text("CREATE TABLE measurements (x INTEGER)"))
    with pytest.raises(StoreError, match=r"not an hwnas measurement store .*no schema version"):
        Store(path)


def unwritable_message(where: str) -> str:
    """A regex for the unwritable-store message; ``where`` is itself a regex."""
    return (
        f"cannot write the measurement store at {where} "
        r"\(.*\); pass --store PATH or set HWNAS_STORE to a writable location"
    )


@pytest.mark.parametrize(
    ("layout", "location", "reason"),
    [
        ("file", "a_file/store.db", "a_file is a file, not a directory"),
        ("file", "a_file/deeper/store.db", "a_file is a file, not a directory"),
        ("none", "missing/store.db", "the directory .*missing does not exist"),
        ("dir", "a_dir", "it is a directory, not a file"),
    ],
)
def test_unusable_locations_are_refused_up_front(
    tmp_path: Path, layout: str, location: str, reason: str
) -> None:
    # These fail as root too (root ignores permission bits, not file types).
    if layout == "file":
        (tmp_path / "a_file").write_text("not a directory")
    elif layout == "dir":
        (tmp_path / "a_dir").mkdir()
    target = tmp_path / location
    with pytest.raises(StoreError, match=unwritable_message(re.escape(str(target)))) as caught:
        Store(target)
    assert re.search(reason, caught.value.message)
    assert not (tmp_path / "missing").exists()


def test_a_missing_store_is_not_created_when_create_is_false(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(StoreError, match=r"there is no measurement store at .*absent\.db"):
        Store(path, create=False)
    assert not path.exists()
    Store(path).close()
    with Store(path, create=False) as s:
        assert s.count() == 0


def test_a_read_only_sqlite_url_is_refused_on_open_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    with Store(path) as s:
        s.add(make_measurement(0))
    before = sha256(path)
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    with pytest.raises(StoreError, match=unwritable_message(r"sqlite:///file:.*kept\.db.*")):
        Store(url)
    assert sha256(path) == before
    with Store(path) as s:
        assert s.count() == 1


def open_without_privileges(path: Path) -> str:
    """Open ``path`` as a user that permission bits apply to; return the StoreError message."""
    if os.geteuid() != 0:
        with pytest.raises(StoreError) as caught:
            Store(path)
        return caught.value.message
    # Root ignores permission bits, so try it from a forked child that became nobody
    # (forked, not spawned: the interpreter may live where nobody cannot read).
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            try:
                Store(path).close()
                report: dict[str, Any] = {"opened": True}
            except StoreError as exc:
                report = {"opened": False, "message": exc.message}
        except BaseException as exc:
            report = {"opened": None, "message": repr(exc)}
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert report["opened"] is False, report
    return str(report["message"])


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory other users can reach (pytest's tmp_path is private to its owner)."""
    top = Path(tempfile.mkdtemp(prefix="hwnas-store-"))
    top.chmod(0o755)
    try:
        yield top
    finally:
        for path in (top, *top.rglob("*")):
            path.chmod(0o777 if path.is_dir() else 0o666)
        shutil.rmtree(top)


def test_a_read_only_file_is_refused_and_left_untouched(shared_tmp: Path) -> None:
    folder = shared_tmp / "open"
    folder.mkdir()
    path = folder / "store.db"
    with Store(path) as s:
        s.add(make_measurement(0))
    folder.chmod(0o777)
    path.chmod(0o444)
    before = sha256(path)
    message = open_without_privileges(path)
    assert f"cannot write the measurement store at {path} (the file is read-only)" in message
    assert "pass --store PATH or set HWNAS_STORE to a writable location" in message
    assert sha256(path) == before and sorted(p.name for p in folder.iterdir()) == ["store.db"]
    path.chmod(0o644)
    with Store(path) as s:
        assert s.count() == 1


def test_a_read_only_directory_is_refused(shared_tmp: Path) -> None:
    folder = shared_tmp / "locked"
    folder.mkdir()
    existing = folder / "store.db"
    with Store(existing) as s:
        s.add(make_measurement(0))
    existing.chmod(0o666)
    folder.chmod(0o555)
    before = sha256(existing)
    message = open_without_privileges(existing)
    assert f"its directory {folder} is not writable" in message
    assert sha256(existing) == before
    message = open_without_privileges(folder / "new.db")
    assert f"the directory {folder} is not writable" in message
    assert sorted(p.name for p in folder.iterdir()) == ["store.db"]


def test_a_second_handle_in_one_process_keeps_writes_visible_to_others(tmp_path: Path) -> None:
    """Opening the store again must not drop the process's SQLite locks: if it did, another
    process's last close would checkpoint and delete the WAL under our open connection,
    and later writes would never reach other processes."""
    path = tmp_path / "shared.db"
    reader = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "print(db.execute('SELECT count(*) FROM measurements').fetchone()[0])\n"
        "db.close()\n"
    )

    def count_elsewhere() -> int:
        done = subprocess.run(
            [sys.executable, "-c", reader, str(path)], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    with Store(path) as first:
        first.add(make_measurement(model_hash="one"))
        with Store(path) as second:
            assert second.count() == 1
            assert count_elsewhere() == 1
            first.add(make_measurement(model_hash="two"))
            assert count_elsewhere() == 2
