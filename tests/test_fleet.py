"""Fault-tolerant batches: reconnects, the job queue, --resume, several devices at once."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hwnas.cli import main
from hwnas.devices.local import LocalTransport
from hwnas.devices.transport import CompletedRun
from hwnas.errors import ConnectionLostError, ParameterError, UnreachableError
from hwnas.events import Event
from hwnas.profiler import api
from hwnas.profiler.batch import profile_batch, reconnect_with_backoff
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec
from hwnas.store import Store
from tests import onnx_models
from tests.helpers import interrupt_after, run_hwnas

FAST = ["--max-seconds", "0.3", "--target-ci", "0.05", "--warmup", "2"]
SETTINGS = ProfileSettings(max_seconds=0.3, target_ci=0.05, warmup=2)
SPEC = DeviceSpec(name="flaky", transport="local")


class FlakyTransport(LocalTransport):
    """A local transport whose link drops on chosen runner calls, then comes back (or not)."""

    def __init__(self, drop_on: set[int], *, comes_back_after: int = 0) -> None:
        super().__init__()
        self.calls = 0
        self.drop_on = drop_on
        self.reconnects = 0
        self.down_for = 0
        self.comes_back_after = comes_back_after

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        self.calls += 1
        if self.calls in self.drop_on:
            self.down_for = self.comes_back_after
            raise ConnectionLostError("the connection to flaky dropped (test)")
        return super().run(argv, timeout=timeout)

    def reconnect(self) -> None:
        self.reconnects += 1
        if self.down_for != 0:
            self.down_for -= 1
            raise UnreachableError("flaky is still away (test)")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("fleet-models")
    return [onnx_models.conv_model(folder / f"m{i}.onnx", channels=4 + i) for i in range(4)]


def test_a_dropped_link_is_reconnected_and_the_model_measured_once(models, tmp_path) -> None:
    transport = FlakyTransport(drop_on={2}, comes_back_after=2)
    naps: list[float] = []
    with Store(tmp_path / "s.db") as store:
        result = profile_batch(
            transport, SPEC, models, SETTINGS, sink=lambda m, _job: store.add(m), sleep=naps.append
        )
        stored = store.measurements()
    assert result.errors == [] and result.connection_lost is None and result.reconnects == 1
    assert [m.model_name for _, m in result.measurements] == [p.name for p in models]
    assert sorted(s.measurement.model_name for s in stored) == sorted(p.name for p in models)
    assert transport.reconnects == 3 and naps == [1.0, 2.0]  # two failed attempts, backoff


def test_a_device_that_stays_away_ends_the_batch_with_the_rest_left(models, tmp_path) -> None:
    transport = FlakyTransport(drop_on={3}, comes_back_after=10**6)
    clock = [0.0]

    def nap(seconds: float) -> None:
        clock[0] += seconds

    result = profile_batch(transport, SPEC, models, SETTINGS, reconnect_timeout=20, sleep=nap)
    assert len(result.measurements) == 2
    assert result.connection_lost and "--resume" in result.connection_lost
    assert [j.label for j in result.left] == [str(p) for p in models[2:]]


def test_backoff_doubles_up_to_the_timeout() -> None:
    transport = FlakyTransport(set(), comes_back_after=0)
    transport.down_for = 10**6
    now = [0.0]
    naps: list[float] = []

    def nap(s: float) -> None:
        naps.append(s)
        now[0] += s

    with pytest.raises(UnreachableError):
        reconnect_with_backoff(
            transport, timeout=100, should_stop=lambda: False, sleep=nap, clock=lambda: now[0]
        )
    assert naps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # the next 30 s would pass 100 s


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ctrl_c_then_resume_measures_each_model_exactly_once(models, tmp_path) -> None:
    store = tmp_path / "s.db"
    many = models + [
        onnx_models.conv_model(tmp_path / f"x{i}.onnx", channels=9 + i) for i in range(4)
    ]
    code, out, err = interrupt_after(
        ["profile", *map(str, many), "--max-seconds", "1", "--target-ci", "0.0001", "--json"],
        store,
        2,
    )
    assert code == 130, err
    doc = json.loads(out)
    assert doc["interrupted"] is True and doc["left"] >= 1
    assert "hwnas profile --resume" in err
    with Store(str(store)) as s:
        first = s.count()
        assert len(s.jobs(status="pending")) == len(many) - first
    code, out, err = run_hwnas(["profile", "--resume", *FAST, "--json"], store)
    assert code == 0, err
    assert len(json.loads(out)["measurements"]) == len(many) - first
    with Store(str(store)) as s:
        names = [x.measurement.model_name for x in s.measurements()]
        assert s.jobs(status="pending") == []
    assert sorted(names) == sorted(p.name for p in many)  # all of them, none twice
    code, out, err = run_hwnas(["profile", "--resume", "--json"], store)
    assert code == 0 and json.loads(out)["measurements"] == []
    assert "nothing to resume" in err


def test_resume_takes_no_models_and_a_missing_file_fails_only_its_job(
    capsys, models, tmp_path
) -> None:
    code, _, err = run_cli(capsys, "profile", "--resume", models[0])
    assert code == 2 and "--resume finishes queued jobs" in err
    store = tmp_path / "s.db"
    gone = onnx_models.conv_model(tmp_path / "gone.onnx", channels=3)
    from hwnas.store import NewJob

    with Store(store) as s:
        s.add_jobs(
            "b",
            "local",
            [NewJob(str(p), str(p), None, SETTINGS.to_dict()) for p in (gone, models[0])],
        )
    gone.unlink()
    code, out, err = run_cli(capsys, "profile", "--resume", "--json", "--store", store)
    assert code == 1
    doc = json.loads(out)
    assert len(doc["measurements"]) == 1 and len(doc["errors"]) == 1
    assert "does not exist" in doc["errors"][0]["message"]
    with Store(store) as s:
        assert [j.status for j in s.jobs()] == ["failed", "done"]


def test_two_devices_are_measured_in_parallel(capsys, models, tmp_path, monkeypatch) -> None:
    home = Path(os.environ["HWNAS_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "devices.toml").write_text('[devices.cpu2]\ntransport = "local"\n')
    store = tmp_path / "s.db"
    # The records keep no start time, so the progress events, timed as they arrive, say
    # when each job ran: "start" just before its runner, "done" just after.
    events: list[tuple[float, Event]] = []
    real_run_fleet = api.run_fleet

    def timed_run_fleet(plans: Any, **kwargs: Any) -> Any:
        shown = kwargs["progress"]

        def progress(event: Event) -> None:
            events.append((time.monotonic(), event))
            shown(event)

        return real_run_fleet(plans, **{**kwargs, "progress": progress})

    monkeypatch.setattr(api, "run_fleet", timed_run_fleet)
    code, out, err = run_cli(
        capsys,
        "profile",
        *models[:2],
        "--device",
        "local,cpu2",
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    doc = json.loads(out)
    pairs = sorted((m["device"], m["model_name"]) for m in doc["measurements"])
    assert pairs == sorted((d, p.name) for d in ("local", "cpu2") for p in models[:2])
    with Store(store) as s:
        for device in ("local", "cpu2"):
            runs = sorted((x.measurement.timestamp, x.id) for x in s.measurements(device=device))
            assert len(runs) == 2
    jobs: dict[tuple[str | None, str | None], list[float]] = {}
    for at, event in events:
        if event.kind in ("start", "done"):
            jobs.setdefault((event.device, event.label), []).append(at)
    assert sorted(len(times) for times in jobs.values()) == [2, 2, 2, 2]  # a start, a done
    spans = {
        device: [times for (d, _), times in jobs.items() if d == device]
        for device in ("local", "cpu2")
    }
    # Run one device after the other and no job of one overlaps a job of the other.
    overlap = max(
        min(a_done, b_done) - max(a_start, b_start)
        for a_start, a_done in spans["local"]
        for b_start, b_done in spans["cpu2"]
    )
    assert overlap > 0, jobs
    code, _, err = run_cli(capsys, "profile", models[0], "--device", "local,local")
    assert code == 2 and "names a device twice" in err
    code, _, err = run_cli(capsys, "profile", models[0], "--device", "local,nope")
    assert code == 2 and "unknown device 'nope'" in err


class DropsOnModel(LocalTransport):
    """A link that drops every time one particular model runs (as a model that kills the
    link or reboots the device would); the device is back at once after each drop."""

    def __init__(self, bad: Path) -> None:
        super().__init__()
        self.bad = str(bad.resolve())
        self.runs: Counter[str] = Counter()  # runner calls per model file name
        self.reconnects = 0

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        model = next((str(a) for a in argv if str(a).endswith(".onnx")), "")
        self.runs[Path(model).name] += 1
        if model == self.bad:
            if self.runs[Path(model).name] > 20:  # without a cap the batch never ends
                raise AssertionError("the same job was retried without limit")
            raise ConnectionLostError("the connection to flaky dropped (test)")
        return super().run(argv, timeout=timeout)

    def reconnect(self) -> None:
        self.reconnects += 1


def test_a_model_that_drops_the_link_every_time_fails_after_three_attempts(models) -> None:
    transport = DropsOnModel(models[1])
    failed: list[tuple[str, dict[str, str]]] = []
    result = profile_batch(
        transport, SPEC, models, SETTINGS, on_failed=lambda j, e: failed.append((j.label, e))
    )
    assert [m.model_name for _, m in result.measurements] == [
        p.name for p in models if p != models[1]
    ]
    assert transport.runs == {p.name: 3 if p == models[1] else 1 for p in models}
    (error,) = result.errors
    assert error["model"] == str(models[1]) and error["error"] == "connection_lost"
    assert "dropped 3 times while measuring this model" in error["message"]
    assert "max_attempts= (--max-attempts)" in error["message"]
    assert failed == [(str(models[1]), error)]
    assert result.connection_lost is None and result.left == [] and not result.interrupted
    assert result.reconnects == transport.reconnects == 3  # back for the next model


def test_max_attempts_reaches_the_store_through_the_api_and_the_cli(
    capsys, monkeypatch, models, tmp_path
) -> None:
    from hwnas.devices import registry
    from hwnas.profiler import api

    transports: list[DropsOnModel] = []

    def connect(spec: DeviceSpec) -> DropsOnModel:
        transports.append(DropsOnModel(models[2]))
        return transports[-1]

    monkeypatch.setattr(registry, "connect", connect)
    store = tmp_path / "s.db"
    result = api.profile(
        models, store=store, errors="collect", max_attempts=2, **SETTINGS.to_dict()
    )
    assert sorted(m.model_name for m in result) == sorted(p.name for p in models if p != models[2])
    assert [e["model"] for e in result.errors] == [str(models[2])]
    assert transports[0].runs[models[2].name] == 2
    with Store(store) as s:
        (bad,) = s.jobs(status="failed")
        assert bad.label == str(models[2]) and len(s.jobs(status="done")) == 3
        assert s.jobs(status="pending") == [] and s.count() == 3
    assert bad.error is not None and "dropped 2 times" in bad.error["message"]

    other = tmp_path / "cli.db"
    code, out, err = run_cli(
        capsys, "profile", *models, "--max-attempts", "1", *FAST, "--json", "--store", other
    )
    assert code == 1, err
    doc = json.loads(out)
    assert len(doc["measurements"]) == 3 and transports[-1].runs[models[2].name] == 1
    (error,) = doc["errors"]
    assert error["model"] == str(models[2]) and "dropped once" in error["message"]
    code, _, err = run_cli(capsys, "profile", models[0], "--max-attempts", "0")
    assert code == 2 and "--max-attempts must be an int >= 1, got 0" in err
    with pytest.raises(ParameterError, match="max_attempts must be an int >= 1"):
        api.profile(models[0], store=store, max_attempts=0)
