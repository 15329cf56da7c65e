"""Measurement tables: export from the store, CSV/Parquet round trips, checked reading."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hwnas.data import NB201_COLUMNS, nb201_table
from hwnas.errors import DataError, UsageError
from hwnas.store import Store, StoredMeasurement
from hwnas.tables import EXPORT_COLUMNS, measurements_frame, read_table, write_table
from tests.test_store import make_fingerprint, make_measurement


@pytest.fixture
def stored(tmp_path: Path) -> list[StoredMeasurement]:
    with Store(tmp_path / "store.db") as store:
        store.add_many(
            [
                make_measurement(0),
                make_measurement(1, space=None, energy_mj=None, energy_method=None),
                make_measurement(2, peak_memory_mb=None, fingerprint=make_fingerprint(threads=1)),
            ]
        )
        return store.measurements()


def test_frame_has_the_documented_columns(stored: list[StoredMeasurement]) -> None:
    frame = measurements_frame(stored)
    assert list(frame.columns) == list(EXPORT_COLUMNS)
    assert {"arch", "latency_ms", "peak_memory_mb", "energy_mj"} <= set(frame.columns)
    assert len(frame) == 3
    first, second = stored[0].measurement, stored[1].measurement
    row = frame.iloc[0]
    assert row["id"] == stored[0].id
    assert first.arch is not None and row["arch"] == first.arch.string
    assert row["space"] == "nb201" and row["device"] == "rpi4"
    assert row["fingerprint"] == first.fingerprint_hash
    assert row["latency_ms"] == first.latency_ms.median
    assert row["latency_p90"] == first.latency_ms.p90 and row["latency_n"] == 7
    assert row["energy_mj"] == first.energy_mj and row["energy_method"] == "rapl"
    missing = frame.isna()
    assert missing.loc[1, "arch"] and missing.loc[1, "space"] and missing.loc[1, "energy_mj"]
    assert missing.loc[2, "peak_memory_mb"] and not missing.loc[0, "arch"]
    assert frame.loc[1, "model_hash"] == second.model_hash
    for column in ("latency_ms", "peak_memory_mb", "energy_mj", "model_size_mb"):
        assert frame[column].dtype == "float64"
    assert frame["latency_n"].dtype == "int64" and frame["id"].dtype == "int64"


def test_an_empty_selection_gives_the_columns_and_no_rows() -> None:
    frame = measurements_frame([])
    assert list(frame.columns) == list(EXPORT_COLUMNS) and frame.empty


@pytest.mark.parametrize(
    ("name", "fmt"), [("t.csv", None), ("t.parquet", None), ("t.pq", None), ("t.dat", "csv")]
)
def test_write_and_read_back(
    tmp_path: Path, stored: list[StoredMeasurement], name: str, fmt: str | None
) -> None:
    frame = measurements_frame(stored)
    written = write_table(frame, tmp_path / name, format=fmt)
    assert written == tmp_path / name and written.is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    back = read_table(written, metric="latency_ms")
    assert list(back.columns) == list(EXPORT_COLUMNS)
    # Floats come back exactly, CSV included (round-trip float parsing).
    assert back["latency_ms"].tolist() == frame["latency_ms"].tolist()
    assert back["latency_ci_high"].tolist() == frame["latency_ci_high"].tolist()
    assert back["arch"].tolist()[0] == frame["arch"].tolist()[0]
    assert back.isna().loc[1, "arch"] and back.isna().loc[1, "energy_mj"]
    assert back["fingerprint"].tolist() == frame["fingerprint"].tolist()
    assert back["id"].tolist() == frame["id"].tolist()
    assert read_table(written)["peak_memory_mb"].dtype == "float64"


def test_parquet_is_really_parquet(tmp_path: Path, stored: list[StoredMeasurement]) -> None:
    path = write_table(measurements_frame(stored), tmp_path / "t.parquet")
    assert path.read_bytes()[:4] == b"PAR1"
    # Content decides for a suffix that says nothing.
    renamed = path.rename(tmp_path / "t.table")
    assert len(read_table(renamed, metric="latency_ms")) == 3


def test_unknown_formats_are_usage_errors(tmp_path: Path) -> None:
    frame = pd.DataFrame({"arch": ["a"], "latency_ms": [1.0]})
    with pytest.raises(UsageError, match=r"suffix '\.xlsx'; allowed: csv, parquet"):
        write_table(frame, tmp_path / "t.xlsx")
    with pytest.raises(UsageError, match=r"unknown table format 'json'; allowed: csv, parquet"):
        write_table(frame, tmp_path / "t.csv", format="json")
    with pytest.raises(UsageError, match=r"cannot write the table to .*missing.*--output"):
        write_table(frame, tmp_path / "missing" / "t.csv")
    with pytest.raises(UsageError, match="is a directory"):
        write_table(frame, tmp_path, format="csv")
    assert list(tmp_path.iterdir()) == []


def test_reads_a_table_in_the_public_nb201_csv_layout(tmp_path: Path) -> None:
    # The exact layout of the public HELP tables: index,arch,latency_ms with full float repr.
    bundled = nb201_table()
    path = tmp_path / "nb201_latency_raspi4.csv"
    lines = ["index,arch,latency_ms"] + [
        f"{i},{a},{v!r}"
        for i, a, v in bundled[["index", "arch", "latency_raspi4_ms"]].itertuples(index=False)
    ]
    path.write_text("\n".join(lines) + "\n")
    frame = read_table(path, metric="latency_ms")
    assert list(frame.columns) == ["index", "arch", "latency_ms"]
    assert len(frame) == 15625
    assert frame["latency_ms"].dtype == "float64" and (frame["latency_ms"] > 0).all()
    assert frame["arch"].iloc[0].startswith("|") and frame["arch"].is_unique
    assert frame["latency_ms"].tolist() == bundled["latency_raspi4_ms"].tolist()
    assert len(read_table(path)) == 15625


def test_the_bundled_nb201_table_is_complete_and_in_official_order() -> None:
    table = nb201_table()
    assert tuple(table.columns) == NB201_COLUMNS
    assert table["index"].tolist() == list(range(15625))
    assert table["arch"].iloc[0] == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
        "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )
    assert table["arch"].is_unique and not table.isna().any().any()
    assert table["cifar10_test_acc"].between(0, 100).all()
    table.loc[0, "arch"] = "changed"  # callers get a copy
    assert nb201_table()["arch"].iloc[0] != "changed"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"does not exist; check the path"),
        ("", r"is empty; it needs a header with 'arch'"),
        ("\n  \n", r"is empty"),
        ("arch,latency_ms\n", r"has a header but no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"is a binary file, not CSV"),
        (b"\xff\xfe\xfdarch,latency_ms\n\xff,1\n", r"is not readable CSV"),
        ('arch,latency_ms\n"a,1\n', r"is not readable CSV"),
        (
            "cell,latency\na,1.0\n",
            r"lacks the column\(s\) arch, latency_ms; it has cell, latency but needs "
            r"arch, latency_ms",
        ),
        ("arch,energy_mj\na,1.0\n", r"lacks the column\(s\) latency_ms; it has arch, energy_mj"),
        (
            "arch,latency_ms\na,1.5\nb,fast\n",
            r"row 2 \(line 3 of the file\) of .* has latency_ms = 'fast', which is not a finite",
        ),
        ("arch,latency_ms\na,1.5\nb,2\nc,-0.5\n", r"row 3 \(line 4 .* -0\.5; a metric cannot"),
        ("arch,latency_ms\na,1.5\nb,inf\n", r"row 2 .* latency_ms = inf.* not a finite number"),
        ("arch,latency_ms\na,\nb,2\n", r"row 1 \(line 2 .* has no latency_ms value"),
    ],
)
def test_bad_tables_are_clear_data_errors(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "table.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message) as caught:
        read_table(path, metric="latency_ms")
    assert str(path) in caught.value.message


def test_bad_tables_without_a_metric_and_in_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"needs arch, latency_ms or peak_memory_mb or energy_mj"):
        read_table(write(tmp_path / "a.csv", "arch,accuracy\na,0.9\n"))
    # Without a metric, the metrics present are checked but may be missing.
    frame = read_table(write(tmp_path / "b.csv", "arch,latency_ms,energy_mj\na,1,\nb,2,0.5\n"))
    assert frame["energy_mj"].isna().tolist() == [True, False]
    with pytest.raises(DataError, match=r"row 2 .* energy_mj = -0\.5"):
        read_table(write(tmp_path / "c.csv", "arch,latency_ms,energy_mj\na,1,\nb,2,-0.5\n"))
    garbage = tmp_path / "d.parquet"
    garbage.write_bytes(b"arch,latency_ms\na,1\n")
    with pytest.raises(DataError, match=r"is not a readable Parquet file"):
        read_table(garbage, metric="latency_ms")
    negative = tmp_path / "e.parquet"
    pd.DataFrame({"arch": ["a", "b"], "latency_ms": [1.0, -2.0]}).to_parquet(negative)
    with pytest.raises(DataError, match=r"row 2 of .*e\.parquet has latency_ms = -2\.0"):
        read_table(negative, metric="latency_ms")
    with pytest.raises(DataError, match=r"is a directory"):
        read_table(tmp_path, metric="latency_ms")
    # A text file that is no table: the message stays short.
    prose = write(tmp_path / "notes.txt", "word " * 500 + "\n")
    with pytest.raises(DataError, match=r"it has word word .*\.\.\. but needs arch") as caught:
        read_table(prose, metric="latency_ms")
    assert len(caught.value.message) < 300
    with pytest.raises(DataError, match=r"lacks the column\(s\) p50; it has arch, latency_ms"):
        read_table(write(tmp_path / "f.csv", "arch,latency_ms\na,1\n"), metric="p50")
