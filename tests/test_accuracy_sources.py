"""Accuracy from a user's table (``table:FILE[:COLUMN]``), each architecture evaluated once
per equivalence class, and slow functions evaluated in worker processes (``jobs``)."""

from __future__ import annotations

import gzip
import multiprocessing
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.data import nb201_table
from hwnas.errors import AccuracyError, DataError, ParameterError
from hwnas.executors import split
from hwnas.search.accuracy import (
    CallableAccuracy,
    TableAccuracy,
    TabularAccuracy,
    accuracy_source,
    split_table_spec,
)
from tests.data_files import nb201_accuracy_csv
from tests.test_search import BUDGET, latency  # noqa: F401  (a fixture)

SHARED = nb201_accuracy_csv()
SMALL = {"population": 12, "generations": 3}


@pytest.fixture(scope="module")
def nb201():
    return hwnas.get_space("nb201")


# Functions that worker processes import by name (tests.test_accuracy_sources:...).
def score(archs, space=None):
    """A deterministic score that depends on the architecture: its ops' letters."""
    return [float(sum(map(ord, a)) % 997) / 10 for a in archs]


def score_with_space(archs, space):
    assert space.name == "nb201"
    return score(archs)


def fails_on_pools(archs, space):
    if any("avg_pool_3x3" in a for a in archs):
        raise ValueError("cannot train a pooling cell")
    return score(archs)


def one_short(archs, space):
    return score(archs)[1:]


def busy(archs, space):
    """CPU-bound: about 20 ms of arithmetic per architecture (for the speed-up figure)."""
    total = 0
    for _ in archs:
        for i in range(400_000):
            total += i % 7
    return score(archs)


def small_table(
    tmp_path: Path, rows: int = 200, name: str = "acc.csv"
) -> tuple[Path, pd.DataFrame]:
    frame = (
        nb201_table()[["arch", "cifar10_test_acc"]]
        .head(rows)
        .rename(columns={"cifar10_test_acc": "top1"})
    )
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path, frame


# --- table:FILE[:COLUMN] -------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("results.csv:top1", ("results.csv", "top1")),
        ("results.csv", ("results.csv", None)),
        ("results.csv:", ("results.csv", None)),
        ("results.csv.gz:top1", ("results.csv.gz", "top1")),
        ("C:\\data\\acc.csv", ("C:\\data\\acc.csv", None)),
        ("C:\\data\\acc.csv:top1", ("C:\\data\\acc.csv", "top1")),
        ("C:/data/acc.parquet", ("C:/data/acc.parquet", None)),
        ("/mnt/a:b/acc.csv", ("/mnt/a:b/acc.csv", None)),
        ("/mnt/a:b/acc.csv:top1", ("/mnt/a:b/acc.csv", "top1")),
        ("run:3.csv.gz", ("run:3.csv.gz", None)),
        ("scores:v2.pq", ("scores:v2.pq", None)),
    ],
)
def test_the_column_is_split_off_only_where_it_is_not_part_of_the_path(arg, expected) -> None:
    assert split_table_spec(arg) == expected


def test_a_file_whose_name_has_a_colon_is_a_file(tmp_path: Path) -> None:
    odd = tmp_path / "acc:v2"
    odd.write_text("arch,top1\n")
    assert split_table_spec(str(odd)) == (str(odd), None)


def test_the_public_accuracy_table_gives_class_means_and_agrees_with_tabular(nb201) -> None:
    """``nb201_accuracy.csv`` (../shared/data's, here written from the identical bundled
    data) read through ``table:``: equal to ``tabular:`` where a class has one member;
    elsewhere the mean of the class's members (``tabular:``, keyed by the exact string,
    gives the canonical member's own value)."""
    source = accuracy_source(f"table:{SHARED}:cifar10_test_acc", nb201)
    assert isinstance(source, TableAccuracy) and source.rows == 15_625
    assert len(source.values) == 6_466 and source.name == "cifar10_test_acc from nb201_accuracy.csv"
    table = nb201_table()
    classes = table.groupby(table.arch.map(nb201.canonical))["cifar10_test_acc"]
    sizes, means = classes.size(), classes.mean()
    canon = list(sizes.index)
    got = source.evaluate(canon)
    single = (sizes == 1).to_numpy()
    assert single.sum() > 1000
    np.testing.assert_array_equal(got[single], TabularAccuracy(nb201).evaluate(canon)[single])
    np.testing.assert_allclose(got, means.to_numpy(), rtol=0, atol=1e-9)
    # Any member of a class finds the class's value.
    members = table.arch[table.arch.map(nb201.canonical) != table.arch].head(50).tolist()
    np.testing.assert_array_equal(
        source.evaluate(members), source.evaluate([nb201.canonical(a) for a in members])
    )


def test_without_a_column_several_candidates_are_listed(nb201) -> None:
    with pytest.raises(DataError) as caught:
        accuracy_source(f"table:{SHARED}", nb201)
    assert "3 numeric columns (cifar10_test_acc, cifar100_test_acc, imagenet16_test_acc)" in str(
        caught.value
    )
    assert f"table:{SHARED}:cifar10_test_acc" in str(caught.value)


def test_the_only_numeric_column_is_the_default_in_every_format(nb201, tmp_path: Path) -> None:
    path, frame = small_table(tmp_path)
    frame.insert(0, "index", range(len(frame)))
    frame["note"] = "from a notebook"  # not numeric: not a candidate
    frame.to_csv(path, index=False)
    frame.to_parquet(tmp_path / "acc.parquet", index=False)
    for name in ("acc.csv", "acc.parquet"):
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress((tmp_path / name).read_bytes()))
    shutil.copy(tmp_path / "acc.parquet", tmp_path / "acc.data")  # told by content
    expected = frame.groupby(frame.arch.map(nb201.canonical))["top1"].mean()
    for name in ("acc.csv", "acc.csv.gz", "acc.parquet", "acc.parquet.gz", "acc.data"):
        source = accuracy_source(f"table:{tmp_path / name}", nb201)
        assert source.column == "top1", name
        got = source.evaluate(list(expected.index))
        np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-15, err_msg=name)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty; it needs a header with arch"),
        ("arch,top1\n", "has a header but no rows"),
        ("name,top1\nx,1\n", r"has no arch column \(it has name, top1\)"),
        ("arch,name\nx,y\n", "Besides arch and index it has none; name one"),
        (
            "arch,top1\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\nresnet,2\n",
            r"1 row\(s\) of the accuracy table .* are not nb201 architectures: row 2 "
            r"\(line 3 of the file\): 'resnet'",
        ),
        (
            "arch,top1\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,high\n",
            r"have no finite top1 value: row 1 \(line 2 of the file\): 'high'",
        ),
        (
            "arch,top1\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,\n",
            r"have no finite top1 value: row 1 \(line 2 of the file\): nan",
        ),
    ],
)
def test_a_bad_table_is_refused_naming_what_is_wrong(nb201, tmp_path, content, message) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    column = ":top1" if "top1" in content else ""  # 'high' makes the column not numeric
    with pytest.raises(DataError, match=message):
        accuracy_source(f"table:{path}{column}", nb201)


def test_a_missing_file_or_column_is_refused(nb201, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="accuracy table .*nowhere.csv does not exist"):
        accuracy_source(f"table:{tmp_path / 'nowhere.csv'}", nb201)
    path, _ = small_table(tmp_path)
    with pytest.raises(DataError, match="has no column 'top5'; it has arch, top1"):
        accuracy_source(f"table:{path}:top5", nb201)
    with pytest.raises(ParameterError, match=r"^accuracy 'table:' must name a file"):
        accuracy_source("table:", nb201)
    (tmp_path / "bad.csv.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    with pytest.raises(DataError, match="cannot read the accuracy table"):
        accuracy_source(f"table:{tmp_path / 'bad.csv.gz'}", nb201)


def test_architectures_the_table_lacks_say_how_many_and_where(nb201, tmp_path: Path) -> None:
    path, frame = small_table(tmp_path, rows=100)
    source = accuracy_source(f"table:{path}:top1", nb201)
    known = [nb201.canonical(a) for a in frame.arch[:3]]
    absent = [a for a in nb201.sample_distinct(0, 60) if a not in source.values][:7]
    with pytest.raises(AccuracyError) as caught:
        source.evaluate([*known, *absent])
    message = str(caught.value)
    assert f"the accuracy table {path} has no top1 value for 7 of the 10 nb201" in message
    assert repr(absent[0]) in message and "and 2 more" in message


def test_a_search_stops_cleanly_at_the_first_missing_architecture(
    latency,  # noqa: F811
    tmp_path: Path,
    capsys,
) -> None:
    path, _ = small_table(tmp_path, rows=30)
    with pytest.raises(AccuracyError, match=r"has no top1 value for \d+ of the"):
        hwnas.search(
            space="nb201",
            predictors=[latency],
            budgets={"latency_ms": BUDGET},
            accuracy=f"table:{path}",
            **SMALL,
        )
    predictor = str(latency.save(tmp_path / "pred"))
    argv = ["search", "--space", "nb201", "--predictor", predictor, "-o", str(tmp_path / "o")]
    assert main([*argv, "--accuracy", f"table:{path}", "--population", "12"]) == 2
    err = capsys.readouterr().err
    assert "has no top1 value for" in err and "Traceback" not in err


# --- once per class --------------------------------------------------------------------


def test_a_function_is_called_once_per_class_across_batches(nb201) -> None:
    table = nb201_table()
    canon = table.arch.map(nb201.canonical)
    a, b = table.arch[canon.duplicated(keep=False) & (canon != table.arch)].head(2)
    calls: list[list[str]] = []

    def counting(archs):
        calls.append(list(archs))
        return score(archs)

    source = CallableAccuracy(counting, space=nb201)
    first = source.evaluate([a, a, nb201.canonical(a)])
    again = source.evaluate([nb201.canonical(a), b, a])
    assert calls == [[a], [b]]  # the first spelling met; then only the new class
    assert first[0] == first[1] == first[2] == again[0] == again[2] == score([a])[0]


def test_a_search_asks_a_function_once_per_canonical_architecture(latency) -> None:  # noqa: F811
    calls: list[list[str]] = []

    def counting(archs):
        calls.append(list(archs))
        return score(archs)

    result = hwnas.search(
        space="nb201",
        predictors=[latency],
        budgets={"latency_ms": BUDGET},
        accuracy=counting,
        **SMALL,
    )
    space = hwnas.get_space("nb201")
    asked = Counter(space.canonical(a) for batch in calls for a in batch)
    assert len(calls) > 1 and result.pareto
    assert max(asked.values()) == 1 and len(asked) >= result.evaluated


# --- jobs: worker processes -------------------------------------------------------------


def search_with(latency, accuracy, jobs):  # noqa: F811
    return hwnas.search(
        space="nb201",
        predictors=[latency],
        budgets={"latency_ms": BUDGET},
        accuracy=accuracy,
        jobs=jobs,
        **SMALL,
    )


@pytest.mark.parametrize(
    "accuracy", ["tests.test_accuracy_sources:score_with_space", score], ids=["module", "callable"]
)
def test_jobs_give_the_same_result_as_one_process(latency, accuracy) -> None:  # noqa: F811
    serial = search_with(latency, accuracy, 1)
    parallel = search_with(latency, accuracy, 2)
    assert parallel.pareto == serial.pareto and parallel.history == serial.history
    assert parallel.pareto and parallel.hypervolume == serial.hypervolume
    assert multiprocessing.active_children() == []  # the workers stopped with the search


def test_a_source_keeps_order_over_chunks_and_stops_its_workers(nb201) -> None:
    archs = nb201.sample_distinct(1, 23)
    with accuracy_source("tests.test_accuracy_sources:score_with_space", nb201, jobs=2) as source:
        got = source.evaluate(archs)
        assert multiprocessing.active_children()
    np.testing.assert_array_equal(got, score(archs))
    assert multiprocessing.active_children() == []
    np.testing.assert_array_equal(source.evaluate(archs[::-1]), got[::-1])  # known: no pool


def test_a_function_workers_cannot_import_is_refused_before_any_work(nb201) -> None:
    def closure(archs):
        return score(archs)

    for func in (lambda archs: score(archs), closure):
        with pytest.raises(ParameterError, match=r"^accuracy .* cannot be sent to worker") as e:
            CallableAccuracy(func, space=nb201, jobs=2)
        assert "jobs=2 runs it in worker processes" in str(e.value)
        assert "define it at the top level of a module" in str(e.value)
        CallableAccuracy(func, space=nb201, jobs=1)  # in this process: fine
    with pytest.raises(ParameterError, match=r"^jobs must be a whole number >= 1.*got 0$"):
        accuracy_source("tabular:cifar10", nb201, jobs=0)


def test_an_error_in_a_worker_names_the_chunk_and_the_error(nb201) -> None:
    archs = [a for a in nb201.sample_distinct(2, 40) if "avg_pool_3x3" not in a][:8]
    pool_cell = "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"
    source = accuracy_source("tests.test_accuracy_sources:fails_on_pools", nb201, jobs=2)
    with source, pytest.raises(AccuracyError) as caught:
        source.evaluate([*archs, pool_cell])
    message = str(caught.value)
    assert (
        "the evaluator tests.test_accuracy_sources:fails_on_pools failed on chunk 4 of 4" in message
    )
    assert repr(pool_cell) in message
    assert message.endswith("in a worker process: ValueError: cannot train a pooling cell")
    short = accuracy_source("tests.test_accuracy_sources:one_short", nb201, jobs=2)
    with (
        short,
        pytest.raises(
            AccuracyError, match=r"returned 2 values for 3 architectures \(chunk 1 of 4\)"
        ),
    ):
        short.evaluate(nb201.sample_distinct(3, 10))


def test_the_cli_takes_jobs(latency, tmp_path: Path, capsys) -> None:  # noqa: F811
    predictor = str(latency.save(tmp_path / "pred"))
    argv = [
        "search",
        "--space",
        "nb201",
        "--predictor",
        predictor,
        "--budget",
        f"latency_ms={BUDGET}",
    ]
    argv += ["--accuracy", "tests.test_accuracy_sources:score_with_space", "--population", "12"]
    argv += ["--generations", "3"]
    assert main([*argv, "--jobs", "0", "-o", str(tmp_path / "zero")]) == 2
    assert "--jobs must be a whole number >= 1" in capsys.readouterr().err
    assert main([*argv, "--jobs", "2", "-o", str(tmp_path / "two")]) == 0
    assert main([*argv, "-o", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    two = (tmp_path / "two" / "pareto.csv").read_text()
    assert two == (tmp_path / "one" / "pareto.csv").read_text()


def test_split_keeps_order_and_balances() -> None:
    assert split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split([1, 2], 4) == [[1], [2]]
    assert split([], 4) == []
