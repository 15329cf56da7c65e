"""How well the in-network correction generalises, out of fold, on the random networks
a kernel build measured (no new measurement: the store holds each network's latency
and per-node profile, all from one build, so the labels compare).

The networks (``hwnas kernels build --context N``) are split into ``--folds`` folds by
network, ``--seeds`` times; for each fold the correction (``kernel_incontext``) and the
whole-network NNLS correction on top (``kernel_context``) are fitted on the other folds
exactly as a build fits them on all, and the fold's networks are predicted. Reported per
setting: the share of networks within ±10% and the MAPE over all networks and per
design (the second and third generations, and each design of the fourth), mean and 95%
interval over the seeds. Settings:

* ``v14``: the correction of 2026-12-05 morning: the kernel models' 7-leaf trees, 200
  rounds, the kernel's own features;
* ``v15``: 31 leaves, 400 rounds, and the kernel's neighbours
  (``kernel_incontext.neighbour_features``);
* ``v15-no-neighbours``: ``v15`` without the neighbours;
* ``v15-without-g10``: ``v15`` fitted on no tenth-generation network (every network
  still scored): whether fitting on that generation helps or hurts the others.

The isolated kernel predictions are the given predictor's, for every setting.

Run:  .venv/bin/python benchmarks/kernels_incontext_cv.py --predictor DIR --store DB
      [--seeds 3] [--folds 5] [--settings v15,v15-without-g10] [--name kernels_incontext_cv]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from benchmarks._results import RESULTS, mean_interval, provenance, started, write_results  # noqa: E402

SETTINGS = {
    "v14": {"num_leaves": 7, "rounds": 200, "neighbours": False},
    "v15": {"num_leaves": 31, "rounds": 400, "neighbours": True},
    "v15-no-neighbours": {"num_leaves": 31, "rounds": 400, "neighbours": False},
    "v15-without-g10": {"num_leaves": 31, "rounds": 400, "neighbours": True, "exclude": ["g10"]},
}


def design(seed: int) -> str:
    """The generation (and for the fourth to tenth, the design) of a random network's
    seed."""
    from kernels_validate import generation

    from hwnas.predictors.kernel_networks4 import drawn_4
    from hwnas.predictors.kernel_networks5 import drawn_5
    from hwnas.predictors.kernel_networks6 import drawn_6
    from hwnas.predictors.kernel_networks7 import drawn_7
    from hwnas.predictors.kernel_networks8 import drawn_8
    from hwnas.predictors.kernel_networks9 import drawn_9
    from hwnas.predictors.kernel_networks10 import drawn_10

    found = generation(seed)
    by_generation = {4: drawn_4, 5: drawn_5, 6: drawn_6, 7: drawn_7, 8: drawn_8, 9: drawn_9}
    drawn = {**by_generation, 10: drawn_10}.get(found)
    return f"g{found}:{drawn(seed)[0]}" if drawn else f"g{found}"


def networks(predictor: Any, store: Path) -> list[dict[str, Any]]:
    """Per measured random network with a profile: design, measured ms, kernel rows
    (features with neighbours, isolated ms, in-network labels, kinds, params)."""
    from hwnas.predictors.kernel_build import context_cache
    from hwnas.predictors.kernel_context import (
        ContextSpace,
        context_measurements,
        context_profiles,
    )
    from hwnas.predictors.kernel_incontext import network_rows
    from hwnas.store import Store

    key = {"device": predictor.device_, "fingerprint": predictor.fingerprint_}
    with Store(store) as db:
        measured, profiles = context_measurements(db, **key), context_profiles(db, **key)
    space, out = ContextSpace(context_cache()), []
    for seed in sorted(set(measured) & set(profiles)):
        path = space.structure(json.dumps({"kind": "context", "seed": seed}))
        kernels, x, isolated, labels = network_rows(predictor, path, measured[seed], profiles[seed])
        out.append(
            {
                "design": design(seed),
                "ms": measured[seed],
                "x": x,
                "isolated": isolated,
                "labels": labels,
                "rows": [{"kind": k.kind, "params": k.params} for k in kernels],
            }
        )
    return out


def _predict(fit: list[dict[str, Any]], score: list[dict[str, Any]], setting: dict) -> list:
    """Fit both corrections on ``fit`` under ``setting``; relative errors on ``score``."""
    from hwnas.predictors.kernel_context import apply_context, fit_context, network_terms
    from hwnas.predictors.kernel_features import FEATURE_NAMES
    from hwnas.predictors.kernel_incontext import InContextCorrection

    width = None if setting["neighbours"] else len(FEATURE_NAMES)
    model = InContextCorrection(rounds=setting["rounds"], num_leaves=setting["num_leaves"])
    model.fit([(n["x"][:, :width], n["isolated"], n["labels"]) for n in fit])

    def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
        ms = model.kernel_ms(n["x"][:, :width], n["isolated"])
        return [{**r, "ms": float(t)} for r, t in zip(n["rows"], ms, strict=True)]

    coef = fit_context(
        np.array([network_terms(rows(n)) for n in fit]), np.array([n["ms"] for n in fit])
    )
    return [apply_context(coef, rows(n)) / n["ms"] - 1 for n in score]


def cross_validate(nets: list, setting: dict, seed: int, folds: int) -> dict[str, dict]:
    """Out-of-fold relative errors per design (and ``all``) for one seed's folds."""
    errors: dict[str, list[float]] = {}
    order = np.random.default_rng(seed).permutation(len(nets))
    for fold in np.array_split(order, folds):
        held = set(fold.tolist())
        out = setting.get("exclude", ())
        fit = [
            n for i, n in enumerate(nets) if i not in held and n["design"].split(":")[0] not in out
        ]
        score = [nets[i] for i in fold]
        for n, e in zip(score, _predict(fit, score, setting), strict=True):
            errors.setdefault(n["design"], []).append(e)
            errors.setdefault("all", []).append(e)
    return {
        d: {
            "n": len(e),
            "within_10": float(np.mean(np.abs(e) <= 0.10)),
            "mape": float(100 * np.mean(np.abs(e))),
        }
        for d, e in ((d, np.asarray(v)) for d, v in errors.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--predictor", type=Path, required=True, help="a kernel predictor")
    parser.add_argument("--store", type=Path, required=True, help="the store of its build")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--name", default="kernels_incontext_cv")
    parser.add_argument(
        "--settings",
        default=",".join(SETTINGS),
        help=f"comma-separated settings to run (default all: {', '.join(SETTINGS)})",
    )
    args = parser.parse_args()
    chosen = [x for x in args.settings.split(",") if x]
    if not chosen or set(chosen) - set(SETTINGS):
        parser.error(f"--settings: choose from {', '.join(SETTINGS)}")
    if args.seeds < 1 or args.folds < 2:
        parser.error("--seeds must be at least 1 and --folds at least 2")
    from hwnas.predictors.kernels import KernelPredictor

    start = started()
    nets = networks(KernelPredictor.load(args.predictor), args.store)
    if len(nets) < 2 * args.folds:
        raise SystemExit(f"{len(nets)} profiled random networks in {args.store}: too few")
    results = {}
    for name, setting in ((n, SETTINGS[n]) for n in chosen):
        runs = [cross_validate(nets, setting, s, args.folds) for s in range(args.seeds)]
        results[name] = {
            d: {
                "n": runs[0][d]["n"],
                **{k: mean_interval([r[d][k] for r in runs]) for k in ("within_10", "mape")},
            }
            for d in sorted(runs[0])
        }
        print(
            name,
            json.dumps({d: round(v["within_10"]["mean"], 3) for d, v in results[name].items()}),
        )
    doc = {
        **provenance(args.name),
        "seed": 0,
        "seeds": args.seeds,
        "folds": args.folds,
        "predictor": str(args.predictor),
        "networks": len(nets),
        "settings": {n: SETTINGS[n] for n in chosen},
        "results": results,
    }
    print(write_results(doc, start, RESULTS / f"{args.name}.json"))


if __name__ == "__main__":
    main()
