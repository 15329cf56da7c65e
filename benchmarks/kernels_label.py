"""Labels random context networks by reference ratio, without validating anything: for a
build that plans more networks than ``kernels_validate.py --fit F --val V`` labelled
(``--context 1800`` plans 300 of each generation; the validation labels the first 200),
so that ``kernels_context.py --labels`` holds every network the build planned.

Measures the networks of seeds ``--first .. --first + --count - 1`` of one generation
twice beside the reference model (the protocol of ``kernels_validate.reference_labels``)
and writes ``benchmarks/results/NAME.labels.json`` in the same format
(``reference_ms``, ``labels``: ms by seed at the reference's typical speed), plus the
test-retest of the two passes.

Run (pinned to the build's core):
  flock /tmp/hwnas-bench.lock taskset -c 1 .venv/bin/python benchmarks/kernels_label.py \\
      --generation 2 --first 200 --count 100 --reference ref.onnx --name NAME
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import RESULTS  # noqa: E402
from kernels_validate import reference_labels  # noqa: E402

from hwnas.predictors.kernel_context import generation_firsts  # noqa: E402

#: The first seed of each generation a build plans (the second to the tenth).
FIRST_SEED = dict(enumerate(generation_firsts(), 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--generation", type=int, choices=sorted(FIRST_SEED), required=True)
    parser.add_argument("--first", type=int, default=0, help="index of the first network")
    parser.add_argument("--count", type=int, default=100, help="how many networks")
    parser.add_argument("--reference", type=Path, required=True, help="the reference model")
    parser.add_argument("--max-seconds", type=float, default=2.0)
    parser.add_argument("--name", required=True, help="writes RESULTS/NAME.labels.json")
    args = parser.parse_args()
    if args.first < 0 or args.count < 1:
        parser.error("--first must be >= 0 and --count >= 1")
    if not args.reference.is_file():
        parser.error(
            f"--reference {args.reference}: no such file "
            "(benchmarks/reference.py --write-reference PATH writes one)"
        )
    start = FIRST_SEED[args.generation] + args.first
    seeds = list(range(start, start + args.count))
    labels, retest = reference_labels(seeds, args.reference, args.max_seconds)
    path = RESULTS / f"{args.name}.labels.json"
    doc = {"reference_ms": retest["reference_ms"], "labels": labels, "retest": retest}
    path.write_text(json.dumps(doc) + "\n")
    print(path, json.dumps(retest))


if __name__ == "__main__":
    main()
