"""`hwnas spaces list | show | check`: the registered search spaces and their contract."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from hwnas.cli._common import JsonOption, err, fail, note, out, print_json
from hwnas.errors import HwnasError

app = typer.Typer(help="Search spaces: list them, describe one, check a space of your own.")

SpaceArgument = typer.Argument(
    ..., help="A registered name (see `hwnas spaces list`) or package.module:ClassName."
)


def _summary(name: str) -> dict[str, Any]:
    from hwnas.spaces import get_space

    try:
        space = get_space(name)
        low, _ = space.bounds()
        doc = (type(space).__doc__ or "").strip().splitlines()
        return {
            "name": name,
            "size": space.size(),
            "genes": int(low.size),
            "input_shape": list(space.input_shape()),
            "doc": doc[0] if doc else "",
            "error": None,
        }
    except HwnasError as exc:  # a broken entry point must not hide the others
        return {
            "name": name,
            "size": None,
            "genes": None,
            "input_shape": None,
            "doc": "",
            "error": exc.message,
        }


@app.command("list")
def list_spaces(as_json: bool = JsonOption) -> None:
    """The search spaces you can use: built-in and registered by entry points."""
    from hwnas.spaces import space_names

    rows = [_summary(name) for name in space_names()]
    if as_json:
        print_json({"spaces": rows})
        return
    table = Table(title="Search spaces", title_justify="left")
    for col in ("name", "architectures", "genes", "input", "what"):
        table.add_column(
            col, justify="right" if col in {"architectures", "genes"} else "left", overflow="fold"
        )
    for r in rows:
        if r["error"]:
            table.add_row(r["name"], "—", "—", "—", f"[red]cannot load:[/red] {r['error']}")
        else:
            table.add_row(
                r["name"],
                f"{r['size']:,}",
                str(r["genes"]),
                "x".join(map(str, r["input_shape"])),
                r["doc"],
            )
    out.print(table)
    note("details: hwnas spaces show NAME; your own: --space package.module:ClassName")


@app.command("show")
def show_space(
    name: str = SpaceArgument,
    arch: str | None = typer.Option(
        None, "--arch", help="Describe this architecture instead of a sampled example."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Size, encoding and an example architecture of one space (or the one of --arch)."""
    from hwnas.spaces import get_space

    try:
        space = get_space(name)
        info = space.describe()
        if arch is not None:
            info["example"] = space.validate(arch)
            info["example_encoding"] = [int(g) for g in space.encode(arch)]
        example = info["example"]
        info["example_canonical"] = space.canonical(example)
        info["example_blocks"] = len(space.blocks(example))
        info["example_flops"] = space.flops(example)
        info["example_params"] = space.params(example)
        info["feature_count"] = len(space.feature_names())
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(info)
        return
    bounds = info["bounds"]
    distinct = sorted({tuple(b) for b in bounds})
    gene_text = ", ".join(
        f"{sum(1 for b in bounds if tuple(b) == d)}× [{d[0]}, {d[1]}]" for d in distinct
    )
    table = Table(show_header=False, title=f"Search space {info['name']}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field, value in (
        ("what", info["doc"]),
        ("architectures", f"{info['size']:,}"),
        ("encoding", f"{info['genes']} integer genes: {gene_text}"),
        ("input", "x".join(map(str, info["input_shape"]))),
        ("example (seed 0)" if arch is None else "architecture", example),
        ("its encoding", " ".join(map(str, info["example_encoding"]))),
        ("its canonical form", info["example_canonical"]),
        ("its blocks", str(info["example_blocks"])),
        ("its MACs / params", f"{info['example_flops']:,} / {info['example_params']:,}"),
        ("predictor features", str(info["feature_count"])),
    ):
        table.add_row(field, value)
    out.print(table)


@app.command("check")
def check(
    name: str = SpaceArgument,
    export: bool = typer.Option(True, "--export/--no-export", help="Include the ONNX check."),
    as_json: bool = JsonOption,
) -> None:
    """Run the search-space contract on a space (yours, typically); exit 1 if it breaks."""
    from hwnas.spaces import get_space
    from hwnas.spaces.contract import ContractError, check_space

    results: list[dict[str, Any]] = []

    def on_check(check_name: str, error: ContractError | None) -> None:
        results.append(
            {
                "check": check_name,
                "ok": error is None,
                "message": None if error is None else error.message,
            }
        )
        if not as_json:
            mark = "[green]ok[/green]  " if error is None else "[red]FAIL[/red]"
            err.print(f"{mark} {check_name}")

    try:
        space = get_space(name)
        check_space(space, export=export, on_check=on_check)
    except ContractError as exc:
        if as_json:
            print_json({"space": name, "ok": False, "checks": results})
        else:
            err.print(exc.message, soft_wrap=True)
        raise typer.Exit(1) from None
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"space": name, "ok": True, "checks": results})
    else:
        note(f"{name}: all {len(results)} contract checks passed")
