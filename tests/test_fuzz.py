"""A fuzz pass over the parsers users feed (issue 13, item 9): architecture strings of every
space, --shape, --budget, SSH targets, the TOML registry and table files. Any input gives a
result or an HwnasError (a ValueError where the parser documents one), never another
exception; through the CLI, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwnas.errors import HwnasError

# Reproducible in CI (same examples every run), no example database on disk.
FUZZ = settings(
    derandomize=True,
    database=None,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def near_nb201() -> st.SearchStrategy[str]:
    """Strings that look like NB201 cells, mutated: most inputs get past the first check."""
    edge = st.builds(
        lambda op, i: f"{op}~{i}",
        st.sampled_from([*NB201_OPS, "conv", "", "none~"]),
        st.integers(-2, 5),
    )
    node = st.lists(edge, min_size=0, max_size=4).map(lambda es: "|" + "|".join(es) + "|")
    return st.lists(node, min_size=0, max_size=5).map("+".join)


def space_names() -> list[str]:
    from hwnas.spaces import space_names as names

    return names()


@pytest.mark.parametrize("name", space_names())
@FUZZ
@given(text=st.one_of(st.text(max_size=80), near_nb201()))
def test_arch_strings_of_every_space(name: str, text: str) -> None:
    from hwnas.spaces import get_space

    space = get_space(name)
    try:
        canonical = space.canonical(text)
    except HwnasError:
        return
    assert space.canonical(canonical) == canonical  # what it accepts is stable


@FUZZ
@given(text=st.text(max_size=40))
def test_shape_specs(text: str) -> None:
    from hwnas.profiler.settings import parse_shape

    try:
        name, dims = parse_shape(text)
    except ValueError:
        return
    assert name and dims and all(isinstance(d, int) and d >= 1 for d in dims)


@FUZZ
@given(text=st.text(max_size=40))
def test_budget_specs(text: str) -> None:
    from hwnas.search.nsga import parse_budget

    try:
        metric, bound = parse_budget(text)
    except HwnasError:
        return
    assert metric.strip() == metric and metric and bound > 0


@FUZZ
@given(text=st.text(max_size=60))
def test_ssh_targets(text: str) -> None:
    from hwnas.cli.devices_cmd import parse_ssh_target

    try:
        user, host, port = parse_ssh_target(text)
    except HwnasError:
        return
    assert host and (port is None or 1 <= port <= 65535)


toml_like = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            [
                "[devices.pi]",
                "[devices]",
                'transport = "ssh"',
                'transport = "local"',
                "transport = 3",
                'address = "10.0.0.2"',
                "port = 70000",
                "port = -1",
                'port = "22"',
                "threads = 0",
                'python = ""',
                "[devices.pi.x]",
                '"devices" = 1',
                "=",
                "[[devices]]",
            ]
        ),
        max_size=8,
    ).map("\n".join),
)


@FUZZ
@given(text=toml_like)
def test_registry_files(tmp_path: Path, text: str) -> None:
    from hwnas.devices.registry import load_registry

    path = tmp_path / "devices.toml"
    path.write_text(text, encoding="utf-8")
    try:
        devices = load_registry(path)
    except HwnasError:
        return
    assert all(spec.name for spec in devices.values())


csv_like = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from(["arch", "latency_ms", "energy_mj", "nan", "inf", "-1", "", "1e400"]),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
            st.floats(allow_nan=True).map(str),
            near_nb201(),
        ),
        min_size=1,
        max_size=4,
    ).map(",".join),
    max_size=6,
).map("\n".join)


@FUZZ
@given(text=csv_like)
def test_table_files(tmp_path: Path, text: str) -> None:
    from hwnas.tables import read_table

    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    try:
        frame = read_table(path, metric="latency_ms")
    except HwnasError:
        return
    assert "arch" in frame.columns and "latency_ms" in frame.columns


@settings(derandomize=True, database=None, max_examples=60, deadline=None)
@given(
    shape=st.text(max_size=20),
    budget=st.text(max_size=20),
)
def test_the_cli_never_shows_a_traceback(shape: str, budget: str) -> None:
    import contextlib
    import io

    from hwnas.cli import main

    for argv in (
        ["profile", "missing.onnx", "--shape", shape, "--json"],
        ["search", "--space", "nb201", "--predictor", "nowhere", "--budget", budget, "-o", "x"],
    ):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        assert code != 0 and "Traceback" not in err.getvalue()
