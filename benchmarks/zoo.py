"""Transfer to a new device from the NAS-Bench-201 device zoo, leave-one-device-out.

For each of the eleven zoo devices (``hwnas.predictors.zoo.ZOO_DEVICES``, the public
HELP tables that hwnas ships): the zoo without that device is the set of bases; k cells
of the target, drawn at random (seeded), each from a different equivalence class, are
its measurements; a transfer (``TransferPredictor(base=zoo_bases(exclude=[target]))``,
as-written, as the tables were measured) is fitted on them; it is scored on every other
cell of the target whose equivalence class none of the k belongs to (so no scored cell
has a functionally identical twin among the k): Spearman, within ±10%, MAPE, and
Spearman over connected cells only. k = 5, 10, 20, 50; several seeds per device.

Two choices are compared: ``weighted`` (what hwnas does: every base fitted alone,
weighted by its leave-one-out error, then corrected with summary features) and
``best-single`` (the base with the lowest leave-one-out error alone, then the same
correction).

The design was chosen on development seeds 100-104 (``--seeds 100-104``) with k = 10 and
20: the temperature of the weighting (0.02), the correction's grid (z unpenalised,
summary-feature penalties 1..100 or none) and the Huber loss of each base's fit (its
threshold 0.1 fixed beforehand, as LightGBM's). Seeds 0-4 were then run once
(``results/zoo.json``, kept under ``previous``); their raspi4 failures led to the Huber loss
in the correction too, checked on the development seeds, and seeds 0-4 were rerun. Seeds
200-204 (``results/zoo_holdout.json``) were run once only after that: the untouched
hold-out to quote. With ``--curve`` the learning curve of the weighted transfer (mean
and worst device Spearman at each k) is written to ``hwnas/data/nb201_zoo_curve.parquet``,
which ``hwnas predictor train`` quotes (the shipped one is from seeds 200-204).

Run:  .venv/bin/python benchmarks/zoo.py [--seeds 0-4] [--ks 5,10,20,50] [--curve]
          [--out benchmarks/results/zoo.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import provenance  # noqa: E402
from hwnas.predictors import metrics  # noqa: E402
from hwnas.predictors.base import Origin  # noqa: E402
from hwnas.predictors.transfer import TransferPredictor  # noqa: E402
from hwnas.predictors.zoo import (  # noqa: E402
    CURVE_FILE,
    TEMPERATURE,
    ZOO_DEVICES,
    _zoo_frame,
    _zoo_order,
    zoo_bases,
)
from hwnas.spaces import get_space  # noqa: E402
from hwnas.spaces.forms import AS_WRITTEN  # noqa: E402

CHOICES = {"weighted": TEMPERATURE, "best-single": 1e-9}
ORIGIN = Origin(arch_form=AS_WRITTEN, arch_form_reason="HELP tables: each spelling measured")


class Cells:
    """The zoo's cells: strings, equivalence classes, disconnected flags, table order."""

    def __init__(self) -> None:
        space = get_space("nb201")
        self.archs = _zoo_frame()["arch"].tolist()
        _, self.classes = np.unique([space.canonical(a) for a in self.archs], return_inverse=True)
        self.disconnected = np.array([space.is_disconnected(a) for a in self.archs])
        self.flat = _zoo_order()

    def split(self, seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k rows of distinct classes (seeded) and the mask of rows of no class among them."""
        picked: list[int] = []
        seen: set[int] = set()
        for i in np.random.default_rng(seed).permutation(len(self.archs)):
            if self.classes[i] not in seen:
                picked.append(int(i))
                seen.add(int(self.classes[i]))
            if len(picked) == k:
                break
        return np.array(picked), ~np.isin(self.classes, list(seen))


def one_run(
    cells: Cells, truth: np.ndarray, bases: Any, seed: int, k: int
) -> dict[str, dict[str, Any]]:
    """Fit each choice on k cells of the target and score it on the rest."""
    train, test = cells.split(seed, k)
    found: dict[str, dict[str, Any]] = {}
    for name, temperature in CHOICES.items():
        bases.temperature = temperature
        model = TransferPredictor(base=bases, seed=seed)
        model.fit([cells.archs[i] for i in train], truth[train], origin=ORIGIN)
        predicted = model.predict_encodings(model.features.all_genes())[cells.flat]
        scores = metrics.report(truth[test], predicted[test])
        connected = test & ~cells.disconnected
        choice = model.base_choice or {}
        found[name] = {
            "spearman": scores["spearman"],
            "within_10": scores["within_10"],
            "mape": scores["mape"],
            "spearman_connected": metrics.spearman(truth[connected], predicted[connected]),
            "n_test": int(test.sum()),
            "used": choice.get("used", []),
        }
    bases.temperature = TEMPERATURE
    return found


def _mean(devices: dict[str, Any], metric: str) -> float:
    return float(np.mean([v[metric]["mean"] for v in devices.values()]))


def summarise(runs: list[dict[str, Any]], ks: list[int]) -> dict[str, Any]:
    """Per choice and k: per-device mean and std over seeds, the mean across devices and
    the worst device."""
    out: dict[str, Any] = {}
    for choice in CHOICES:
        out[choice] = {}
        for k in ks:
            devices = {}
            for device in ZOO_DEVICES:
                rows = [r[choice] for r in runs if r["device"] == device and r["k"] == k]
                devices[device] = {
                    m: {
                        "mean": float(np.mean([r[m] for r in rows])),
                        "std": float(np.std([r[m] for r in rows])),
                    }
                    for m in ("spearman", "within_10", "mape", "spearman_connected")
                }
            means = {d: v["spearman"]["mean"] for d, v in devices.items()}
            worst = min(means, key=lambda d: means[d])
            out[choice][str(k)] = {
                "spearman_mean": float(np.mean(list(means.values()))),
                "spearman_min": means[worst],
                "worst_device": worst,
                "within_10_mean": float(
                    np.mean([v["within_10"]["mean"] for v in devices.values()])
                ),
                "mape_mean": float(np.mean([v["mape"]["mean"] for v in devices.values()])),
                "devices": devices,
            }
    return out


def print_table(summary: dict[str, Any], ks: list[int]) -> None:
    for choice, by_k in summary.items():
        print(f"\n{choice}: Spearman mean over seeds, per device (rest of the target's cells)")
        print(f"{'device':16s}" + "".join(f"{'k=' + str(k):>16s}" for k in ks))
        for device in ZOO_DEVICES:
            cells = [by_k[str(k)]["devices"][device]["spearman"] for k in ks]
            print(f"{device:16s}" + "".join(f"{c['mean']:>9.3f} ±{c['std']:.3f}" for c in cells))
        for label, key in (("mean", "spearman_mean"), ("worst", "spearman_min")):
            print(f"{label:16s}" + "".join(f"{by_k[str(k)][key]:>16.3f}" for k in ks))
        print(
            f"{'within ±10%':16s}" + "".join(f"{by_k[str(k)]['within_10_mean']:>16.1%}" for k in ks)
        )


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(v) for v in text.split("-"))
        return list(range(low, high + 1))
    return [int(v) for v in text.split(",")]


def write_curve(summary: dict[str, Any], ks: list[int], seeds: list[int]) -> Path:
    import pandas as pd

    rows = [
        {
            "k": k,
            "spearman_mean": summary["weighted"][str(k)]["spearman_mean"],
            "spearman_min": summary["weighted"][str(k)]["spearman_min"],
            "within_10_mean": summary["weighted"][str(k)]["within_10_mean"],
            "seeds": len(seeds),
        }
        for k in ks
    ]
    path = ROOT / "hwnas" / "data" / CURVE_FILE
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def previous(path: Path | None, note: str) -> dict[str, Any] | None:
    """The headline figures of an earlier run of the same seeds, and what changed since."""
    if path is None:
        return None
    old = json.loads(path.read_text())
    keys = ("spearman_mean", "spearman_min", "worst_device", "within_10_mean")
    return {
        "note": note,
        "date": old["date"],
        "seeds": old["seeds"],
        "summary": {
            choice: {k: {key: row[key] for key in keys} for k, row in by_k.items()}
            for choice, by_k in old["summary"].items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 (reported) or 100-104 (dev)")
    parser.add_argument("--ks", default="5,10,20,50")
    parser.add_argument("--curve", action="store_true", help=f"write hwnas/data/{CURVE_FILE}")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "zoo.json")
    parser.add_argument(
        "--previous",
        type=Path,
        help="an earlier results file of the same seeds, kept (its summary) in this one",
    )
    parser.add_argument("--previous-note", default="", help="what changed since --previous")
    parser.add_argument("--about", default="", help="what these seeds are (hold-out, dev ...)")
    args = parser.parse_args()
    seeds, ks = seeds_of(args.seeds), [int(v) for v in args.ks.split(",")]
    started = time.perf_counter()
    cells = Cells()
    frame = _zoo_frame()
    runs = []
    for device in ZOO_DEVICES:
        bases = zoo_bases(exclude=[device])
        truth = frame[f"latency_{device}_ms"].to_numpy()
        for k in ks:
            for seed in seeds:
                runs.append(
                    {
                        "device": device,
                        "k": k,
                        "seed": seed,
                        **one_run(cells, truth, bases, seed, k),
                    }
                )
        print(f"{device}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    summary = summarise(runs, ks)
    print_table(summary, ks)
    document = {
        **provenance("zoo: leave-one-device-out transfer from the NAS-Bench-201 device zoo"),
        "seeds": seeds,
        "ks": ks,
        "tuning": (
            "the design (log-linear Huber fit of each base, weighting by leave-one-out "
            "error with temperature 0.02, summary-feature correction with z unpenalised) "
            "was chosen on development seeds 100-104 (dev k=10: mean 0.952, worst 0.923 "
            "after the Huber correction)"
        ),
        "seeds_role": args.about,
        "protocol": (
            "per target device: bases = the other ten zoo tables; k cells of distinct "
            "equivalence classes drawn at random (seed); scored on every other cell of a "
            "class none of the k belongs to, as written; Spearman, within ±10%, MAPE; "
            "mean and std over seeds per device, then mean and worst across devices"
        ),
        "goal": "k = 10: mean Spearman >= 0.95 across devices, no device below 0.85",
        "seconds": round(time.perf_counter() - started, 1),
        "previous": previous(args.previous, args.previous_note),
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    if args.curve:
        print(f"wrote {write_curve(summary, ks, seeds)}")


if __name__ == "__main__":
    main()
