"""Scores the kernel-level predictor, with and without its in-context correction, on a
held-out zoo of real-world architectures (``--zoo 1``: benchmarks/realworld_zoo.py; 2 to
18: realworld_zoo2.py ... realworld_zoo18.py) — once per change.

1. Builds (or finishes, resumable) the kernel predictor exactly as ``hwnas kernels
   build`` does: single kernels of every kind, then ``--context`` random whole networks
   (``hwnas.predictors.kernel_context``) on which the correction is fitted. Nothing here
   is fitted on the zoo.
2. Exports the zoo and measures each model twice with the profiling protocol
   (``profile_model`` on the local transport, a fresh runner each; the two passes are the
   test-retest noise) and predicts each from its ONNX file, raw and corrected.
3. Writes ``benchmarks/results/kernels.json``: per model and per family, error against
   the mean of both passes, share within ±10%, test-retest, settings, seed, load average,
   and (``previous``) the overall figures of the file it replaces.

"Corrected" is what ``hwnas kernels build`` gives: each kernel corrected to its
in-network time (``hwnas.predictors.kernel_incontext``, fitted on the random networks'
per-node profiles), then the network-level correction; "uncorrected" sums the kernels as
timed alone.

Run (never alongside other measurements):
  flock /tmp/hwnas-bench.lock .venv/bin/python benchmarks/kernels_context.py --per-kind 80
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _results import RESULTS, provenance  # noqa: E402


def measure(
    paths: list[Path], max_seconds: float, reference: tuple[Path, float] | None = None
) -> list[float]:
    """Median latency (ms) of each file, a fresh runner process each; with ``reference``
    (a model and its typical ms), the median ratio to that model timed beside it, in ms
    at that speed."""
    from hwnas.devices.local import LocalTransport
    from hwnas.onnx_model import check_model
    from hwnas.predictors.reference import ratio_median
    from hwnas.profiler.batch import profile_model
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.records import DeviceSpec

    transport, spec = LocalTransport(), DeviceSpec(name="local")
    ref = None if reference is None else str(reference[0])
    settings = ProfileSettings(max_seconds=max_seconds, target_ci=0.01, reference=ref)
    out = []
    for p in paths:
        m = profile_model(transport, spec, check_model(p), settings)
        ratio = ratio_median(m) if reference is not None else None
        out.append(float(m.latency_ms.median) if ratio is None else ratio * reference[1])
    return out


def summarise(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Per family and overall: n, MAPE, within ±10%, mean signed error of ``key``."""
    out: dict[str, Any] = {}
    families = sorted({r["family"] for r in rows})
    for family in [*families, "all"]:
        sel = [r for r in rows if family == "all" or r["family"] == family]
        err = np.array([r[key] for r in sel])
        out[family] = {
            "n": len(sel),
            "mape": round(float(np.mean(np.abs(err))), 2),
            "within_10": round(float(np.mean(np.abs(err) <= 10)), 3),
            "mean_error_pct": round(float(np.mean(err)), 2),
        }
    return out


def bootstrap_all(rows: list[dict[str, Any]], key: str, seed: int = 0) -> dict[str, Any]:
    """95% percentile-bootstrap intervals of MAPE and the share within ±10% over the
    models (2,000 seeded resamples of the rows): one zoo is all there is to score."""
    err = np.abs(np.array([r[key] for r in rows], dtype=float))
    draws = np.random.default_rng(seed).integers(0, len(err), size=(2000, len(err)))
    mape, within = err[draws].mean(axis=1), (err[draws] <= 10).mean(axis=1)
    return {
        "mape": [round(float(v), 2) for v in np.percentile(mape, [2.5, 97.5])],
        "within_10": [round(float(v), 3) for v in np.percentile(within, [2.5, 97.5])],
    }


def rescore(path: Path) -> None:
    """Add the bootstrap intervals of each scored prediction to a results file, from its
    own rows (nothing is measured again)."""
    doc = json.loads(path.read_text())
    keys = {"corrected": "error_pct", "uncorrected": "raw_error_pct"}
    keys |= {"incontext": "incontext_error_pct"} if doc.get("incontext") else {}
    doc["intervals_95"] = {name: bootstrap_all(doc["rows"], key) for name, key in keys.items()}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["intervals_95"]))


def score(
    models: list[tuple[str, str, Path]],
    predictor: Any,
    first: list[float],
    second: list[float],
    incontext: Any = None,
) -> list[dict[str, Any]]:
    """One row per model: both measurements, test-retest, raw and corrected prediction and
    their errors against the mean of the two passes (and, given ``incontext``, the
    in-network correction's prediction: ``incontext(path)`` in ms)."""
    rows = []
    for (family, name, path), a, b in zip(models, first, second, strict=True):
        truth = (a + b) / 2
        # Uncorrected: the kernels as timed alone (predict_onnx_raw's rows carry both).
        raw = predictor.overhead_model_ms_ + sum(
            r["isolated_ms"] for r in predictor.predict_onnx_raw(path)[1]
        )
        corrected = predictor.predict_onnx(path)[0]
        extra = {}
        if incontext is not None:
            ms = incontext(path)
            extra = {
                "incontext_ms": round(ms, 4),
                "incontext_error_pct": round(100 * (ms - truth) / truth, 2),
            }
        rows.append(
            {
                "family": family,
                "model": name,
                "measured_ms": [round(a, 4), round(b, 4)],
                "retest_pct": round(100 * abs(a - b) / truth, 2),
                "raw_ms": round(raw, 4),
                "corrected_ms": round(corrected, 4),
                "raw_error_pct": round(100 * (raw - truth) / truth, 2),
                "error_pct": round(100 * (corrected - truth) / truth, 2),
                **extra,
            }
        )
    return rows


def incontext_predictor(
    predictor: Any, store: Path, labels: dict[int, float] | None, runs: int = 20
) -> Any:
    """``path -> ms`` of the in-network correction (``hwnas.predictors.kernel_incontext``,
    NNLS context correction on top) fitted on every random network measured in ``store``
    (or labelled in ``labels``; profiled per node here: benchmarks/kernels_validate.py)."""
    import onnx
    from kernels_validate import _rows, collect

    from hwnas.predictors.kernel_context import (
        apply_context,
        context_measurements,
        fit_context,
        network_terms,
    )
    from hwnas.predictors.kernel_features import kernel_features
    from hwnas.predictors.kernel_incontext import InContextCorrection, incontext_features
    from hwnas.predictors.kernel_split import split_kernels
    from hwnas.store import Store

    with Store(store) as db:
        measured = context_measurements(
            db, device=predictor.device_, fingerprint=predictor.fingerprint_
        )
    measured = labels or measured
    nets = collect(predictor, sorted(measured), measured, runs)
    model = InContextCorrection().fit([(n["x"], n["isolated"], n["labels"]) for n in nets])
    terms = [network_terms(_rows(n, model.kernel_ms(n["x"], n["isolated"]))) for n in nets]
    coef = fit_context(np.array(terms), np.array([n["measured"] for n in nets]))

    def predict(path: Path) -> float:
        proto = onnx.load(str(path))
        kernels = split_kernels(proto)
        x = np.vstack([kernel_features(k) for k in kernels])
        isolated, _ = predictor.predict_kernels(kernels, x)
        x = incontext_features(proto, kernels, x)
        net = {"kinds": [k.kind for k in kernels], "params": [k.params for k in kernels]}
        return apply_context(coef, _rows(net, model.kernel_ms(x, np.asarray(isolated))))

    return predict


def refit_context(predictor: Any, labels: dict[int, float], store: Path) -> None:
    """Refit both corrections of ``predictor`` on ``labels`` (ms by context seed): the
    in-network one from the per-node profiles ``store`` holds, scaled to the labels, and
    the network-level one on top (``hwnas.predictors.kernel_build.fit_whole_networks``)."""
    from hwnas.predictors.kernel_build import fit_whole_networks
    from hwnas.predictors.kernel_context import context_profiles
    from hwnas.store import Store

    with Store(store) as db:
        profiles = context_profiles(
            db, device=predictor.device_, fingerprint=predictor.fingerprint_
        )
    fit_whole_networks(predictor, sorted(labels), labels, profiles, seed=predictor.seed)


def planned_labels(
    args: argparse.Namespace,
) -> tuple[dict[int, float] | None, tuple[Path, float] | None]:
    """``--labels`` of the random networks the build plans (ms by seed at the first
    file's reference speed, ``kernels_validate.merged_labels``; files may hold more) and
    the reference (model, typical ms) they were measured by, or (None, None) without
    ``--labels``. Exits naming the problem when the files lack any of them."""
    from kernels_validate import generation, merged_labels

    from hwnas.predictors.kernel_build import context_networks
    from hwnas.predictors.kernel_context import context_configs

    if not args.labels:
        return None, None
    absent = [str(p) for p in args.labels if not p.is_file()]
    if absent:
        raise SystemExit(
            f"--labels {' '.join(absent)}: no such file (kernels_validate.py --reference "
            "--name NAME writes benchmarks/results/NAME.labels.json)"
        )
    merged = merged_labels(args.labels)
    networks = context_networks(args.per_kind, args.context)
    planned = {c["seed"] for c in context_configs(networks, args.seed)}
    labels = {s: ms for s, ms in merged.items() if s in planned}
    if len(labels) < len(planned):
        missing = sorted({generation(s) for s in planned - set(labels)})
        raise SystemExit(
            f"--labels {' '.join(map(str, args.labels))} holds {len(labels)} of the build's "
            f"{len(planned)} random networks: label them with kernels_validate.py "
            f"--reference (--generation {' and '.join(map(str, missing))})"
        )
    speed = float(json.loads(args.labels[0].read_text())["reference_ms"])
    stale = {str(p): age for p in args.labels if (age := labels_age_hours(p)) is not None}
    if any(age > STALE_HOURS for age in stale.values()):
        print(
            f"warning: --labels measured {max(stale.values()):.0f} h ago: a session's fixed "
            "cost per inference moves the small networks' labels (benchmarks/results/"
            "kernels_relabel.json); label them again in this session "
            "(kernels_validate.py --reference)",
            file=sys.stderr,
        )
    return labels, (args.reference, speed)


#: Labels older than this (hours) were measured in another session of the machine.
STALE_HOURS = 3.0


def labels_age_hours(path: Path, now: datetime | None = None) -> float | None:
    """Hours since the run that wrote ``path`` (``NAME.labels.json``: the date of
    ``NAME.json`` beside it), or None where that file or its date is absent."""
    results = path.with_name(path.name.removesuffix(".labels.json") + ".json")
    if not results.is_file():
        return None
    date = json.loads(results.read_text()).get("date")
    if not date:
        return None
    now = now or datetime.now(timezone.utc)
    return round((now - datetime.fromisoformat(date)).total_seconds() / 3600, 2)


def previous(path: Path) -> dict[str, Any] | None:
    """What the results file this run replaces said (command, date, overall figures), so
    that a change's before and after stay side by side."""
    if not path.is_file():
        return None
    old = json.loads(path.read_text())
    keep = ("command", "date", "in_network_correction", "intervals_95")
    return {
        **{k: old.get(k) for k in keep},
        "corrected_all": (old.get("corrected") or {}).get("all"),
        "uncorrected_all": (old.get("uncorrected") or {}).get("all"),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=80)
    parser.add_argument("--context", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--zoo",
        type=int,
        choices=range(1, 19),
        default=1,
        help="the held-out zoo to score: 1 (realworld_zoo.py), 2-18 (realworld_zoo2.py ...)",
    )
    parser.add_argument("--max-seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument(
        "--name", default="kernels", help="results file benchmarks/results/NAME.json"
    )
    parser.add_argument(
        "--incontext",
        action="store_true",
        help="also score the in-network correction (kernel_incontext, NNLS on top)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        action="append",
        help="context-network labels by reference ratio (kernels_validate.py --reference "
        "writes them; several are merged at the first one's reference speed; together they "
        "must hold every random network the build planned, and only those are used): the "
        "corrections are refitted on them and the zoo is measured by "
        "ratio to --reference at their reference speed",
    )
    parser.add_argument("--reference", type=Path, help="the reference model of --labels")
    parser.add_argument(
        "--rescore", type=Path, help="only add bootstrap intervals to this results file"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.rescore is not None:
        return rescore(args.rescore)
    load_start, clock = list(os.getloadavg()), time.perf_counter()
    os.environ.setdefault("HWNAS_HOME", str(args.out / "hwnas_home"))

    from realworld_zoo import export_zoo

    import hwnas
    from hwnas.predictors.kernel_build import context_networks

    labels, reference = planned_labels(args)  # checked before anything is measured
    args.out.mkdir(parents=True, exist_ok=True)  # the store goes in it
    predictor = hwnas.build_kernel_predictor(
        device="local",
        per_kind=args.per_kind,
        seed=args.seed,
        store=args.out / "kernels.db",
        context=args.context,
    )
    predictor.save(args.out / "kernel_predictor")
    build_s = time.perf_counter() - clock
    rows = None if args.zoo == 1 else importlib.import_module(f"realworld_zoo{args.zoo}").zoo()
    models = export_zoo(args.out / "zoo", rows)
    paths = [p for _, _, p in models]
    if labels is not None:
        refit_context(predictor, labels, args.out / "kernels.db")
    first, second = (measure(paths, args.max_seconds, reference) for _ in range(2))
    incontext = (
        incontext_predictor(predictor, args.out / "kernels.db", labels) if args.incontext else None
    )
    rows = score(models, predictor, first, second, incontext)
    doc = {
        **provenance(args.name),
        "seed": args.seed,
        "settings": {
            "per_kind": args.per_kind,
            "context_networks": context_networks(args.per_kind, args.context),
            "zoo": args.zoo,
            "zoo_max_seconds": args.max_seconds,
            "threads": 1,
            "labels": [str(p) for p in args.labels or []] or None,
            "labels_age_hours": [labels_age_hours(p) for p in args.labels or []] or None,
            "reference": None if args.reference is None else str(args.reference),
        },
        "context_correction": predictor.context_,
        "corrected": summarise(rows, "error_pct"),
        "uncorrected": summarise(rows, "raw_error_pct"),
        "incontext": summarise(rows, "incontext_error_pct") if args.incontext else None,
        "retest_median_pct": round(float(np.median([r["retest_pct"] for r in rows])), 2),
        "rows": rows,
        "build_s": round(build_s, 1),
        "seconds": round(time.perf_counter() - clock, 1),
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
    }
    doc["in_network_correction"] = predictor.incontext_ is not None
    doc["previous"] = previous(RESULTS / f"{args.name}.json")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    rescore(RESULTS / f"{args.name}.json")


if __name__ == "__main__":
    main()
