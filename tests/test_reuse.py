"""A stored measurement is reused only when it measured the same thing: same device,
same fingerprint and the same settings that change the result (``RESULT_SETTINGS``).

The tests that take ``store_url`` (tests/conftest.py) run on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwnas.events import Event
from hwnas.profiler import api
from hwnas.profiler.settings import ProfileSettings
from hwnas.store import RESULT_SETTINGS, Store, settings_key
from tests.toy_space import ToySpace

FAST = {"max_seconds": 0.3, "target_ci": 0.2, "warmup": 1, "min_runs": 5}


def test_the_key_defaults_are_the_protocol_defaults() -> None:
    defaults = ProfileSettings().to_dict()
    # Every setting of the protocol is in the key but the seed of the random inputs, and
    # the energy idle time, which counts only when it is not its default (older keys).
    assert set(defaults) - set(RESULT_SETTINGS) == {"seed", "energy_idle_seconds"}
    assert set(RESULT_SETTINGS) - set(defaults) == {"reference", "exporter"}
    assert {k: defaults[k] for k in defaults if k not in ("seed", "energy_idle_seconds")} == {
        k: v for k, v in RESULT_SETTINGS.items() if k in defaults
    }
    assert ProfileSettings().result_key() == settings_key({})
    assert ProfileSettings(seed=7).result_key() == settings_key({})
    assert ProfileSettings(max_seconds=1).result_key() != settings_key({})
    assert ProfileSettings().result_key(exporter="dynamo") != settings_key({})
    rapl = ProfileSettings(energy="rapl")
    assert ProfileSettings(energy="rapl", energy_idle_seconds=1.0).result_key() == (
        rapl.result_key()
    )
    assert ProfileSettings(energy="rapl", energy_idle_seconds=3).result_key() != (rapl.result_key())
    assert ProfileSettings(energy_idle_seconds=3).result_key() == settings_key({})


def test_the_reference_counts_by_its_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"one")
    b.write_bytes(b"one")

    def key(path: Path) -> str:
        return ProfileSettings(reference=str(path)).result_key()

    assert key(a) == key(b)  # a copy elsewhere is the same reference
    b.write_bytes(b"two")
    assert key(a) != key(b)  # an edited one is not
    gone = key(tmp_path / "gone.onnx")  # a file that is gone matches nothing, raises nothing
    assert gone not in (key(a), key(b), ProfileSettings().result_key())


def test_other_settings_measure_again_and_the_same_are_reused(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    space = ToySpace()
    archs = space.sample_distinct(3, 2)
    common = {"archs": archs, "store": store, "exporter": "torchscript", **FAST}
    first = api.profile_space(space, **common)
    assert len(first) == 2 and first.skipped == [] and first.reused == []
    # Another time budget: a different measurement, taken (before the fix: 0 measured).
    longer = api.profile_space(space, **{**common, "max_seconds": 0.4})
    assert sorted(m.arch.string for m in longer if m.arch) == sorted(archs)
    assert longer.skipped == [] and longer.reused == []
    # Another reference model between the runs: taken too.
    referenced = api.profile_space(space, reference="builtin", **common)
    assert len(referenced) == 2 and referenced.skipped == []
    with Store(store) as s:
        assert s.count(space="toy") == 6
    # The same settings (the seed of the random inputs aside): all reused, and said why.
    events: list[Event] = []
    again = api.profile_space(space, seed=9, progress=events.append, **common)
    assert len(again) == 0 and sorted(again.skipped) == sorted(archs)
    (reused,) = again.reused
    assert reused == {
        "device": "local",
        "count": 2,
        "fingerprint": first[0].fingerprint_hash,
        "settings_key": ProfileSettings.from_options(**FAST).result_key(exporter="torchscript"),
        "reason": "already measured under this fingerprint with the same settings",
    }
    assert again.to_dict()["reused"] == [reused]
    planned = next(e for e in events if e.kind == "planned")
    assert (planned.total, planned.skipped) == (0, 2)
    assert len(api.profile_space(space, reference="builtin", **common)) == 0
    with Store(store) as s:
        assert s.count(space="toy") == 6
        assert s.count(space="toy", settings_key=reused["settings_key"]) == 2


def test_fresh_measures_again_whatever_is_stored(store_url: str) -> None:
    store = store_url
    space = ToySpace()
    common = {"sample": 2, "seed": 3, "store": store, "exporter": "torchscript", **FAST}
    first = api.profile_space(space, **common)
    again = api.profile_space(space, **common)  # without fresh: reused
    assert len(again) == 0 and len(again.skipped) == 2
    fresh = api.profile_space(space, fresh=True, **common)
    assert sorted(m.arch.string for m in fresh if m.arch) == sorted(
        m.arch.string for m in first if m.arch
    )
    assert fresh.skipped == [] and set(fresh.ids).isdisjoint(first.ids)
    with Store(store) as s:
        assert s.count(space="toy") == 4
    with pytest.raises(ValueError, match="fresh must be True or False, got 'yes'"):
        api.profile_space(space, fresh="yes", **common)  # type: ignore[arg-type]
