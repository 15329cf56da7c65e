"""Sharing measurements (issue 11 item 5): export and import between stores, directly
(SQLite <-> PostgreSQL) and through Parquet or CSV, idempotent by measurement identity,
nothing lost, malformed files refused with the row, the column and the fix.

The tests that take ``store_url`` or ``new_store_url`` run on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import DataError, ParameterError, StoreError
from hwnas.events import Event
from hwnas.records import Measurement
from hwnas.store import NewJob, Store, StoredMeasurement, measurement_identity, settings_key
from tests.test_store import make_fingerprint, make_measurement


def varied() -> list[Measurement]:
    """Measurements with every optional part present and absent."""
    return [
        make_measurement(0),
        make_measurement(1, space=None, energy_mj=None, energy_method=None, op_profile=None),
        make_measurement(2, fingerprint=make_fingerprint(frequency_mhz=None, governor=None)),
        make_measurement(3, peak_memory_mb=None, warmup_ms=(), warnings=(), model_name=None),
        make_measurement(4, device="pixel7", fingerprint=make_fingerprint(cpu_model="Tensor")),
        make_measurement(5, samples_ms=(), n=1, memory={}, settings={"energy": "rapl"}),
    ]


def fill(location: str) -> list[StoredMeasurement]:
    """``location`` with :func:`varied` and one measurement of a queued job (whose
    settings key is its job's, not what its own settings give); returns them as stored."""
    with Store(location) as s:
        s.add_many(varied())
        job_settings = {"threads": 4, "exporter": "torchscript", "max_seconds": 0.5}
        (job,) = s.add_jobs("b", "rpi4", [NewJob("j", None, None, job_settings)])
        s.finish_job(job.id, make_measurement(6))
        return s.measurements(samples=True)


def contents(location: str | Store) -> list[tuple[Measurement, str | None, str | None]]:
    """What a store holds, id aside, in a stable order."""
    if isinstance(location, Store):
        stored = location.measurements(samples=True)
    else:
        with Store(location) as s:
            stored = s.measurements(samples=True)
    found = [(s.measurement, s.settings_key, s.identity) for s in stored]
    return sorted(found, key=lambda t: t[2] or "")


def test_sqlite_and_postgresql_import_each_other_exactly_and_once(postgres, tmp_path: Path):
    sqlite_store = str(tmp_path / "laptop.db")
    original = fill(sqlite_store)
    job_row = original[-1]
    assert job_row.settings_key != settings_key(job_row.measurement.settings)
    with postgres.database() as team:
        report = hwnas.import_measurements(sqlite_store, team)
        assert (report.read, report.added, report.already) == (7, 7, 0)
        assert contents(team) == contents(sqlite_store)
        again = hwnas.import_measurements(sqlite_store, team)
        assert (again.read, again.added, again.already) == (7, 0, 7)
        # Back the other way, into a new SQLite store, by exporting from PostgreSQL.
        back = str(tmp_path / "back.db")
        exported = hwnas.export_measurements(back, team)
        assert (exported.format, exported.rows, exported.added) == ("store", 7, 7)
        assert contents(back) == contents(sqlite_store)
        assert hwnas.export_measurements(back, team).added == 0
    for m, key, identity in contents(back):
        assert identity == measurement_identity(m) and key is not None
    # Everything a record carries survived: samples, settings, energy, memory, fingerprint.
    by_identity = {s.identity: s for s in original}
    for m, key, identity in contents(back):
        assert m.to_dict() == by_identity[identity].measurement.to_dict()
        assert key == by_identity[identity].settings_key


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_carries_everything_and_imports_once(
    new_store_url: Callable[[], str], tmp_path: Path, suffix: str
):
    source, dest = new_store_url(), new_store_url()
    fill(source)
    path = tmp_path / f"team{suffix}"
    events: list[Event] = []
    report = hwnas.export_measurements(path, source, batch_size=3, progress=events.append)
    assert (report.rows, report.format, report.added) == (7, suffix[1:], None)
    unpinned = make_fingerprint(frequency_mhz=None, governor=None)
    assert set(report.fingerprints["rpi4"]) == {make_fingerprint().hash, unpinned.hash}
    assert report.fingerprints["pixel7"] == (make_fingerprint(cpu_model="Tensor").hash,)
    assert [e.done for e in events] == [0, 3, 6, 7]
    frame = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert {"arch", "latency_ms", "record", "identity", "settings_key"} <= set(frame.columns)
    imported = hwnas.import_measurements(path, dest, progress=events.append)
    assert (imported.added, imported.already) == (7, 0)
    assert events[-1] == Event("step", stage="import", done=7, total=7)
    assert contents(dest) == contents(source)
    assert hwnas.import_measurements(path, dest).added == 0
    # Filters pick rows of a file as they pick rows of a store.
    only = hwnas.import_measurements(path, new_store_url(), device="pixel7")
    assert (only.read, only.added) == (1, 1)


def test_a_store_into_itself_and_a_later_measurement_add_only_what_is_new(store_url: str):
    fill(store_url)
    assert hwnas.import_measurements(store_url, store_url).added == 0
    with Store(store_url) as s:
        # Same model, device, fingerprint and time, other samples: another measurement.
        other = make_measurement(0, samples_ms=tuple(x + 1 for x in make_measurement(0).samples_ms))
        assert measurement_identity(other) != measurement_identity(make_measurement(0))
        new = s.add_new([(other, None), (other, None), (make_measurement(0), None)])
        assert new == [8, None, None] and s.count() == 8


def test_concurrent_imports_of_one_file_add_each_measurement_once(
    new_store_url: Callable[[], str], tmp_path: Path
):
    source, dest = new_store_url(), new_store_url()
    with Store(source) as s:
        s.add_many(make_measurement(i) for i in range(60))
    path = tmp_path / "t.parquet"
    hwnas.export_measurements(path, source)
    reports = []
    threads = [
        threading.Thread(
            target=lambda: reports.append(hwnas.import_measurements(path, dest, batch_size=7))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.read for r in reports) == [60, 60, 60]
    assert sum(r.added for r in reports) == 60
    with Store(dest) as s:
        assert s.count() == 60


def test_predictors_train_from_imported_measurements(postgres, tmp_path: Path):
    """A colleague measured on SQLite; the team's PostgreSQL store trains on the same data."""
    import numpy as np

    from hwnas.data import nb201_table
    from hwnas.predictors.data import from_store
    from tests.test_predictors import fill_store
    from tests.test_predictors import make_fingerprint as predictor_fingerprint

    fp = predictor_fingerprint()
    measured = str(tmp_path / "colleague.db")
    with Store(measured) as s:
        fill_store(s, nb201_table(), 30, fp)
    path = tmp_path / "shared.parquet"
    hwnas.export_measurements(path, measured)
    with postgres.database() as team, Store(team) as store, Store(measured) as theirs:
        hwnas.import_measurements(path, store)
        ours = from_store(store, space="nb201", metric="latency_ms", device="rpi4")
        same = from_store(theirs, space="nb201", metric="latency_ms", device="rpi4")
        assert ours.archs == same.archs and ours.rows == same.rows == 30
        np.testing.assert_array_equal(ours.values, same.values)
        trained = hwnas.train_predictor(space="nb201", device="rpi4", store=store, max_rounds=50)
    assert trained.origin_.fingerprint == fp.hash and trained.n_train_ == len(same.archs)


# -- malformed files ---------------------------------------------------------------------


def exported_csv(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    source = str(tmp_path / "s.db")
    with Store(source) as s:
        s.add_many(make_measurement(i) for i in range(4))
    path = tmp_path / "t.csv"
    hwnas.export_measurements(path, source)
    return path, pd.read_csv(path)


def rewrite(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_malformed_rows_name_the_row_the_column_and_the_fix(tmp_path: Path):
    path, frame = exported_csv(tmp_path)
    dest = tmp_path / "dest.db"
    cases = []
    cut = frame.copy()
    cut.loc[2, "record"] = cut.loc[2, "record"][:50]
    cases.append((cut, r"row 3 \(line 4 of the file\) of .*t\.csv: column 'record' is not JSON"))
    no_field = frame.copy()
    record = json.loads(no_field.loc[1, "record"])
    del record["device"]
    no_field.loc[1, "record"] = json.dumps(record)
    cases.append((no_field, r"row 2 .*column 'record' is not a valid measurement.*'device'"))
    edited = frame.copy()
    edited.loc[3, "latency_ms"] = 99.0
    cases.append((edited, r"row 4 .*column 'latency_ms' says 99\.0 but the row's record says"))
    empty = frame.copy()
    empty.loc[0, "record"] = None
    cases.append((empty, r"row 1 .*has no value in column 'record'"))
    for bad, message in cases:
        with pytest.raises(DataError, match=message) as info:
            hwnas.import_measurements(rewrite(path, bad), dest)
        assert "hwnas measurements export" in info.value.message
    # A file is checked whole before anything is written.
    with Store(dest) as s:
        assert s.count() == 0
    plain = rewrite(tmp_path / "plain.csv", frame[["arch", "latency_ms"]])
    with pytest.raises(DataError, match="has no column 'record'.*predictor train --table"):
        hwnas.import_measurements(plain, dest)
    with pytest.raises(DataError, match="does not exist"):
        hwnas.import_measurements(tmp_path / "absent.parquet", dest)
    with pytest.raises(StoreError, match="no measurement store"):
        hwnas.import_measurements(tmp_path / "absent.db", dest)
    with pytest.raises(ParameterError, match="batch_size must be an integer >= 1, got 0"):
        hwnas.import_measurements(path, dest, batch_size=0)


# -- the command line ----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_measurements_import_and_export_commands(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
):
    laptop = str(tmp_path / "laptop.db")
    fill(laptop)
    path = tmp_path / "t.parquet"
    code, out, err = run(capsys, "measurements", "export", "-o", path, "--store", laptop, "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 7
    code, out, err = run(capsys, "measurements", "import", path, "--store", store_url, "--json")
    assert code == 0, err
    assert json.loads(out)["added"] == 7
    code, _, err = run(capsys, "measurements", "import", laptop, "--store", store_url)
    assert code == 0 and "imported 0 new measurement(s) of 7" in err
    assert "7 were there already" in err
    code, _, err = run(capsys, "measurements", "export", "-o", store_url, "--store", laptop)
    assert code == 0 and "copied 0 new measurement(s) of 7" in err
    code, out, err = run(capsys, "measurements", "import", tmp_path / "x.csv", "--json")
    assert code == 2 and "does not exist" in err
    assert json.loads(out)["errors"][0]["error"] == "data"
    assert contents(store_url) == contents(laptop)


def test_replacing_a_record_keeps_identity_of_the_content():
    m = make_measurement(0)
    assert measurement_identity(m) == measurement_identity(replace(m, model_name="renamed"))
    assert measurement_identity(m) != measurement_identity(replace(m, timestamp="2025"))
    assert measurement_identity(m) != measurement_identity(
        replace(m, settings={**m.settings, "threads": 2})
    )
