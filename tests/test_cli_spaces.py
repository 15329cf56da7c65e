"""`hwnas spaces ...` and `hwnas profile --space`: sampled architectures, skip, resume."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.store import Store
from tests.helpers import interrupt_after, run_hwnas

TOY = "tests.toy_space:ToySpace"
FAST = ["--max-seconds", "0.5", "--target-ci", "0.05", "--warmup", "2"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_spaces_list_names_the_three_built_in_spaces(capsys) -> None:
    code, out, err = run_cli(capsys, "spaces", "list", "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)["spaces"]}
    assert {"chain", "multibranch", "nb201"} <= set(rows)
    assert rows["nb201"]["size"] == 15625 and rows["nb201"]["genes"] == 6
    assert all(r["error"] is None for r in rows.values())
    code, out, _ = run_cli(capsys, "spaces", "list")
    assert code == 0 and "15,625" in out and "multibranch" in out


def test_spaces_show_gives_size_encoding_and_an_example(capsys) -> None:
    code, out, err = run_cli(capsys, "spaces", "show", "nb201", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["size"] == 15625 and info["bounds"] == [[0, 4]] * 6
    assert info["example"].startswith("|") and len(info["example_encoding"]) == 6
    assert info["example_flops"] > 0 and info["example_params"] > 0
    code, out, _ = run_cli(capsys, "spaces", "show", TOY)
    assert code == 0 and "2 integer genes" in out and "architectures" in out


def test_unknown_space_lists_the_known_ones(capsys) -> None:
    for args in (["spaces", "show", "nb202"], ["profile", "--space", "nb202", "--sample", "2"]):
        code, _, err = run_cli(capsys, *args)
        assert code == 2
        assert "unknown space 'nb202'; known spaces: chain, multibranch, nb201" in err
        assert "Traceback" not in err


def test_spaces_check_passes_a_good_space_and_names_the_broken_check(capsys) -> None:
    code, _, err = run_cli(capsys, "spaces", "check", TOY, "--no-export")
    assert code == 0, err
    assert "all 13 contract checks passed" in err
    code, out, err = run_cli(
        capsys, "spaces", "check", "tests.test_space_contract:Unseeded", "--json"
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    failed = [c for c in doc["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == ["check_sample_is_seeded"]
    assert "different architectures" in failed[0]["message"]


def test_profile_a_space_sample_then_skip_and_extend(capsys, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys,
        "profile",
        "--space",
        TOY,
        "--sample",
        "3",
        "--seed",
        "4",
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    doc = json.loads(out)
    first = [m["arch"]["string"] for m in doc["measurements"]]
    assert len(set(first)) == 3 and doc["skipped"] == [] and doc["errors"] == []
    assert all(m["arch"]["space"] == "toy" for m in doc["measurements"])
    # Same command again: everything is already measured under this fingerprint.
    code, out, err = run_cli(
        capsys,
        "profile",
        "--space",
        TOY,
        "--sample",
        "3",
        "--seed",
        "4",
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["measurements"] == [] and sorted(doc["skipped"]) == sorted(first)
    # A larger sample with the same seed extends the first one.
    code, out, err = run_cli(
        capsys,
        "profile",
        "--space",
        TOY,
        "--sample",
        "5",
        "--seed",
        "4",
        *FAST,
        "--store",
        store,
    )
    assert code == 0, err
    assert "skipped 3 architecture(s)" in err
    with Store(str(store)) as s:
        archs = [x.measurement.arch for x in s.measurements(space="toy")]
    assert len(archs) == 5 and len({a.string for a in archs if a}) == 5
    # Another fingerprint (2 threads) measures them all again, kept apart.
    code, out, err = run_cli(
        capsys,
        "profile",
        "--space",
        TOY,
        "--sample",
        "2",
        "--seed",
        "4",
        "--threads",
        "2",
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    assert len(json.loads(out)["measurements"]) == 2


def test_repeats_measure_each_architecture_again_pass_by_pass(capsys, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    args = [
        "profile",
        "--space",
        TOY,
        "--sample",
        "2",
        "--seed",
        "1",
        *FAST,
        "--json",
        "--store",
        store,
    ]
    code, out, err = run_cli(capsys, *args, "--repeats", "2")
    assert code == 0, err
    order = [m["arch"]["string"] for m in json.loads(out)["measurements"]]
    assert len(order) == 4 and order[:2] == order[2:] and len(set(order)) == 2  # two passes
    code, out, err = run_cli(capsys, *args, "--repeats", "2")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["measurements"] == [] and sorted(doc["skipped"]) == sorted(set(order))
    code, out, err = run_cli(capsys, *args, "--repeats", "3")
    assert code == 0, err
    assert sorted(m["arch"]["string"] for m in json.loads(out)["measurements"]) == sorted(
        set(order)
    )
    with Store(str(store)) as s:
        counts = Counter(
            x.measurement.arch.string for x in s.measurements(space="toy") if x.measurement.arch
        )
    assert sorted(counts.values()) == [3, 3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sample", "3"], "--sample needs --space SPACE"),
        (["--space", TOY], "--space needs --sample N with N >= 1"),
        (["--space", TOY, "--sample", "0"], "--space needs --sample N with N >= 1"),
        (["--space", TOY, "--sample", "10"], "space 'toy' has only 9 architectures"),
        (["some.onnx", "--space", TOY, "--sample", "1"], "either ONNX files or --space"),
        ([], "nothing to profile"),
        (["--space", TOY, "--sample", "2", "--repeats", "0"], "--repeats must be >= 1"),
        (["--resume", "--repeats", "2"], "give no models, --space, --sample or --repeats"),
    ],
)
def test_bad_space_profiling_options(capsys, tmp_path: Path, args: list[str], message: str):
    store = tmp_path / "s.db"
    code, _, err = run_cli(capsys, "profile", *args, "--store", store)
    assert code == 2 and message in err, err
    assert not store.exists()


def test_ctrl_c_during_a_space_sample_keeps_what_was_measured(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    code, out, err = interrupt_after(
        [
            "profile",
            "--space",
            TOY,
            "--sample",
            "5",
            "--max-seconds",
            "0.5",
            "--target-ci",
            "0.0001",
            "--json",
        ],
        store,
        1,
    )
    assert code == 130, err
    assert json.loads(out)["interrupted"] is True
    with Store(str(store)) as s:
        measured = {x.measurement.arch.string for x in s.measurements() if x.measurement.arch}
    assert 1 <= len(measured) < 5
    # The same command again measures only the rest (with other settings it would measure
    # everything anew: a measurement is reused only when it measured the same thing).
    code, out, err = run_hwnas(
        [
            "profile",
            "--space",
            TOY,
            "--sample",
            "5",
            "--max-seconds",
            "0.5",
            "--target-ci",
            "0.0001",
            "--json",
        ],
        store,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["skipped"]) == measured
    assert len(doc["measurements"]) == 5 - len(measured)


def test_spaces_show_describes_a_given_arch_and_rejects_a_bad_one(capsys) -> None:
    cell = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    code, out, err = run_cli(capsys, "spaces", "show", "nb201", "--arch", cell, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["example"] == cell and info["example_encoding"] == [3, 0, 0, 1, 0, 0]
    code, out, err = run_cli(
        capsys, "spaces", "show", "nb201", "--arch", cell.replace("3x3", "3x4")
    )
    assert code == 2 and out == ""
    assert "edge 1 of 6" in err and "nor_conv_3x3" in err and "Traceback" not in err


def test_measurements_can_be_filtered_by_space_and_fingerprint_prefix(capsys, tmp_path):
    store = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys, "profile", "--space", TOY, "--sample", "2", *FAST, "--json", "--store", store
    )
    assert code == 0, err
    measured = json.loads(out)["measurements"]
    prefix = measured[0]["fingerprint"]["hash"][:8]
    for args, expect in (
        (["--space", "toy"], 2),
        (["--space", "nb201"], 0),
        (["--fingerprint", prefix], 2),
        (["--fingerprint", "ffffffff"], 0),
    ):
        code, out, _ = run_cli(capsys, "measurements", "list", *args, "--json", "--store", store)
        assert code == 0 and json.loads(out)["total"] == expect, args
    code, out, _ = run_cli(capsys, "measurements", "list", "--store", store)
    assert code == 0 and "model / arch" in out
    assert all(m["arch"]["string"] in out for m in measured)


def test_the_legacy_exporter_can_be_chosen_and_a_bad_one_is_refused(capsys, tmp_path):
    store = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys,
        "profile",
        "--space",
        TOY,
        "--sample",
        "1",
        "--exporter",
        "torchscript",
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    assert len(json.loads(out)["measurements"]) == 1
    with Store(str(store)) as s:
        (job,) = s.jobs()
    assert job.settings["exporter"] == "torchscript" and job.status == "done"
    code, _, err = run_cli(
        capsys, "profile", "--space", TOY, "--sample", "1", "--exporter", "jit", "--store", store
    )
    assert code == 2 and "unknown exporter 'jit'" in err
