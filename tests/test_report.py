"""What a search leaves in its directory (search.json's provenance and convergence,
history.parquet, the plots) and `hwnas report DIR`, opened in a real headless Chromium.

The browser is Debian's ``chromium`` package, which ``.ci/setup`` installs; without it
the browser test fails (it is the only way to know the page renders).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import ParameterError
from hwnas.search.api import SearchResult
from hwnas.search.report import write_report
from hwnas.spaces import get_space
from tests.test_verify import TABLE, table_device, truth  # noqa: F401  (fixtures)

NB201 = get_space("nb201")
BUDGET = 25.0


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A LightGBM latency predictor from 100 rows of the raspi4 table."""
    rows = pd.read_csv(TABLE).sample(100, random_state=0)
    csv = tmp_path_factory.mktemp("table") / "raspi4-100.csv"
    rows.to_csv(csv, index=False)
    return hwnas.train_predictor(space="nb201", metric="latency_ms", table=csv, seed=0)


@pytest.fixture(scope="module")
def saved(predictor, tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchResult, Path]:
    result = hwnas.search(
        space="nb201",
        predictors=[predictor],
        budgets={"latency_ms": BUDGET},
        population=20,
        generations=6,
        seed=0,
    )
    return result, result.save(tmp_path_factory.mktemp("search") / "out")


def test_search_json_records_versions_predictors_and_convergence(saved, predictor) -> None:
    result, out = saved
    doc = json.loads((out / "search.json").read_text())
    assert {"hwnas", "python", "onnxruntime", "lightgbm", "pymoo"} <= set(doc["versions"])
    ident = doc["predictors"]["latency_ms"]
    assert ident["kind"] == "lightgbm" and ident["metric"] == "latency_ms"
    assert ident["training_hash"] == predictor.training_hash_ and ident["n_train"] == 100
    rows = doc["convergence"]
    assert [r["generation"] for r in rows] == [h["generation"] for h in doc["history"]]
    curve = [r["hypervolume"] for r in rows]
    assert curve == sorted(curve) and curve[-1] == pytest.approx(result.hypervolume)
    assert rows[-1]["random_search_hypervolume"] == pytest.approx(result.random_search_hypervolume)
    for name in ("pareto.png", "convergence.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_history_holds_every_evaluated_architecture_with_its_generation(saved) -> None:
    result, out = saved
    history = pd.read_parquet(out / "history.parquet")
    assert len(history) == result.evaluated == history["arch"].nunique()
    assert {"arch", "generation", "accuracy", "latency_ms", "feasible", "degenerate"} <= set(
        history.columns
    )
    per_generation = history.groupby("generation").size()
    assert list(per_generation.index) == list(range(1, result.generations + 1))
    assert (per_generation <= result.population).all()
    assert (history["feasible"] == (history["latency_ms"] <= BUDGET)).all()
    disconnected = history["arch"].map(NB201.is_disconnected)
    assert (history["degenerate"] == disconnected).all()
    # Chance on CIFAR-10, wherever the search went into a cell that computes nothing.
    assert (history.loc[history["degenerate"], "accuracy"] < 11).all()
    assert {c.arch for c in result.pareto} <= set(history["arch"])
    loaded = SearchResult.load(out)
    pd.testing.assert_frame_equal(loaded.evaluated_frame(), history)
    assert loaded.convergence == result.convergence and loaded.versions == result.versions


def test_degenerate_members_are_flagged_and_left_out_of_the_plots(predictor, tmp_path) -> None:
    from hwnas.search.report import _pareto_figure

    result = hwnas.search(
        space="nb201", predictors=[predictor], budgets={"latency_ms": BUDGET}, strategy="exhaustive"
    )
    flagged = [c for c in result.pareto if c.arch in result.degenerate]
    assert flagged, "the fastest cells compute nothing: some are on the predicted front"
    assert all(NB201.is_disconnected(c.arch) and c.accuracy < 11 for c in flagged)
    assert json.loads((result.save(tmp_path) / "search.json").read_text())["degenerate"]
    drawn = [y for trace in _pareto_figure(result).data for y in trace.y]
    assert min(drawn) > 11  # the axis is not stretched down to chance
    html = (write_report(tmp_path)).read_text()
    assert html.count('class="degenerate"') == len(flagged)
    assert "degenerate Pareto member(s)" in html


def test_a_directory_without_search_json_names_the_fix(tmp_path, capsys) -> None:
    with pytest.raises(ParameterError, match=r"holds no search.json: run `hwnas search"):
        write_report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "DIR" in err and "hwnas search" in err and "-o" in err


def test_the_cli_writes_the_report_and_prints_the_pareto_table(saved, capsys) -> None:
    result, out = saved
    assert main(["report", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"{out / 'report.html'}" in captured.err.replace("\n", "")
    for c in result.pareto:
        assert c.arch[:20] in captured.out
    assert main(["report", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == str(out / "report.html")
    assert [p["arch"] for p in doc["pareto"]] == [c.arch for c in result.pareto]


# -- the report in a real browser -----------------------------------------------------

#: Put first in <head> of a copy of the page: any script error or console.error lands in
#: the DOM that --dump-dom prints.
CATCHER = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
const __err = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); __err(...a); };
window.addEventListener('load', () => setTimeout(() => {
  const p = document.createElement('pre'); p.id = 'caught-errors';
  p.textContent = JSON.stringify(window.__errors); document.body.appendChild(p);
}, 0));
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "chromium is missing: run .ci/setup, which installs Debian's chromium package "
            "(or apt-get install -y chromium)"
        )
    return found


def browse(page: Path, *flags: str) -> subprocess.Popen[str]:
    """Chromium opening ``page`` headless, started (``communicate`` waits for it)."""
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    args += ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *flags]
    return subprocess.Popen(
        [*args, page.as_uri()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_the_report_renders_in_a_headless_browser(
    table_device,  # noqa: F811
    truth,  # noqa: F811
    tmp_path: Path,
) -> None:
    from PIL import Image

    device, store = table_device
    predictor = hwnas.train_predictor(space="nb201", device=device, store=store, seed=0)
    budget = float(np.median(list(truth.values())))
    result = hwnas.search(
        space="nb201",
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": budget},
        strategy="exhaustive",
        verify=device,
        rounds=2,
        verify_per_round=6,
    )
    out = result.save(tmp_path / "out")
    history = pd.read_parquet(out / "history.parquet")
    assert set(history["round"]) == {1, 2} and history["latency_ms_measured"].notna().any()
    assert {r["round"] for r in result.convergence} == {1, 2}
    page = write_report(out)
    checked = out / "checked.html"
    checked.write_text(page.read_text().replace("<head>", "<head>\n" + CATCHER, 1))

    started = time.perf_counter()
    shot = tmp_path / "shot.png"
    browsers = [
        browse(checked, f"--screenshot={shot}", "--window-size=1200,2600"),
        browse(checked, "--dump-dom"),
    ]
    (_, shot_err), (text, dom_err) = (b.communicate(timeout=120) for b in browsers)
    seconds = time.perf_counter() - started
    assert shot.is_file(), shot_err[-2000:]
    assert browsers[1].returncode == 0, dom_err[-2000:]

    image = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in image[::7].tolist()}
    assert len(colours) > 100, f"the screenshot looks blank ({len(colours)} colours)"
    plot_area = np.all(image == (229, 236, 246), axis=1).sum()  # plotly's plot background
    pareto_blue = np.all(np.abs(image.astype(int) - (31, 119, 180)) < 8, axis=1).sum()
    assert plot_area > 50_000 and pareto_blue > 20, (plot_area, pareto_blue)

    assert text.count('class="main-svg"') >= 4  # two plots, two layers each
    assert text.count('class="point') >= len(result.pareto)  # one path per point
    for c in result.pareto:
        assert c.arch in text
    assert 'id="pareto-table"' in text and 'id="verify-table"' in text
    advice = result.verify["advice"] if result.verify else None
    assert ("the front was still improving" in text) == (advice is not None)
    assert text.count("<tr") >= len(result.pareto) + 2
    caught = text.split('id="caught-errors">', 1)[1].split("</pre>", 1)[0]
    assert caught == "[]", caught
    console = [line for line in dom_err.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "rror" in line], console
    assert seconds < 60, f"the browser took {seconds:.1f} s"


def test_the_verify_section_shows_the_advice_to_measure_more() -> None:
    from types import SimpleNamespace

    from hwnas.search.report import _verify_table

    verify = {
        "device": "pi <4>",
        "per_round": [{"round": 1, "predicted_front": 3, "measured": 2, "over_budget": 0}],
        "pareto_rounds": {"a": 1},
        "stopped": None,
        "measured_before": 5,
        "advice": "the front was still improving: 1 of the 1 returned <architecture>",
    }
    result = SimpleNamespace(verify=verify, measurements=2, convergence=[])
    page = _verify_table(result)  # type: ignore[arg-type]
    assert "the front was still improving: 1 of the 1 returned &lt;architecture&gt;" in page
    assert "improving" not in _verify_table(
        SimpleNamespace(verify={**verify, "advice": None}, measurements=2, convergence=[])
    )  # type: ignore[arg-type]
