"""Lookup tables: distinct blocks of the spaces, block export, `hwnas lut`, the predictor."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hwnas.cli import main
from hwnas.predictors.lut import (
    FLOOR_KEY,
    LookupTable,
    LookupTableError,
    fit_calibration,
    network_latencies,
    read_table,
    split_networks,
)
from hwnas.profiler.lut import FLOOR_BLOCK, BlockSet, block_space_name, export_block
from hwnas.records import Arch, Fingerprint, LatencyStats, Measurement
from hwnas.spaces import Block, SpaceError
from hwnas.spaces.chain import ChainSpace
from hwnas.spaces.multibranch import MultiBranchSpace
from hwnas.spaces.nb201 import NB201Space
from hwnas.store import Store
from tests.toy_space import WIDTHS, ToySpace

TINY = ["--max-seconds", "0.2", "--target-ci", "0.2", "--warmup", "1", "--min-runs", "5"]


class ToyLutSpace(ToySpace):
    """The toy space with lookup-table support: 3 + 9 + 3 = 15 distinct blocks."""

    def distinct_blocks(self) -> list[Block]:
        found: dict[str, Block] = {}
        for a, b in itertools.product(WIDTHS, repeat=2):
            for block in self.blocks(f"c{a}-c{b}"):
                found.setdefault(block.key, block)
        return list(found.values())

    def block_to_torch(self, block: Block) -> Any:
        import torch
        from torch import nn

        with torch.random.fork_rng():
            torch.manual_seed(0)
            if block.op == "head":
                c = block.input_shape[1]
                module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 2))
            else:
                module = nn.Sequential(
                    nn.Conv2d(block.input_shape[1], block.params["cout"], 3, padding=1), nn.ReLU()
                )
        return module.eval()


def run_cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- distinct blocks ---------------------------------------------------------------------


def test_nb201_distinct_blocks_are_exactly_the_blocks_of_all_15625_cells() -> None:
    space = NB201Space()
    distinct = space.distinct_blocks()
    # stem + 2 reductions + head + 3 stages x 4 ops (``none`` is never a block)
    assert len(distinct) == 1 + 2 + 1 + 3 * 4 == 16
    keys = [b.key for b in distinct]
    assert len(set(keys)) == len(keys)
    union = {
        b.key
        for g in itertools.product(range(5), repeat=6)
        for b in space.blocks(space.decode(list(g)))
    }
    assert union == set(keys)


def test_chain_distinct_blocks_contain_every_sampled_block_and_match_the_formula() -> None:
    space = ChainSpace()
    keys = [b.key for b in space.distinct_blocks()]
    assert len(set(keys)) == len(keys)
    # 3 widths x 5 resolutions x (stem, first, final, head + 5 stages x 2 slots x 9) = 1,410,
    # less the blocks that coincide: widths 0.75 and 1.0 share stage 1 (5 resolutions x 18)
    # and resolutions 176/192 and 208/224 share stage 5's 6x6 and 7x7 tail (3 x 2 x 11).
    assert len(keys) == 3 * 5 * (4 + 5 * 2 * 9) - 5 * 18 - 3 * 2 * 11 == 1254
    for arch in space.sample(0, 200):
        assert {b.key for b in space.blocks(arch)} <= set(keys), arch


def test_chain_distinct_blocks_are_exact_on_an_enumerable_configuration() -> None:
    space = ChainSpace(
        widths=(1.0, 1.25), resolutions=(160, 224), depths=(1, 2), expansions=(3,), kernels=(3, 5)
    )
    keys = {b.key for b in space.distinct_blocks()}
    assert len(keys) == 2 * 2 * (4 + 5 * 2 * 1 * 2)  # no coinciding blocks here
    per_stage = [",".join(t) for d in (1, 2) for t in itertools.product(("e3k3", "e3k5"), repeat=d)]
    union: set[str] = set()
    for w, r in itertools.product(("1.0", "1.25"), (160, 224)):
        for stages in itertools.product(per_stage, repeat=5):
            union |= {b.key for b in space.blocks("|".join([f"w{w}-r{r}", *stages]))}
    assert union == keys
    assert space.size() == 4 * 6**5


def test_multibranch_distinct_blocks_contain_every_sampled_block() -> None:
    space = MultiBranchSpace()
    keys = [b.key for b in space.distinct_blocks()]
    assert len(keys) == len(set(keys)) == 2 + 6 * 498
    for arch in space.sample(0, 200):
        assert {b.key for b in space.blocks(arch)} <= set(keys), arch


def _sampled(blocks: list[Block], n: int, seed: int) -> list[Block]:
    """One block of every op plus ``n`` more drawn at random."""
    by_op = {b.op: b for b in blocks}
    rng = np.random.default_rng(seed)
    return list(by_op.values()) + [blocks[i] for i in rng.choice(len(blocks), n, replace=False)]


@pytest.mark.parametrize(
    "space, n",
    [(NB201Space(), 0), (ChainSpace(resolutions=(160,)), 8), (MultiBranchSpace(resolution=64), 12)],
    ids=["nb201", "chain", "multibranch"],
)
def test_block_to_torch_maps_the_input_shape_to_the_output_shape(space: Any, n: int) -> None:
    import torch

    blocks = space.distinct_blocks()
    chosen = blocks if n == 0 else _sampled(blocks, n, seed=1)
    for block in chosen:
        module = space.block_to_torch(block)
        assert not module.training
        with torch.no_grad():
            y = module(torch.randn(*block.input_shape))
        assert tuple(y.shape) == block.output_shape, block.key
    # deterministic weights
    a, b = space.block_to_torch(chosen[-1]), space.block_to_torch(chosen[-1])
    assert all(
        torch.equal(p, q)
        for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_a_space_without_lookup_table_support_says_so() -> None:
    space = ToySpace()
    with pytest.raises(SpaceError, match="does not support lookup tables.*distinct_blocks"):
        space.distinct_blocks()
    with pytest.raises(SpaceError, match="does not support lookup tables.*block_to_torch"):
        space.block_to_torch(Block("x", (1,), (1,)))
    with pytest.raises(SpaceError, match="does not support lookup tables"):
        BlockSet(space)


# -- block export ------------------------------------------------------------------------


def test_export_block_caches_by_content_and_repairs_a_damaged_file(tmp_path: Path) -> None:
    import onnx

    space = NB201Space()
    block = space.distinct_blocks()[-1]
    first = export_block(space, block, cache=tmp_path)
    assert not first.cached and first.path.exists()
    graph = onnx.load(first.path).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert tuple(dims) == block.input_shape
    assert export_block(space, block, cache=tmp_path).cached
    first.path.write_bytes(b"garbage")
    again = export_block(space, block, cache=tmp_path)
    assert not again.cached and again.path == first.path
    other = export_block(space, block, cache=tmp_path, exporter="dynamo")
    assert other.key != first.key
    assert FLOOR_BLOCK.key == FLOOR_KEY  # predictors keep their own copy of the key
    assert not export_block(space, FLOOR_BLOCK, cache=tmp_path).cached


# -- calibration and the predictor on synthetic data ---------------------------------------


def test_calibration_recovers_scale_and_offset_exactly() -> None:
    x = np.array([1.0, 2.5, 4.0, 7.0, 9.5])
    fit = fit_calibration(x, 1.3 * x + 0.2)
    assert fit.mode == "affine"
    assert fit.scale == pytest.approx(1.3, abs=1e-12)
    assert fit.offset == pytest.approx(0.2, abs=1e-12)
    offset = fit_calibration(x, x - 0.05, mode="offset")
    assert (offset.scale, offset.offset) == (1.0, pytest.approx(-0.05, abs=1e-12))
    few = fit_calibration(x[:2], x[:2] + 0.5)
    assert few.mode == "offset" and few.offset == pytest.approx(0.5) and "offset only" in few.note
    flat = fit_calibration([2.0] * 4, [3.0, 3.2, 2.8, 3.0])
    assert flat.mode == "offset" and flat.offset == pytest.approx(1.0)
    none = fit_calibration([], [])
    assert (none.mode, none.scale, none.offset) == ("none", 1.0, 0.0)
    with pytest.raises(ValueError, match="mode"):
        fit_calibration(x, x, mode="cubic")


def _fingerprint(threads: int = 1) -> Fingerprint:
    return Fingerprint(
        cpu_model="Test CPU",
        cores=2,
        os="Linux",
        python="3.11",
        onnxruntime="1.32.0",
        execution_provider="CPUExecutionProvider",
        threads=threads,
    )


def _measurement(arch: Arch, median: float, fp: Fingerprint, device: str = "dev") -> Measurement:
    lat = LatencyStats(
        n=50,
        median=median,
        mean=median * 1.02,
        std=median * 0.05,
        p10=median * 0.97,
        p90=median * 1.05,
        p99=median * 1.2,
        ci_low=median * 0.99,
        ci_high=median * 1.01,
    )
    return Measurement(
        model_hash=f"h{arch.hash}",
        device=device,
        fingerprint=fp,
        latency_ms=lat,
        timestamp="2026-11-25T10:00:00+00:00",
        arch=arch,
    )


def _block_ms(block: Block) -> float:
    """A synthetic latency per block: 0.01 ms per output channel, 0.002 for the floor."""
    return 0.002 if block.key == FLOOR_KEY else 0.01 * (block.output_shape[1])


def _store_blocks(store: Store, space: Any, fp: Fingerprint, *, skip: int = 0) -> None:
    blocks = [FLOOR_BLOCK, *space.distinct_blocks()]
    store.add_many(
        _measurement(Arch(block_space_name(space.name), b.key), _block_ms(b), fp)
        for b in blocks[skip:]
    )


def test_lookup_table_sums_blocks_and_calibrates_exactly(tmp_path: Path) -> None:
    space, fp = ToyLutSpace(), _fingerprint()
    with Store(tmp_path / "s.db") as store:
        _store_blocks(store, space, fp)
        lut = LookupTable.from_store(store, space, "dev")
        assert lut.fingerprint == fp.hash and len(lut.blocks) == 15 + 1
        stats = lut.blocks[space.blocks("c4-c8")[0].key]
        assert (stats.n, stats.p50_ms) == (50, pytest.approx(0.04))
        assert stats.p10_ms < stats.p50_ms < stats.p90_ms and stats.std_ms > 0 and stats.mean_ms
        arch = "c4-c8"
        medians = [_block_ms(b) for b in space.blocks(arch)]
        assert lut.plain_sum(arch) == pytest.approx(sum(medians))
        assert lut.block_sum(arch) == pytest.approx(sum(m - 0.002 for m in medians))
        archs = [space.decode(list(g)) for g in itertools.product(range(3), repeat=2)]
        truth = {a: 1.7 * lut.block_sum(a) + 0.3 for a in archs}
        lut.calibrate(dict(list(truth.items())[:4]))
        assert lut.calibration_.scale == pytest.approx(1.7)
        assert lut.calibration_.offset == pytest.approx(0.3)
        report = lut.additivity_report(truth)
        assert report["n"] == 5  # the 4 calibration networks are left out
        assert report["mape"] == pytest.approx(0, abs=1e-9)
        assert report["within_10"] == 1.0 and report["spearman"] == pytest.approx(1.0)


def test_the_p10_statistic_adds_up_the_10th_percentiles(tmp_path: Path) -> None:
    space, fp = ToyLutSpace(), _fingerprint()
    with Store(tmp_path / "s.db") as store:
        _store_blocks(store, space, fp)
        lut = LookupTable.from_store(store, space, "dev", statistic="p10")
        medians = [_block_ms(b) for b in space.blocks("c8-c16")]
        assert lut.floor_ms == pytest.approx(0.002 * 0.97)
        assert lut.plain_sum("c8-c16") == pytest.approx(0.97 * sum(medians))
        store.add(_measurement(Arch("toy", "c8-c16"), 1.0, fp))
        assert network_latencies(store, space, "dev", fp.hash, statistic="p10") == {
            "c8-c16": pytest.approx(0.97)
        }
        assert read_table(lut.write(tmp_path / "t.json"), space=space).statistic == "p10"
    with pytest.raises(ValueError, match="statistic must be one of p50, p10"):
        LookupTable(space=space, device="dev", fingerprint="x", blocks={}, statistic="p99")


def test_missing_blocks_and_mixed_fingerprints_are_clear_errors(tmp_path: Path) -> None:
    space, fp, other = ToyLutSpace(), _fingerprint(), _fingerprint(threads=2)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(LookupTableError, match="no block of space 'toy'.*hwnas lut build"):
            LookupTable.from_store(store, space, "dev")
        _store_blocks(store, space, fp, skip=3)
        build = "`hwnas lut build --space toy --device dev`"
        with pytest.raises(LookupTableError, match=rf"3 of the 16 blocks .*{build}"):
            LookupTable.from_store(store, space, "dev")
        _store_blocks(store, space, fp)
        _store_blocks(store, space, other)
        with pytest.raises(LookupTableError, match="mix 2 fingerprints") as info:
            LookupTable.from_store(store, space, "dev")
        assert fp.hash in info.value.message and other.hash in info.value.message
        assert "--fingerprint" in info.value.message
        assert LookupTable.from_store(store, space, "dev", fingerprint=other.hash[:6])


# -- `hwnas lut` on the local CPU ------------------------------------------------------------


@pytest.fixture(scope="module")
def nb201_lut(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`hwnas lut build --space nb201` with tiny settings, run twice (the second resumes)."""
    home = tmp_path_factory.mktemp("lut_home")
    store = home / "lut.db"
    args = [
        "lut",
        "build",
        "--space",
        "nb201",
        "--calibrate",
        "3",
        "--holdout",
        "3",
        "--store",
        store,
        "--json",
        *TINY,
    ]
    results = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWNAS_HOME", str(home))
        for _ in range(2):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                code = main([str(a) for a in args])
            results.append((code, json.loads(buffer.getvalue())))
    return {"store": store, "home": home, "first": results[0], "second": results[1]}


def test_lut_build_measures_every_block_once_then_resumes(nb201_lut: dict[str, Any]) -> None:
    code, doc = nb201_lut["first"]
    assert code == 0, doc["errors"]
    assert doc["blocks"]["total"] == 17 and doc["blocks"]["measured"] == 17
    assert doc["networks"]["measured"] == 6
    assert doc["calibration"]["mode"] == "affine" and doc["calibration"]["n"] == 3
    assert doc["additivity"]["n"] == 3 and doc["additivity"]["mape"] is not None
    assert doc["floor_ms"] > 0
    code, again = nb201_lut["second"]
    assert code == 0
    assert again["blocks"]["measured"] == 0 and again["blocks"]["skipped"] == 17
    assert again["networks"]["measured"] == 0 and again["networks"]["skipped"] == 6
    assert again["calibration"] == doc["calibration"]
    with Store(nb201_lut["store"]) as store:
        lut = LookupTable.from_store(store, NB201Space(), "local")
        assert lut.fingerprint == doc["fingerprint"]
        assert not [j for j in store.jobs() if j.status != "done"]
        for stats in lut.blocks.values():
            assert stats.n >= 5
            assert 0 < stats.p10_ms <= stats.p50_ms <= stats.p90_ms
            assert stats.mean_ms > 0 and stats.std_ms >= 0
        networks = network_latencies(store, NB201Space(), "local", lut.fingerprint)
        calibration, held_out = split_networks(NB201Space(), networks, calibrate=3, seed=0)
        assert len(calibration) == len(held_out) == 3
        assert list(calibration) == doc["calibration"]["archs"]


def test_lut_export_csv_and_json_round_trip(nb201_lut: dict[str, Any], capsys, tmp_path) -> None:
    store = nb201_lut["store"]
    common = ["--space", "nb201", "--calibrate", "3", "--store", store]
    code, out, err = run_cli(capsys, "lut", "export", *common, "-o", tmp_path / "t.csv")
    assert code == 0, err
    code, out, err = run_cli(capsys, "lut", "export", *common, "-o", tmp_path / "t.json", "--json")
    assert code == 0, err
    assert json.loads(out)["blocks"] == 17
    with Store(store) as s:
        lut = LookupTable.from_store(s, NB201Space(), "local")
    from_csv, from_json = read_table(tmp_path / "t.csv"), read_table(tmp_path / "t.json")
    for table in (from_csv, from_json):
        assert table.blocks == lut.blocks and table.fingerprint == lut.fingerprint
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["additivity"]["n"] == 3 and doc["calibration"]["mode"] == "affine"
    arch = doc["calibration"]["archs"][0]
    code, out, err = run_cli(
        capsys,
        "lut",
        "predict",
        "--space",
        "nb201",
        "--arch",
        arch,
        "--table",
        tmp_path / "t.json",
        "--json",
    )
    assert code == 0, err
    (row,) = json.loads(out)["predictions"]
    assert row["predicted_ms"] == pytest.approx(from_json.predict(arch))
    code, out, err = run_cli(capsys, "lut", "show", *common, "--json")
    assert code == 0, err
    assert len(json.loads(out)["blocks"]) == 17


def test_queued_block_jobs_are_plain_file_jobs_profile_resume_can_finish(tmp_path, capsys):
    from hwnas.devices.registry import connect, get_device
    from hwnas.profiler.settings import ProfileSettings

    space = ToyLutSpace()
    blocks = BlockSet(space, cache=tmp_path / "cache")
    settings = ProfileSettings(max_seconds=0.2, target_ci=0.2, warmup=1, min_runs=5)
    from hwnas.profiler.lut import plan_blocks

    with Store(tmp_path / "s.db") as store:
        plan = plan_blocks(store, get_device("local"), settings, blocks, batch="b", connect=connect)
        assert len(plan.jobs) == plan.total == 16 and plan.exported == 16
        assert all(j.model_path and Path(j.model_path).exists() for j in plan.jobs)
    code, out, err = run_cli(capsys, "profile", "--resume", "--store", tmp_path / "s.db", "--json")
    assert code == 0, err
    assert len(json.loads(out)["measurements"]) == 16
    with Store(tmp_path / "s.db") as store:
        assert len(LookupTable.from_store(store, space, "local").blocks) == 16


@pytest.mark.parametrize(
    "args, message",
    [
        (["build", "--space", "nosuch"], "unknown space 'nosuch'"),
        (["build", "--space", "tests.test_lut:ToySpace"], "does not support lookup tables"),
        (["build", "--space", "nb201", "--calibrate", "-1"], "--calibrate must be >= 0"),
        (["build", "--space", "nb201", "--holdout", "-2"], "--holdout must be >= 0"),
        (["build", "--space", "nb201", "--fit", "cubic"], "--fit must be one of"),
        (["build", "--space", "nb201", "--exporter", "onnx"], "unknown exporter"),
        (["build", "--space", "nb201", "--target-ci", "2"], "--target-ci"),
        (["build", "--space", "nb201", "--device", "nowhere"], "unknown device 'nowhere'"),
        (["build", "--space", "nb201", "--calibrate", "20000"], "has only 15,625; ask for"),
        (["export", "--space", "nb201", "-o", "x.csv"], "no block of space 'nb201'"),
        (["export", "--space", "nb201", "-o", "x.txt"], "cannot tell the table format"),
        (["export", "--space", "nb201", "-o", "x.csv", "--format", "xml"], "--format"),
        (["show", "--space", "nosuch"], "unknown space"),
        (["show", "--space", "nb201", "--statistic", "p99"], "--statistic must be one of"),
        (["predict", "--space", "nb201", "--arch", "x"], "no block of space"),
    ],
)
def test_bad_input_exits_2_without_traceback(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "lut", *args, "--store", tmp_path / "s.db")
    assert code == 2, err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err + out


def test_mixed_fingerprints_on_the_command_line(capsys, tmp_path) -> None:
    space = ToyLutSpace()
    with Store(tmp_path / "s.db") as store:
        _store_blocks(store, space, _fingerprint())
        _store_blocks(store, space, _fingerprint(threads=2))
    base = [
        "lut",
        "show",
        "--space",
        "tests.test_lut:ToyLutSpace",
        "--device",
        "dev",
        "--store",
        tmp_path / "s.db",
    ]
    code, out, err = run_cli(capsys, *base)
    assert code == 2 and "--fingerprint" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, *base, "--fingerprint", _fingerprint().hash, "--json")
    assert code == 0, err
    assert json.loads(out)["fingerprint"] == _fingerprint().hash


def test_ctrl_c_keeps_the_blocks_measured_and_the_same_command_finishes(tmp_path) -> None:
    from tests.helpers import interrupt_after, run_hwnas

    store = tmp_path / "s.db"
    args = [
        "lut",
        "build",
        "--space",
        "tests.test_lut:ToyLutSpace",
        "--calibrate",
        "0",
        "--max-seconds",
        "0.4",
        "--target-ci",
        "0.0001",
        "--warmup",
        "1",
        "--json",
    ]
    code, out, err = interrupt_after(args, store, 2)
    assert code == 130, err
    doc = json.loads(out)
    assert doc["interrupted"] is True and "run the same `hwnas lut build`" in " ".join(err.split())
    with Store(store) as s:
        done = s.count(space="toy:blocks")
    assert 2 <= done < 16
    code, out, err = run_hwnas(args, store)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["blocks"]["skipped"] == done and doc["blocks"]["measured"] == 16 - done
    with Store(store) as s:
        assert s.count(space="toy:blocks") == 16
        assert all(j.status == "done" for j in s.jobs())


def test_missing_blocks_on_the_command_line_name_them_literally(capsys, tmp_path) -> None:
    with Store(tmp_path / "s.db") as store:
        _store_blocks(store, ToyLutSpace(), _fingerprint(), skip=2)
    code, out, err = run_cli(
        capsys,
        "lut",
        "export",
        "--space",
        "tests.test_lut:ToyLutSpace",
        "--device",
        "dev",
        "--store",
        tmp_path / "s.db",
        "-o",
        tmp_path / "t.csv",
        "--json",
    )
    text = " ".join(err.split())
    assert code == 2 and "Traceback" not in err
    assert "2 of the 16 blocks" in text and "runner_floor[]:1->1, conv3x3[cout=4]:1x3x8x8" in text
    assert json.loads(out)["errors"][0]["error"] == "lookup_table"
    assert not (tmp_path / "t.csv").exists()


def test_lut_show_uses_the_calibration_the_build_used(
    nb201_lut: dict[str, Any], capsys, tmp_path
) -> None:
    import shutil

    store = tmp_path / "lut.db"
    shutil.copy(nb201_lut["store"], store)
    build = ["lut", "build", "--space", "nb201", "--store", store, "--json", *TINY]
    code, out, err = run_cli(
        capsys, *build, "--calibrate", "3", "--holdout", "3", "--fit", "offset"
    )
    assert code == 0, err
    built = json.loads(out)["calibration"]
    assert built["mode"] == "offset" and built["n"] == 3
    show = ["lut", "show", "--space", "nb201", "--store", store, "--json"]
    code, out, err = run_cli(capsys, *show)
    assert code == 0, err
    shown = json.loads(out)["calibration"]
    assert shown["mode"] == "offset" and shown["archs"] == built["archs"]
    assert shown["offset"] == pytest.approx(built["offset"]) and shown["scale"] == 1.0
    code, out, err = run_cli(capsys, *show, "--fit", "none")  # an option given still wins
    assert code == 0, err
    assert json.loads(out)["calibration"]["mode"] == "none"


# -- ratio tables: blocks timed beside a reference model ----------------------------------

#: The reference model's median in each process, drifting ±30% as on a shared machine.
DRIFT = (1.0, 1.3, 0.7, 1.1, 0.9)


def _with_reference(m: Measurement, ratio: float, reference_ms: float) -> Measurement:
    """``m`` as `--reference` records it: the reference's median and the per-pair ratios."""
    summary = {"n": 40, "median": ratio, "mean": ratio * 1.01, "std": ratio * 0.02}
    summary.update(p10=ratio * 0.98, p90=ratio * 1.03)
    report = {
        "model": "ref.onnx",
        "model_hash": "refhash",
        "latency_ms": {"median": reference_ms},
        "ratio": summary,
    }
    return dataclasses.replace(m, settings={**m.settings, "reference": report})


def _store_ratio_blocks(store: Store, space: Any, fp: Fingerprint) -> dict[str, float]:
    """Every block timed beside a reference whose speed drifts from process to process:
    the block's latency drifts with it, its ratio (block ms / 1 ms) does not. Returns the
    ratios by block key."""
    blocks = [FLOOR_BLOCK, *space.distinct_blocks()]
    ratios = {b.key: _block_ms(b) for b in blocks}
    for i, b in enumerate(blocks):
        drift = DRIFT[i % len(DRIFT)]
        m = _measurement(Arch(block_space_name(space.name), b.key), ratios[b.key] * drift, fp)
        store.add(_with_reference(m, ratios[b.key], drift))
    return ratios


def test_the_ratio_statistic_adds_up_ratios_at_the_reference_s_typical_speed(
    tmp_path: Path,
) -> None:
    from hwnas.predictors.data import from_store

    space, fp = ToyLutSpace(), _fingerprint()
    with Store(tmp_path / "s.db") as store:
        ratios = _store_ratio_blocks(store, space, fp)
        lut = LookupTable.from_store(store, space, "dev", statistic="ratio")
        n = len(ratios)
        typical = float(np.median([DRIFT[i % len(DRIFT)] for i in range(n)]))
        assert lut.statistic == "ratio" and lut.reference_ms == pytest.approx(typical)
        assert lut.floor_ms == pytest.approx(ratios[FLOOR_KEY] * typical)
        arch = "c8-c16"
        keys = [b.key for b in space.blocks(arch)]
        assert lut.plain_sum(arch) == pytest.approx(typical * sum(ratios[k] for k in keys))
        assert lut.block_sum(arch) == pytest.approx(
            typical * sum(ratios[k] - ratios[FLOOR_KEY] for k in keys)
        )
        assert lut.blocks[keys[0]].p10_ms == pytest.approx(0.98 * typical * ratios[keys[0]])
        # The drifting latencies add up to something else: the p50 table is not the ratio one.
        p50 = LookupTable.from_store(store, space, "dev")
        assert p50.plain_sum(arch) != pytest.approx(lut.plain_sum(arch), rel=1e-3)
        # Networks: their ratio labels, exactly those `predictor train --statistic ratio` learns.
        archs = [space.decode(list(g)) for g in itertools.product(range(3), repeat=2)]
        for i, a in enumerate(archs):
            m = _measurement(Arch("toy", a), 9.0 * DRIFT[i % len(DRIFT)], fp)
            store.add(_with_reference(m, 2.0 * lut.block_sum(a) + 0.1, DRIFT[i % len(DRIFT)]))
        networks = network_latencies(store, space, "dev", fp.hash, statistic="ratio")
        labels = from_store(
            store, space=space, metric="latency_ms", device="dev", statistic="ratio"
        )
        assert networks == pytest.approx(dict(zip(labels.archs, labels.values, strict=True)))
        typical_networks = float(np.median([DRIFT[i % len(DRIFT)] for i in range(len(archs))]))
        lut.calibrate(networks)
        assert lut.calibration_.scale == pytest.approx(2.0 * typical_networks)
        assert lut.calibration_.offset == pytest.approx(0.1 * typical_networks)
        again = read_table(lut.write(tmp_path / "t.json"), space=space)
        assert (again.statistic, again.reference_ms) == ("ratio", pytest.approx(typical))
        assert again.predict(arch) == pytest.approx(lut.predict(arch))


def test_a_ratio_table_without_reference_measurements_names_the_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    space, fp = ToyLutSpace(), _fingerprint()
    with Store(tmp_path / "s.db") as store:
        _store_blocks(store, space, fp)
        with pytest.raises(LookupTableError, match="timed with a reference model") as info:
            LookupTable.from_store(store, space, "dev", statistic="ratio")
        assert "--reference" in info.value.message and "--statistic p50" in info.value.message
        block = FLOOR_BLOCK  # only the floor timed beside the reference: the rest are missing
        m = _measurement(Arch(block_space_name(space.name), block.key), 0.002, fp)
        store.add(_with_reference(m, 0.002, 1.0))
        with pytest.raises(LookupTableError, match="15 of the 16 blocks") as info:
            LookupTable.from_store(store, space, "dev", statistic="ratio")
        assert "timed with a reference model" in info.value.message
        assert "--reference" in info.value.message
        assert LookupTable.from_store(store, space, "dev").statistic == "p50"
    show = ["lut", "show", "--space", "tests.test_lut:ToyLutSpace", "--device", "dev"]
    code, out, err = run_cli(capsys, *show, "--statistic", "ratio", "--store", tmp_path / "s.db")
    assert code == 2 and "--reference" in err and "Traceback" not in err


def test_lut_build_passes_reference_to_the_measurements(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hwnas.predictors.build as build_module
    import hwnas.predictors.lut_build as lut_build
    from hwnas.profiler.lut import LutMeasurement
    from hwnas.profiler.stage import StageOutcome

    seen: dict[str, Any] = {}
    real = build_module.run_lut_build

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen["kwargs"] = kwargs
        return real(*args, **kwargs)

    def measured(store: Any, spec: Any, settings: Any, *args: Any, **kwargs: Any) -> Any:
        seen["settings"] = settings  # what every block and network job is measured with
        stages = StageOutcome("blocks", spec.name), StageOutcome("networks", spec.name)
        return LutMeasurement("sqlite:///x", None, *stages, interrupted=True)

    monkeypatch.setattr(build_module, "run_lut_build", spy)
    monkeypatch.setattr(lut_build, "measure_lut", measured)
    base = ["lut", "build", "--space", "tests.test_lut:ToyLutSpace", "--calibrate", "0"]
    base += ["--store", tmp_path / "s.db"]
    code, out, err = run_cli(capsys, *base, "--reference", "builtin", "--statistic", "ratio")
    assert code == 130, err
    assert seen["kwargs"]["reference"] == "builtin" and seen["kwargs"]["statistic"] == "ratio"
    from hwnas.examples import example_onnx

    assert seen["settings"].reference == str(example_onnx())
    assert seen["settings"].to_dict()["reference"] == str(example_onnx())
    code, out, err = run_cli(capsys, *base, "--statistic", "ratio")
    assert code == 2 and "--statistic ratio needs every block timed beside a reference" in " ".join(
        err.split()
    )
    missing = tmp_path / "nosuch.onnx"
    code, out, err = run_cli(capsys, *base, "--reference", missing)
    code_profile, _, err_profile = run_cli(
        capsys,
        "profile",
        "--space",
        "nb201",
        "--sample",
        "1",
        "--reference",
        missing,
        "--store",
        tmp_path / "p.db",
    )
    assert code == code_profile == 2 and "does not exist" in err
    assert " ".join(err.split()) == " ".join(err_profile.split())


def test_a_negative_offset_never_predicts_a_negative_latency() -> None:
    """Calibrated on networks whose blocks sum above their measurement, the offset is
    negative: a small network is predicted at the floor, not below zero."""
    from hwnas.predictors.lut import MIN_PREDICTED_MS, Calibration

    calibration = Calibration("offset", 1.0, -0.5, ("a", "b"))
    got = calibration.apply(np.array([0.2, 0.5, 2.0]))
    assert got == pytest.approx([MIN_PREDICTED_MS, MIN_PREDICTED_MS, 1.5])
    assert float(calibration.apply(0.1)) == MIN_PREDICTED_MS
