"""Per-model overhead of profiling over SSH (loopback) against the local path (issue 5).

Starts OpenSSH's sshd on 127.0.0.1 (as the tests do), then profiles the same 20 small
models three ways with the same settings: locally, over SSH with nothing on the
"device" yet (runner and models uploaded), and over SSH again (everything staged).
The overhead of a model is its wall time minus the runner's own timing loop
(``elapsed_s``); the figure that matters is how much SSH adds to the local overhead.

Run:  .venv/bin/python benchmarks/ssh.py [--models 20]   (needs /usr/sbin/sshd)
      [--results benchmarks/results/ssh.json]

Writes benchmarks/results/ssh.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import provenance, started, write_results  # noqa: E402
from hwnas.devices.local import LocalTransport  # noqa: E402
from hwnas.devices.ssh import SSHTransport  # noqa: E402
from hwnas.profiler.batch import profile_batch  # noqa: E402
from hwnas.profiler.settings import ProfileSettings  # noqa: E402
from hwnas.records import DeviceSpec  # noqa: E402
from tests import onnx_models  # noqa: E402
from tests.sshd import SSHServer  # noqa: E402

SETTINGS = ProfileSettings(max_seconds=0.5, target_ci=0.02, warmup=5)


def overheads(transport, spec: DeviceSpec, models: list[Path]) -> tuple[list[float], float]:
    """(per-model wall time minus timing loop, total wall time)."""
    walls: list[float] = []
    marks: list[float] = []

    def on_start(_label: str) -> None:
        marks.append(time.perf_counter())

    def on_done(_label: str, m, e) -> None:
        if e is not None:
            raise SystemExit(f"profiling failed: {e.message}")
        walls.append(time.perf_counter() - marks[-1] - float(m.settings["elapsed_s"]))

    start = time.perf_counter()
    profile_batch(transport, spec, models, SETTINGS, on_start=on_start, on_done=on_done)
    return walls, time.perf_counter() - start


def measure(n_models: int) -> dict[str, tuple[list[float], float]]:
    """Per path (local, SSH with uploads, SSH staged): per-model overheads, batch wall."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = [
            onnx_models.conv_model(folder / f"m{i:02d}.onnx", channels=3 + i, size=16)
            for i in range(n_models)
        ]
        server = SSHServer.start(folder / "sshd")
        try:
            spec = server.device_spec(
                "loopback", known_hosts=server.known_hosts(folder), workdir=folder / "device"
            )
            local_spec = DeviceSpec(name="local", transport="local")
            runs = {}
            runs["local"] = overheads(LocalTransport(), local_spec, models)
            with SSHTransport(spec) as ssh:
                runs["ssh, first time (uploads)"] = overheads(ssh, spec, models)
                uploads = ssh.uploads
                runs["ssh, staged"] = overheads(ssh, spec, models)
                assert ssh.uploads == uploads, "staged files were sent again"
        finally:
            server.stop()
    return runs


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--results", type=Path, default=None, help="results file")
    args = parser.parse_args(argv)
    start = started()
    runs = measure(args.models)
    base = statistics.median(runs["local"][0])
    doc: dict[str, Any] = provenance("ssh")
    print(f"SSH overhead on loopback, {args.models} models ({doc['machine']}, {doc['python']})")
    print("| path | overhead per model, median s | p90 s | vs local, s | batch wall s |")
    print("|---|---|---|---|---|")
    rows = []
    for name, (walls, total) in runs.items():
        med = statistics.median(walls)
        p90 = statistics.quantiles(walls, n=10)[-1]
        rows.append(
            {
                "path": name,
                "median_s": med,
                "p90_s": p90,
                "extra_s": med - base,
                "batch_s": total,
                "overheads_s": walls,
            }
        )
        print(f"| {name} | {med:.3f} | {p90:.3f} | {med - base:+.3f} | {total:.1f} |")
    doc |= {
        "seed": 0,  # tests.onnx_models.conv_model draws its weights with seed 0
        "settings": {"models": args.models, "profile": SETTINGS.to_dict()},
        "summary": {"extra_s_median": {r["path"]: r["extra_s"] for r in rows}},
        "rows": rows,
    }
    path = write_results(doc, start, args.results)
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
