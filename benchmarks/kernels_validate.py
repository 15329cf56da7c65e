"""Validates whole-network corrections of the kernel predictor on random networks it was
not fitted on (``hwnas.predictors.kernel_context.random_network``), never on the zoo.

Takes a kernel predictor and the store ``hwnas kernels build --context N`` measured it
in (at least ``--fit + --val`` random networks: build with ``--context`` that large).
Networks of seeds ``0 .. fit-1`` are fitted on, ``fit .. fit+val-1`` scored. Each
network is also profiled here per node (onnxruntime profiler, 1 thread, the optimized
graph), which gives the in-network labels of ``hwnas.predictors.kernel_incontext``.
Methods scored on the validation networks (error of each against the build's measured
median):

* ``raw``: per-model overhead + sum of isolated kernel predictions;
* ``context``: the current network-level NNLS correction (``kernel_context``), refit on
  the fit networks only;
* ``kind_ratio``: each kernel times its kind's in-network / isolated ratio;
* ``incontext``: each kernel times a LightGBM multiplier learnt from in-network labels;
* ``incontext+context``: the NNLS correction fitted on top of ``incontext``.

``--curve 25,50`` also fits the methods on the first 25, 50 ... fit networks alone and
scores each on the same validation networks: how many random networks a build needs.

``--retest`` measures the validation networks once more (the build's protocol, a
fresh runner process each) to give the labels' own test-retest.

Run (pinned to one quiet core):
  flock /tmp/hwnas-bench.lock taskset -c 0 .venv/bin/python benchmarks/kernels_validate.py \\
      --predictor DIR --store kernels.db --fit 100 --val 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _results import RESULTS, provenance  # noqa: E402

from hwnas.predictors.kernel_context import generation_firsts  # noqa: E402

#: Where the networks to run are exported, beside the context cache (the last two kept;
#: the cache keeps their weightless copies only).
SCRATCH = "validate-scratch"


def _networks() -> Any:
    """The random networks to run: exported into the scratch directory beside the
    context cache (the last two kept), their weightless copies in the cache."""
    from hwnas.predictors.kernel_build import context_cache
    from hwnas.predictors.kernel_context import ContextSpace

    return ContextSpace(context_cache(), scratch=context_cache().parent / SCRATCH)


METHODS = ("raw", "context", "kind_ratio", "incontext", "incontext+context")


def node_profile(path: Path, runs: int) -> list[tuple[str, str, float]]:
    """(node name, op type, mean us per run) of the optimized graph, execution order; the
    first run is left out."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="hwnas-validate-") as tmp:
        options.profile_file_prefix = os.path.join(tmp, "p")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {
            i.name: np.random.default_rng(0).random(i.shape, dtype=np.float32)
            for i in session.get_inputs()
        }
        for _ in range(runs + 1):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    per_run = len(nodes) // (runs + 1)
    order: dict[str, tuple[str, float]] = {}
    for e in nodes[per_run:]:
        name = e["name"][: -len("_kernel_time")]
        op, us = order.get(name, (e["args"]["op_name"], 0.0))
        order[name] = (op, us + float(e["dur"]) / runs)
    return [(name, op, us) for name, (op, us) in order.items()]


def mode_of(shape: tuple[int, ...]) -> str:
    return "image" if len(shape) == 4 else "signal" if shape[1] == 1 else "tokens"


def collect(predictor: Any, seeds: list[int], measured: dict[int, float], runs: int) -> list:
    """Per network: seed, mode, measured ms, kernel features, kinds, params, isolated ms,
    in-network labels."""
    import onnx

    from hwnas.predictors.kernel_incontext import network_rows

    space = _networks()
    nets = []
    for seed in seeds:
        path = space.to_onnx(json.dumps({"kind": "context", "seed": seed}))
        proto = onnx.load(str(path))
        kernels, x, isolated, labels = network_rows(
            predictor, proto, measured[seed], node_profile(path, runs)
        )
        dims = proto.graph.input[0].type.tensor_type.shape.dim
        nets.append(
            {
                "seed": seed,
                "mode": mode_of(tuple(d.dim_value for d in dims)),
                "measured": measured[seed],
                "x": x,
                "kinds": [k.kind for k in kernels],
                "params": [k.params for k in kernels],
                "isolated": isolated,
                "labels": labels,
            }
        )
    return nets


def _rows(net: dict[str, Any], ms: np.ndarray) -> list[dict[str, Any]]:
    return [
        {"kind": k, "ms": float(t), "params": p}
        for k, t, p in zip(net["kinds"], ms, net["params"], strict=True)
    ]


def predictions(predictor: Any, fit: list, val: list) -> dict[str, list[float]]:
    """Each method's predicted ms of every validation network (fitted on ``fit``)."""
    from hwnas.predictors.kernel_context import apply_context, fit_context, network_terms
    from hwnas.predictors.kernel_incontext import InContextCorrection, per_kind_ratios

    base = predictor.overhead_model_ms_
    truth = np.array([n["measured"] for n in fit])
    ctx = fit_context(np.array([network_terms(_rows(n, n["isolated"])) for n in fit]), truth)
    ratios = per_kind_ratios([(n["kinds"], n["isolated"], n["labels"]) for n in fit])
    model = InContextCorrection().fit([(n["x"], n["isolated"], n["labels"]) for n in fit])
    fitted = [model.kernel_ms(n["x"], n["isolated"]) for n in fit]
    ctx2 = fit_context(
        np.array([network_terms(_rows(n, ms)) for n, ms in zip(fit, fitted, strict=True)]), truth
    )
    out: dict[str, list[float]] = {m: [] for m in METHODS}
    for n in val:
        corrected = model.kernel_ms(n["x"], n["isolated"])
        scale = np.array([ratios.get(k, 1.0) for k in n["kinds"]])
        out["raw"].append(base + float(n["isolated"].sum()))
        out["context"].append(apply_context(ctx, _rows(n, n["isolated"])))
        out["kind_ratio"].append(base + float((n["isolated"] * scale).sum()))
        out["incontext"].append(base + float(corrected.sum()))
        out["incontext+context"].append(apply_context(ctx2, _rows(n, corrected)))
    return out


def scores(errors: np.ndarray) -> dict[str, Any]:
    return {
        "n": len(errors),
        "within_10": round(float(np.mean(np.abs(errors) <= 10)), 3),
        "within_5": round(float(np.mean(np.abs(errors) <= 5)), 3),
        "mape": round(float(np.mean(np.abs(errors))), 2),
        "mean_error_pct": round(float(np.mean(errors)), 2),
    }


def report(val: list, preds: dict[str, list[float]]) -> dict[str, Any]:
    truth = np.array([n["measured"] for n in val])
    modes = sorted({n["mode"] for n in val})
    out: dict[str, Any] = {}
    for method, ms in preds.items():
        err = 100 * (np.asarray(ms) - truth) / truth
        out[method] = {"all": scores(err)}
        for mode in modes:
            sel = np.array([n["mode"] == mode for n in val])
            out[method][mode] = scores(err[sel])
    return out


def learning_curve(predictor: Any, fit: list, val: list, sizes: list[int]) -> dict[str, Any]:
    """Each method's scores on ``val`` when fitted on the first ``n`` of ``fit`` only, for
    each ``n`` in ``sizes`` (at most all of ``fit``)."""
    out: dict[str, Any] = {}
    for n in sizes:
        if n > len(fit):
            continue
        scored = report(val, predictions(predictor, fit[:n], val))
        out[str(n)] = {method: scored[method]["all"] for method in METHODS}
    return out


def retest(seeds: list[int], measured: dict[int, float], max_seconds: float) -> dict[str, Any]:
    """The validation networks measured once more (the build's settings, fresh runners):
    the share of them whose two measurements agree within ±10%, and the median gap."""
    from hwnas.devices.local import LocalTransport
    from hwnas.predictors.kernel_build import kernel_settings
    from hwnas.profiler.batch import profile_model
    from hwnas.records import DeviceSpec

    space = _networks()
    settings = kernel_settings(max_seconds=max_seconds)
    from hwnas.onnx_model import check_model

    gaps = []
    for seed in seeds:
        path = space.to_onnx(json.dumps({"kind": "context", "seed": seed}))
        m = profile_model(LocalTransport(), DeviceSpec(name="local"), check_model(path), settings)
        gaps.append(100 * (float(m.latency_ms.median) - measured[seed]) / measured[seed])
    g = np.asarray(gaps)
    return {
        "n": len(g),
        "within_10": round(float(np.mean(np.abs(g) <= 10)), 3),
        "median_abs_pct": round(float(np.median(np.abs(g))), 2),
        "mean_pct": round(float(np.mean(g)), 2),
    }


def _agreement(a: dict[int, float], b: dict[int, float]) -> dict[str, Any]:
    g = np.array([100 * (b[s] - a[s]) / a[s] for s in a if s in b])
    return {
        "n": len(g),
        "within_10": round(float(np.mean(np.abs(g) <= 10)), 3),
        "median_abs_pct": round(float(np.median(np.abs(g))), 2),
        "mean_pct": round(float(np.mean(g)), 2),
    }


def reference_labels(
    seeds: list[int], reference: Path, max_seconds: float
) -> tuple[dict[int, float], dict[str, Any]]:
    """The networks measured twice beside ``reference`` (the build's settings plus the
    reference, fresh runners): labels as ratios in ms at the reference's typical speed
    (the geometric mean of both passes; files before kernels_validate_v2 kept pass 1
    only), and the test-retest of ratio labels and of plain medians over the same runs,
    with each network's gap between its two ratio labels (``pass_gap_pct``)."""
    import dataclasses

    from hwnas.devices.local import LocalTransport
    from hwnas.onnx_model import check_model
    from hwnas.predictors.kernel_build import kernel_settings
    from hwnas.predictors.reference import ratio_median, reference_scale
    from hwnas.profiler.batch import profile_model
    from hwnas.records import DeviceSpec

    space = _networks()
    settings = dataclasses.replace(
        kernel_settings(max_seconds=max_seconds), reference=str(reference), op_profile=False
    )
    passes: list[dict[int, Any]] = [{}, {}]
    for runs in passes:
        for seed in seeds:
            path = check_model(space.to_onnx(json.dumps({"kind": "context", "seed": seed})))
            runs[seed] = profile_model(LocalTransport(), DeviceSpec(name="local"), path, settings)
    scale = reference_scale([m for runs in passes for m in runs.values()], "the networks")
    ratio = [{s: scale.in_ms(float(ratio_median(m))) for s, m in r.items()} for r in passes]
    plain = [{s: float(m.latency_ms.median) for s, m in r.items()} for r in passes]
    retest = {
        "reference_ms": scale.typical_ms,
        "ratio": _agreement(*ratio),
        "plain": _agreement(*plain),
        # each network's second ratio label over its first: how far its label can be
        # trusted (a fit may weight or drop the networks that disagree with themselves)
        "pass_gap_pct": {str(s): round(100 * (ratio[1][s] / ratio[0][s] - 1), 2) for s in ratio[0]},
    }
    # Both passes, averaged (geometric mean): half the variance of one pass's label.
    return {s: float(np.sqrt(ratio[0][s] * ratio[1][s])) for s in ratio[0]}, retest


def merged_labels(paths: list[Path]) -> dict[int, float]:
    """Labels (ms by seed) of several ``NAME.labels.json`` files, each rescaled to the
    first one's reference speed (a label is a ratio to the reference model, in ms at its
    typical speed that day)."""
    docs = [json.loads(p.read_text()) for p in paths]
    speed = float(docs[0]["reference_ms"])
    out: dict[int, float] = {}
    for doc in docs:
        scale = speed / float(doc["reference_ms"])
        out |= {int(s): float(ms) * scale for s, ms in doc["labels"].items()}
    return out


def split(args: argparse.Namespace, measured: dict[int, float]) -> tuple[list[int], list[int]]:
    """Fit and validation seeds among the first ``--fit + --val`` measured of generation
    ``--generation`` (in seed order): ``block`` (the first ``--fit``, then the rest), or
    ``interleave`` (every other one: both halves measured at the same times, so drift of
    the machine over the build does not separate them)."""
    seeds = [s for s in sorted(measured) if generation(s) == args.generation]
    seeds = seeds[: args.fit + args.val]
    if args.split == "interleave":
        return seeds[::2], seeds[1::2]
    return seeds[: args.fit], seeds[args.fit :]


def curve_sizes(text: str) -> list[int]:
    """``--curve``'s sizes, sorted; refused (before anything is measured) unless each is
    a whole number of at least 10 networks (the correction's LightGBM leaves hold 10)."""
    try:
        sizes = sorted({int(n) for n in text.split(",") if n.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers") from None
    if any(n < 10 for n in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: each size must be at least 10 networks")
    return sizes


def generation(seed: int) -> int:
    """The generation of random networks that ``seed`` draws (1 to 10)."""
    later = [g for g, first in enumerate(generation_firsts(), 2) if seed >= first]
    return later[-1] if later else 1


_ORDINAL = dict(
    enumerate(
        ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
        + ("tenth",),
        1,
    )
)


def cross_generation(predictor: Any, nets: list, reps: int = 2) -> dict[str, Any]:
    """Which generations of random networks to fit on: 5-fold splits of ``nets`` (two or
    more generations) by network, ``reps`` times; the in-network + NNLS correction fitted
    on the training folds' networks of each generation alone, of all (``both`` for two
    generations, ``all`` for more), or, with three or more, of all but one
    (``without_<generation>``), and scored on each generation's held-out networks."""
    gen = np.array([generation(n["seed"]) for n in nets])
    present = sorted({int(g) for g in gen})
    fits = [(_ORDINAL[g], g) for g in present] + [("both" if len(present) == 2 else "all", 0)]
    if len(present) >= 3:
        fits += [(f"without_{_ORDINAL[g]}", -g) for g in present]
    errors: dict[tuple[str, int], list[np.ndarray]] = {}
    for rep in range(reps):
        fold = np.random.default_rng(100 + rep).permutation(len(nets)) % 5
        for f in range(5):
            val = [n for n, g in zip(nets, fold, strict=True) if g == f]
            truth = np.array([n["measured"] for n in val])
            for name, keep in fits:
                fit = [
                    n
                    for n, g, k in zip(nets, fold, gen, strict=True)
                    if g != f and (keep in (0, k) or (keep < 0 and k != -keep))
                ]
                ms = np.asarray(predictions(predictor, fit, val)["incontext+context"])
                err = 100 * (ms - truth) / truth
                for g in present:
                    errors.setdefault((name, g), []).append(err[gen[fold == f] == g])
    return {
        f"fit_{name}_score_{_ORDINAL[g]}": scores(np.concatenate(e))
        for (name, g), e in errors.items()
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictor", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--fit", type=int, default=100)
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20, help="profiled runs per network")
    parser.add_argument("--retest", action="store_true")
    parser.add_argument(
        "--curve",
        type=curve_sizes,
        default=[],
        help="comma-separated numbers of fit networks to score too (each at least 10)",
    )
    parser.add_argument("--name", default="kernels_validate")
    parser.add_argument("--split", choices=("block", "interleave"), default="block")
    parser.add_argument(
        "--cross-generation",
        action="store_true",
        help="with --labels of several generations: fit on each, all, score each (5-fold)",
    )
    parser.add_argument(
        "--generation",
        type=int,
        choices=(1, 2, 3, 4, 5, 6),
        default=2,
        help="which generation of random networks (builds measure 2 to 6 now)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        action="append",
        help="labels a --reference run wrote (NAME.labels.json); several are merged, each "
        "rescaled to the first one's reference speed",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        help="label the networks by ratios to this model (measured twice here) instead "
        "of the build's medians",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    load_start, clock = list(os.getloadavg()), time.perf_counter()

    from hwnas.predictors.kernel_context import context_measurements
    from hwnas.predictors.kernel_incontext import per_kind_ratios
    from hwnas.predictors.kernels import KernelPredictor
    from hwnas.store import Store

    predictor = KernelPredictor.load(args.predictor)
    with Store(args.store) as store:
        measured = context_measurements(
            store, device=predictor.device_, fingerprint=predictor.fingerprint_
        )
    fit_seeds, val_seeds = split(args, measured)
    ref_retest = None
    if args.labels:
        measured = merged_labels(args.labels)
        fit_seeds, val_seeds = split(args, measured)
    elif args.reference is not None:
        measured, ref_retest = reference_labels(fit_seeds + val_seeds, args.reference, 2.0)
        labels = {"reference_ms": ref_retest["reference_ms"], "labels": measured}
        (RESULTS / f"{args.name}.labels.json").write_text(json.dumps(labels) + "\n")
    if not args.cross_generation and (not fit_seeds or not val_seeds):
        raise SystemExit(
            f"no measured random networks of generation {args.generation} to fit and score "
            "(a store of an older build holds the first generation: --generation 1)"
        )
    if args.cross_generation:
        nets = collect(predictor, sorted(measured), measured, args.runs)
        return write(
            args, {"cross_generation": cross_generation(predictor, nets)}, clock, load_start
        )
    fit = collect(predictor, fit_seeds, measured, args.runs)
    val = collect(predictor, val_seeds, measured, args.runs)
    body = {
        "fit_networks": len(fit),
        "val_networks": len(val),
        "split": args.split,
        "scores": report(val, predictions(predictor, fit, val)),
        "in_sample": report(fit, predictions(predictor, fit, fit)),
        "kind_ratios_fit": {
            k: round(v, 3)
            for k, v in per_kind_ratios(
                [(n["kinds"], n["isolated"], n["labels"]) for n in fit]
            ).items()
        },
        "curve": learning_curve(predictor, fit, val, args.curve),
        "retest": retest(val_seeds, measured, 2.0) if args.retest else None,
        "reference_retest": ref_retest,
    }
    write(args, body, clock, load_start)
    print(json.dumps({m: body["scores"][m]["all"] for m in METHODS}, indent=1))
    print(json.dumps(body["retest"]), json.dumps(ref_retest))


def write(args: argparse.Namespace, body: dict[str, Any], clock: float, load: list) -> None:
    """Write ``benchmarks/results/NAME.json``: provenance, the inputs, ``body``, time."""
    doc = {
        **provenance(args.name),
        "predictor": str(args.predictor),
        "profiled_runs": args.runs,
        "generation": args.generation,
        "labels": [str(p) for p in args.labels or []],
        **body,
        "seconds": round(time.perf_counter() - clock, 1),
        "load_average": {"start": load, "end": list(os.getloadavg())},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
