"""Queued jobs of a user's own space (given as ``package.module:Class``) can be resumed by
another process: each job records where its space is loaded from."""

from __future__ import annotations

from pathlib import Path

from hwnas.profiler import api
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import Arch
from hwnas.spaces import get_space, space_reference
from hwnas.store import NewJob, Store
from tests.toy_space import ToySpace

SETTINGS = ProfileSettings(max_seconds=0.2, target_ci=0.05, warmup=2)
TOY = "tests.toy_space:ToySpace"


def test_a_registered_space_is_referred_to_by_name_any_other_by_module_and_class() -> None:
    assert space_reference(get_space("nb201")) == "nb201"
    assert space_reference(ToySpace()) == TOY
    assert type(get_space(space_reference(ToySpace()))) is ToySpace

    class Renamed(ToySpace):  # a subclass wearing a built-in's name is not the built-in
        name = "nb201"

    assert space_reference(Renamed()) == f"{__name__}:{Renamed.__qualname__}"


def queued(store: Path, ref: str | None, archs: list[str]) -> None:
    settings = {**SETTINGS.to_dict(), "exporter": "torchscript"}
    if ref is not None:
        settings["space_ref"] = ref
    with Store(store) as s:
        s.add_jobs(
            "b1", "local", [NewJob(a, None, Arch(space="toy", string=a), settings) for a in archs]
        )


def test_profile_space_queues_the_reference_and_resume_exports_from_it(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    result = api.profile_space(
        TOY, archs=["c4-c8"], store=store, exporter="torchscript", **SETTINGS.to_dict()
    )
    assert result.ok and len(result) == 1
    with Store(store) as s:
        (job,) = s.jobs()
    assert job.settings["space_ref"] == TOY and job.arch == Arch(space="toy", string="c4-c8")
    # Jobs left queued by an earlier run (its process gone): the space is loaded again.
    queued(store, TOY, ["c8-c16", "c16-c4"])
    resumed = api.resume(store=store)
    assert resumed.ok and sorted(m.arch.string for m in resumed if m.arch) == ["c16-c4", "c8-c16"]
    assert all(m.arch and m.arch.space == "toy" for m in resumed)


def test_jobs_whose_space_cannot_be_loaded_are_skipped_and_stay_queued(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    queued(store, "tests.no_such_module:Gone", ["c4-c4", "c8-c8"])
    queued(store, None, ["c16-c16"])  # a name that is registered nowhere: "toy"
    result = api.resume(store=store)
    assert len(result) == 0 and len(result.skipped_jobs) == 3
    reasons = {j["model"]: j["reason"] for j in result.skipped_jobs}
    assert "'tests.no_such_module:Gone' cannot be loaded here" in reasons["c4-c4"]
    assert "cannot import 'tests.no_such_module'" in reasons["c4-c4"]
    assert "'toy' cannot be loaded here" in reasons["c16-c16"]
    assert any("cancel_jobs(device='local')" in n for n in result.notes)
    with Store(store) as s:
        assert [j.status for j in s.jobs()] == ["pending"] * 3
