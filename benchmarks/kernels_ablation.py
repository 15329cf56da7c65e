"""Scores the kernel predictor of a zoo run again with its corrections refitted on the
random networks of some generations only, against the truth that run measured: what a
generation of random networks adds, on the same truth (two runs of
``kernels_context.py`` measure the zoo twice, and sub-millisecond models move 5% in
half an hour). Measures nothing.

Reads ``benchmarks/results/RESULTS.json`` (written by ``kernels_context.py``: the zoo,
its per-model truth and the ``--labels`` files), the predictor and store that run built
in ``--out`` (``OUT/kernel_predictor``, ``OUT/kernels.db``, the exported zoo in
``OUT/zoo``), refits both corrections on the labelled networks of ``--generations``
alone (exactly as ``kernels_context.py`` refits them on all) and writes
``benchmarks/results/NAME.json`` in the zoo run's format (``rows``, ``corrected``,
``uncorrected``, bootstrap intervals), with the run it re-scores named.

Run (one core of its own is not needed: nothing is timed):
  .venv/bin/python benchmarks/kernels_ablation.py --results kernels_zoo8_v18 \\
      --out OUT --generations 2,3,4 --name kernels_zoo8_v18_without_g5
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import RESULTS, provenance  # noqa: E402


def generations(text: str) -> set[int]:
    """``2,3,4`` as a set of generations (1 to 10)."""
    try:
        found = {int(g) for g in text.split(",") if g.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of generations") from None
    if not found or not found <= set(range(1, 11)):
        raise argparse.ArgumentTypeError(f"{text!r}: generations are 1 to 10")
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="the zoo run: RESULTS/NAME.json")
    parser.add_argument("--out", type=Path, required=True, help="that run's --out")
    parser.add_argument(
        "--generations",
        type=generations,
        required=True,
        help="fit the corrections on the labelled networks of these generations, e.g. 2,3,4",
    )
    parser.add_argument("--name", required=True, help="writes RESULTS/NAME.json")
    args = parser.parse_args(argv)
    path = RESULTS / f"{args.results}.json"
    if not path.is_file():
        parser.error(f"--results {args.results}: no {path} (run kernels_context.py first)")
    for needed in ("kernel_predictor", "kernels.db", "zoo"):
        if not (args.out / needed).exists():
            parser.error(f"--out {args.out}: no {needed} there (the zoo run's --out)")
    return args


def ablated_labels(
    run: dict[str, Any], keep: set[int], profiled: set[int] | None = None
) -> dict[int, float]:
    """The zoo run's labels (ms by seed, at its first file's reference speed) of the
    generations in ``keep``, of the networks in ``profiled`` (those whose per-node
    profiles the store holds; the plan of the run's code may differ from this code's)."""
    from kernels_validate import generation, merged_labels

    files = [_labels_file(Path(p)) for p in run["settings"]["labels"] or []]
    if not files:
        raise SystemExit("the zoo run had no --labels: nothing to refit on")
    merged = merged_labels(files)
    return {
        s: ms
        for s, ms in merged.items()
        if generation(s) in keep and (profiled is None or s in profiled)
    }


def _labels_file(path: Path) -> Path:
    """A labels file the zoo run named: where it was, else the file of that name in
    benchmarks/results (the run may have been made from another checkout or worktree);
    exits naming both when neither exists."""
    if path.is_file():
        return path
    here = RESULTS / path.name
    if here.is_file():
        return here
    raise SystemExit(f"the zoo run's labels {path} are gone, and {here} does not exist either")


def profiled(predictor: Any, store: Path) -> set[int]:
    """Seeds of the random networks whose per-node profiles ``store`` holds for
    ``predictor``'s device and fingerprint."""
    from hwnas.predictors.kernel_context import context_profiles
    from hwnas.store import Store

    with Store(store) as db:
        key = {"device": predictor.device_, "fingerprint": predictor.fingerprint_}
        return set(context_profiles(db, **key))


def rescored_rows(run: dict[str, Any], predictor: Any, out: Path) -> list[dict[str, Any]]:
    """The zoo run's rows with ``predictor``'s predictions (same truth: the mean of the
    two measured passes)."""
    from kernels_context import score
    from realworld_zoo import export_zoo

    zoo = run["settings"]["zoo"]
    rows = None if zoo == 1 else importlib.import_module(f"realworld_zoo{zoo}").zoo()
    models = export_zoo(out / "zoo", rows)
    measured = {r["model"]: r["measured_ms"] for r in run["rows"]}
    missing = [name for _, name, _ in models if name not in measured]
    if missing:
        raise SystemExit(f"the zoo run has no truth for {', '.join(missing)}")
    first = [measured[name][0] for _, name, _ in models]
    second = [measured[name][1] for _, name, _ in models]
    return score(models, predictor, first, second)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("HWNAS_HOME", str(args.out / "hwnas_home"))
    from kernels_context import refit_context, rescore, summarise

    from hwnas.predictors.kernels import KernelPredictor

    clock = time.perf_counter()
    run = json.loads((RESULTS / f"{args.results}.json").read_text())
    predictor = KernelPredictor.load(args.out / "kernel_predictor")
    labels = ablated_labels(run, args.generations, profiled(predictor, args.out / "kernels.db"))
    if len(labels) < 8:
        raise SystemExit(
            f"--generations {sorted(args.generations)}: {len(labels)} labelled and profiled "
            "networks (the corrections need 8 or more)"
        )
    refit_context(predictor, labels, args.out / "kernels.db")
    rows = rescored_rows(run, predictor, args.out)
    doc = {
        **provenance(args.name),
        "seed": run["seed"],
        "rescored": args.results,
        "settings": {**run["settings"], "generations": sorted(args.generations)},
        "networks": len(labels),
        "context_correction": predictor.context_,
        "corrected": summarise(rows, "error_pct"),
        "uncorrected": summarise(rows, "raw_error_pct"),
        "retest_median_pct": run["retest_median_pct"],
        "rows": rows,
        "seconds": round(time.perf_counter() - clock, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    rescore(RESULTS / f"{args.name}.json")


if __name__ == "__main__":
    main()
