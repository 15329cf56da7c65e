"""Table devices: a benchmark table registered as a device (`devices add --table`)."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.devices.registry import connect, get_device, load_registry
from hwnas.devices.table import load_table, table_device_spec
from hwnas.errors import DataError, ProfileError, TableDeviceError
from hwnas.records import Arch, DeviceSpec
from hwnas.spaces import get_space
from hwnas.store import NewJob, Store
from tests.data_files import raspi4_csv

TOY = "tests.toy_space:ToySpace"
RASPI4 = raspi4_csv()
TOY_LATENCY = {
    f"c{a}-c{b}": float(a + b) / 4
    for a in (4, 8, 16)
    for b in (4, 8, 16)  # every toy architecture, 9 rows
}


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_csv(path: Path, rows: dict[str, float] | list[dict[str, object]]) -> Path:
    if isinstance(rows, dict):
        rows = [{"arch": a, "latency_ms": v} for a, v in rows.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def add_table_device(name: str, table: Path, space: str = TOY) -> DeviceSpec:
    from hwnas.devices.registry import add_device

    spec, _ = table_device_spec(name, table, space)
    add_device(spec)
    return spec


def raspi4() -> pd.DataFrame:
    return pd.read_csv(RASPI4)


# -- registering ----------------------------------------------------------------------


def test_add_records_an_absolute_path_and_the_content_hash(capsys, tmp_path, monkeypatch) -> None:
    write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        capsys, "devices", "add", "toybench", "--table", "toy.csv", "--space", TOY, "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["table"]["rows"] == 9 and doc["table"]["metrics"] == ["latency_ms"]
    spec = load_registry()["toybench"]
    assert spec.transport == "table" and spec.space == TOY
    assert spec.table == str(tmp_path / "toy.csv") and Path(spec.table).is_absolute()
    assert spec.table_sha256 == load_table(tmp_path / "toy.csv", get_space(TOY)).sha256
    listed = json.loads(run_cli(capsys, "devices", "list", "--json")[1])["devices"]
    assert {"name": "toybench", "transport": "table", "table": spec.table}.items() <= next(
        d for d in listed if d["name"] == "toybench"
    ).items()
    code, out, _ = run_cli(capsys, "devices", "list")
    assert code == 0 and "toybench" in out and "table" in out


def test_device_spec_of_a_table_and_old_registries(tmp_path) -> None:
    with pytest.raises(DataError, match="needs a table file and a space"):
        DeviceSpec(name="t", transport="table")
    with pytest.raises(DataError, match="for transport table only"):
        DeviceSpec(name="t", transport="ssh", address="h", table="/x.csv", space="nb201")
    old = tmp_path / "devices.toml"
    old.write_text('[devices.pi]\ntransport = "ssh"\naddress = "10.0.0.2"\nuser = "pi"\n')
    assert load_registry(old)["pi"].table is None
    spec = DeviceSpec(name="t", transport="table", table="/x.csv", space="nb201")
    assert DeviceSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(TableDeviceError, match="is a table device"):
        connect(spec)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name,latency_ms\nc4-c4,1.0\n", r"lacks the column\(s\) arch"),
        ("arch,accuracy\nc4-c4,0.9\n", r"lacks the column\(s\) latency_ms or"),
        ("arch,energy_mj\nc4-c4,0.9\n", "has no latency_ms column"),
        ("arch,latency_ms\nc4-c4,1.0\nc4-c8,fast\n", r"row 2 \(line 3 of the file\)"),
        ("arch,latency_ms\nc4-c4,1.0\nc4-c8,2.0\nc4-c4,3.0\n", r"row 1 .*row 3 \(line 4"),
        ("arch,latency_ms\nc4-c4,1.0\nc4-c99,2.0\n", r"row 2 \(line 3 of the file\).*c99"),
        ("arch,latency_ms\nc4-c4,1.0\nc4-c8,\n", r"no latency_ms value: row 2"),
        ("arch,latency_ms\nc4-c4,-1.0\n", "cannot be negative"),
        ("arch,latency_ms\n", "no rows"),
    ],
    ids=[
        "no-arch",
        "no-metric",
        "energy-only",
        "non-numeric",
        "duplicate",
        "not-in-space",
        "empty-latency",
        "negative",
        "empty",
    ],
)
def test_malformed_tables_are_refused_naming_the_row(
    capsys, tmp_path, content: str, expected: str
) -> None:
    table = tmp_path / "bad.csv"
    table.write_text(content)
    code, _, err = run_cli(capsys, "devices", "add", "bad", "--table", table, "--space", TOY)
    assert code == 2
    assert "bad.csv" in err
    assert re.search(expected, " ".join(err.split())), err
    assert "bad" not in load_registry()


def test_duplicate_rows_with_one_value_are_merged(tmp_path) -> None:
    table = write_csv(
        tmp_path / "dup.csv",
        [{"arch": "c4-c4", "latency_ms": 1.0}, {"arch": "c4-c4", "latency_ms": 1.0}],
    )
    loaded = load_table(table, get_space(TOY))
    assert loaded.rows == 2 and dict(loaded.values) == {"c4-c4": {"latency_ms": 1.0}}


def test_add_refuses_bad_options(capsys, tmp_path) -> None:
    table = write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    code, _, err = run_cli(capsys, "devices", "add", "t", "--table", table)
    assert code == 2 and "--space" in err
    code, _, err = run_cli(capsys, "devices", "add", "t", "--table", table, "--ssh", "a@b")
    assert code == 2 and "exactly one" in err
    code, _, err = run_cli(capsys, "devices", "add", "t", "--table", table, "--space", "nosuch")
    assert code == 2 and "nosuch" in err
    code, _, err = run_cli(
        capsys, "devices", "add", "t", "--table", tmp_path / "gone.csv", "--space", TOY
    )
    assert code == 2 and "gone.csv" in err and "does not exist" in err
    assert "t" not in load_registry()


# -- profiling ------------------------------------------------------------------------


def test_profile_a_sample_then_the_same_command_reuses_it(capsys, tmp_path) -> None:
    table = write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    add_table_device("toybench", table)
    argv = ["profile", "--space", TOY, "--sample", 5, "--device", "toybench", "--json"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    doc = json.loads(out)
    measured = doc["measurements"]
    assert len(measured) == 5 and doc["errors"] == []
    for m in measured:
        assert m["latency_ms"]["median"] == TOY_LATENCY[m["arch"]["string"]]
        assert m["latency_ms"]["n"] == 1 and m["device"] == "toybench"
        assert m["fingerprint"]["execution_provider"] == "table"
        assert m["energy_mj"] is None and m["peak_memory_mb"] is None
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    again = json.loads(out)
    assert again["measurements"] == [] and again["reused"][0]["count"] == 5
    code, _, err = run_cli(capsys, *argv[:-1], "--threads", "2")  # settings do not matter
    assert code == 0 and "skipped 5 architecture(s)" in err
    with Store(os.environ["HWNAS_STORE"]) as store:
        assert len(store.measurements(device="toybench")) == 5


def test_nothing_is_exported_for_a_table_device(tmp_path, monkeypatch) -> None:
    from hwnas.spaces import SearchSpace

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a table device exported a model")

    monkeypatch.setattr(SearchSpace, "to_onnx", refuse)
    add_table_device("pi", RASPI4, "nb201")
    result = hwnas.profile_space("nb201", sample=100, seed=1, device="pi")
    assert len(result) == 100 and result.ok


def test_python_api_gives_the_tables_values(tmp_path) -> None:
    add_table_device("pi", RASPI4, "nb201")
    store = tmp_path / "api.db"
    result = hwnas.profile_space("nb201", sample=20, seed=7, device="pi", store=store)
    rows = raspi4().set_index("arch")["latency_ms"]
    assert len(result) == 20 and len(result.ids) == 20
    for m in result:
        assert m.arch is not None and m.latency_ms.median == rows[m.arch.string]
        assert m.latency_ms.n == 1 and m.samples_ms == (m.latency_ms.median,)
        assert m.settings["table_keyed"] == "exact"
    again = hwnas.profile_space("nb201", sample=20, seed=7, device="pi", store=store)
    assert len(again) == 0 and sorted(again.skipped) == sorted(m.arch.string for m in result)
    fresh = hwnas.profile_space("nb201", sample=20, seed=7, device="pi", store=store, fresh=True)
    assert len(fresh) == 20


def canonical_classes() -> dict[str, list[str]]:
    """NB201's equivalence classes in the raspi4 table: canonical -> the members."""
    space = get_space("nb201")
    classes: dict[str, list[str]] = defaultdict(list)
    for arch in raspi4()["arch"]:
        classes[space.canonical(arch)].append(arch)
    return classes


def test_a_table_with_one_spelling_per_class_is_looked_up_by_canonical_form(tmp_path) -> None:
    space = get_space("nb201")
    rows = raspi4().set_index("arch")["latency_ms"]
    members = [
        next(a for a in arch_list if a != c)
        for c, arch_list in canonical_classes().items()
        if len(arch_list) > 1
    ][:30]
    table = write_csv(tmp_path / "classes.csv", {a: rows[a] for a in members})
    assert load_table(table, space).keyed == "canonical"
    add_table_device("classes", table, "nb201")
    canonical = [space.canonical(a) for a in members]
    assert not set(canonical) & set(members)  # the table holds none as looked up
    result = hwnas.profile_space("nb201", archs=canonical, device="classes")
    assert [m.latency_ms.median for m in result] == [rows[a] for a in members]
    assert {m.settings["table_keyed"] for m in result} == {"canonical"}


def test_a_canonical_table_answers_for_any_member_of_a_class(tmp_path) -> None:
    space = get_space("nb201")
    classes = {c: m for c, m in canonical_classes().items() if len(m) > 1}
    chosen = list(classes)[:10]
    table = write_csv(tmp_path / "canon.csv", {c: float(i + 1) for i, c in enumerate(chosen)})
    loaded = load_table(table, space)
    assert loaded.keyed == "canonical"
    other = next(a for a in classes[chosen[3]] if a != chosen[3])
    assert loaded.lookup(space.validate(other)) == {"latency_ms": 4.0}


def test_a_table_of_every_spelling_is_looked_up_by_the_exact_string(tmp_path) -> None:
    space = get_space("nb201")
    klass = next(m for m in canonical_classes().values() if len(m) > 2)
    table = write_csv(tmp_path / "exact.csv", {a: float(i + 1) for i, a in enumerate(klass)})
    loaded = load_table(table, space)
    assert loaded.keyed == "exact"
    assert [loaded.lookup(space.validate(a))["latency_ms"] for a in klass] == [
        float(i + 1) for i in range(len(klass))
    ]


def test_an_architecture_the_table_lacks_fails_its_job_and_the_batch_goes_on(
    capsys, tmp_path
) -> None:
    table = write_csv(tmp_path / "partial.csv", {"c4-c4": 1.0, "c8-c8": 2.0})
    add_table_device("partial", table)
    result = hwnas.profile_space(
        TOY, archs=["c4-c4", "c16-c16", "c8-c8"], device="partial", errors="collect"
    )
    assert [m.arch.string for m in result if m.arch] == ["c4-c4", "c8-c8"]
    (error,) = result.errors
    assert error["error"] == "not_in_table" and error["model"] == "c16-c16"
    assert "c16-c16" in error["message"] and str(table) in error["message"]
    assert "lacks" in error["message"]
    with Store(os.environ["HWNAS_STORE"]) as store:
        failed = store.jobs(status="failed", device="partial")
        assert [j.label for j in failed] == ["c16-c16"]
    with pytest.raises(ProfileError, match="c16-c16"):
        hwnas.profile_space(TOY, archs=["c16-c16"], device="partial", fresh=True)
    code, _, err = run_cli(capsys, "profile", "--space", TOY, "--sample", 9, "--device", "partial")
    assert code == 1 and "lacks the architecture" in " ".join(err.split())


def test_an_onnx_file_on_a_table_device_is_a_job_error(capsys, tmp_path, conv_onnx) -> None:
    add_table_device("toybench", write_csv(tmp_path / "toy.csv", TOY_LATENCY))
    result = hwnas.profile([conv_onnx], device="toybench", errors="collect")
    assert len(result) == 0
    (error,) = result.errors
    assert error["error"] == "not_in_table" and "table device" in error["message"]
    code, out, err = run_cli(capsys, "profile", conv_onnx, "--device", "toybench", "--json")
    assert code == 1
    assert "architectures of its space" in json.loads(out)["errors"][0]["message"]


def test_energy_and_memory_columns_land_in_the_measurements(tmp_path) -> None:
    rows = [
        {"arch": "c4-c4", "latency_ms": 1.5, "energy_mj": 3.25, "peak_memory_mb": 12.0},
        {"arch": "c8-c8", "latency_ms": 2.5, "energy_mj": None, "peak_memory_mb": 20.5},
    ]
    add_table_device("full", write_csv(tmp_path / "full.csv", rows))
    by_arch = {
        m.arch.string: m
        for m in hwnas.profile_space(TOY, archs=["c4-c4", "c8-c8"], device="full")
        if m.arch
    }
    assert by_arch["c4-c4"].energy_mj == 3.25 and by_arch["c4-c4"].energy_method == "table"
    assert by_arch["c4-c4"].peak_memory_mb == 12.0
    assert by_arch["c8-c8"].energy_mj is None and by_arch["c8-c8"].energy_method is None
    assert by_arch["c8-c8"].peak_memory_mb == 20.5 and by_arch["c8-c8"].latency_ms.median == 2.5


def test_gzipped_and_parquet_tables(tmp_path) -> None:
    csv = write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    gz = tmp_path / "toy.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    parquet = tmp_path / "toy.parquet"
    pd.read_csv(csv).to_parquet(parquet, index=False)
    for name, table in (("gz", gz), ("pq", parquet)):
        add_table_device(name, table)
        result = hwnas.profile_space(TOY, archs=["c8-c16"], device=name)
        assert result[0].latency_ms.median == TOY_LATENCY["c8-c16"]
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(b"arch,latency_ms\nc4-c4,1\nc4-c8,slow\n"))
    with pytest.raises(DataError, match="row 2") as caught:
        load_table(bad, get_space(TOY))
    assert str(bad) in caught.value.message and "hwnas-table-" not in caught.value.message
    (tmp_path / "junk.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_table(tmp_path / "junk.csv.gz", get_space(TOY))


def test_a_changed_table_is_a_new_fingerprint_with_a_note(capsys, tmp_path) -> None:
    table = write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    add_table_device("toybench", table)
    first = hwnas.profile_space(TOY, archs=["c4-c4", "c8-c8"], device="toybench")
    assert first.notes == []
    write_csv(table, {**TOY_LATENCY, "c4-c4": 99.0})
    second = hwnas.profile_space(TOY, archs=["c4-c4", "c8-c8"], device="toybench")
    assert len(second) == 2  # measured again: not reused across fingerprints
    assert second[0].fingerprint.hash != first[0].fingerprint.hash
    assert second[0].latency_ms.median == 99.0
    assert any("has changed since it was registered" in n for n in second.notes)
    code, out, _ = run_cli(capsys, "devices", "show", "toybench", "--json")
    assert code == 0 and json.loads(out)["device"]["table_status"] == "changed since registration"
    code, out, err = run_cli(capsys, "devices", "check", "toybench", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report"]["changed"] is True and "changed" in doc["problems"][0]["what"]


def test_a_missing_table_is_a_clear_error(capsys, tmp_path) -> None:
    table = write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    add_table_device("toybench", table)
    table.unlink()
    with pytest.raises(TableDeviceError, match="does not exist any more") as caught:
        hwnas.profile_space(TOY, sample=2, device="toybench")
    assert str(table) in caught.value.message and "devices add toybench" in caught.value.message
    code, _, err = run_cli(capsys, "profile", "--space", TOY, "--sample", 2, "-d", "toybench")
    assert code == 2 and "toy.csv" in err
    code, out, _ = run_cli(capsys, "devices", "show", "toybench", "--json")
    assert code == 0 and json.loads(out)["device"]["table_status"] == "missing"
    code, _, err = run_cli(capsys, "devices", "check", "toybench")
    assert code == 2 and "does not exist any more" in " ".join(err.split())


def test_a_space_the_table_does_not_hold_is_a_clear_error(capsys, tmp_path) -> None:
    add_table_device("toybench", write_csv(tmp_path / "toy.csv", TOY_LATENCY))
    with pytest.raises(TableDeviceError, match="table of toy architectures") as caught:
        hwnas.profile_space("nb201", sample=3, device="toybench")
    assert "nb201" in caught.value.message
    code, _, err = run_cli(capsys, "profile", "--space", "nb201", "--sample", 3, "-d", "toybench")
    assert code == 2 and "cannot measure nb201" in " ".join(err.split())
    with Store(os.environ["HWNAS_STORE"]) as store:
        assert store.jobs(device="toybench") == []  # refused before anything was queued


def test_queued_jobs_of_a_table_device_resume(tmp_path) -> None:
    add_table_device("toybench", write_csv(tmp_path / "toy.csv", TOY_LATENCY))
    from hwnas.profiler.settings import ProfileSettings

    settings = ProfileSettings().to_dict()
    with Store(os.environ["HWNAS_STORE"]) as store:
        store.add_jobs(
            "b1",
            "toybench",
            [
                NewJob(a, None, Arch(space="toy", string=a), {**settings, "space_ref": TOY})
                for a in ("c4-c16", "c16-c4")
            ],
        )
    result = hwnas.resume(device="toybench")
    assert sorted(m.latency_ms.median for m in result) == [5.0, 5.0] and result.ok
    with Store(os.environ["HWNAS_STORE"]) as store:
        assert {j.status for j in store.jobs(device="toybench")} == {"done"}


# -- checking -------------------------------------------------------------------------


def test_devices_check_reports_the_table_without_running_python(
    capsys, tmp_path, monkeypatch
) -> None:
    import hwnas.devices.registry as registry

    def no_transport(*args: object, **kwargs: object) -> None:
        raise AssertionError("devices check connected to a table device")

    monkeypatch.setattr(registry, "connect", no_transport)
    table = write_csv(tmp_path / "toy.csv", TOY_LATENCY)
    spec = add_table_device("toybench", table)
    code, out, err = run_cli(capsys, "devices", "check", "toybench", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ready"] is True and doc["problems"] == []
    report = doc["report"]
    assert report["rows"] == 9 and report["metrics"] == ["latency_ms"]
    assert report["sha256"] == spec.table_sha256 and report["table"] == str(table)
    assert report["keyed"] == "canonical"
    code, out, _ = run_cli(capsys, "devices", "check", "toybench")
    assert code == 0 and "9 (9 architectures)" in out and spec.table_sha256[:20] in out
    code, out, _ = run_cli(capsys, "devices", "show", "toybench", "--json")
    assert json.loads(out)["device"] == {
        "name": "toybench",
        "transport": "table",
        "table": str(table),
        "space": TOY,
        "table_sha256": spec.table_sha256,
        "table_status": "unchanged",
    }
    assert get_device("toybench") == spec
