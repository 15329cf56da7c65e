"""Build the NAS-Bench-201 device zoo that hwnas ships: ``hwnas/data/nb201_zoo.parquet``.

The zoo is eleven public NB201 latency tables (HELP, MIT; see ``hwnas/data/SOURCES.md``).
Two of them (raspi4, gold_6226) already ship in ``hwnas/data/nb201.parquet``; this script
writes the other nine as one zstd-compressed Parquet file of latency columns
(``latency_<device>_ms``, float64, values copied unchanged), one row per cell in the
official NAS-Bench-201 index order (the order of ``nb201.parquet``, checked here). The
zoo's base predictors (``hwnas.predictors.zoo.zoo_bases``) are these tables: for an
enumerable space the complete measured table is the most accurate predictor of its
device there is, and it costs no training.

The learning curve shipped beside it (``nb201_zoo_curve.parquet``) comes from
``benchmarks/zoo.py``.

Run:  .venv/bin/python benchmarks/zoo_build.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwnas.data import nb201_table  # noqa: E402
from hwnas.predictors.zoo import SHIPPED_APART, ZOO_DEVICES, ZOO_FILE  # noqa: E402


def read_device(data: Path, device: str) -> pd.DataFrame:
    """The public table of ``device`` (CSV or gzipped CSV: index, arch, latency_ms)."""
    for name in (f"nb201_latency_{device}.csv", f"nb201_latency_{device}.csv.gz"):
        if (data / name).exists():
            return pd.read_csv(data / name)
    raise SystemExit(f"no table of {device} in {data}; pass --data DIR holding SOURCES.md")


def build(data: Path, out: Path) -> pd.DataFrame:
    """Read, check against ``nb201.parquet`` and write the zoo's latency columns."""
    reference = nb201_table()
    columns: dict[str, pd.Series] = {}
    for device in ZOO_DEVICES:
        table = read_device(data, device)
        if table["arch"].tolist() != reference["arch"].tolist():
            raise SystemExit(f"{device}: rows are not in the official NAS-Bench-201 order")
        if device in SHIPPED_APART:
            shipped = reference[f"latency_{device}_ms"].to_numpy()
            if not (shipped == table["latency_ms"].to_numpy()).all():
                raise SystemExit(f"{device}: differs from the copy in nb201.parquet")
            continue
        columns[f"latency_{device}_ms"] = table["latency_ms"].astype("float64")
    frame = pd.DataFrame(columns)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        out,
        compression="zstd",
        compression_level=19,
    )
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "hwnas" / "data" / ZOO_FILE)
    args = parser.parse_args()
    frame = build(args.data, args.out)
    print(f"wrote {args.out}: {frame.shape[1]} devices, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
