"""Which world a predictor's labels come from: one network per equivalence class, or
every spelling measured as written.

Many strings of a space name the same function (NAS-Bench-201: 15,625 cells, 6,466
classes). hwnas exports and measures one canonical network per class, so a store's
measurements are of the **canonical** form: every spelling of a class has the class's
value, and a predictor should see ``space.canonical(arch)``. A public table may instead
have been measured cell by cell **as written** (dead edges still run there, and cost
time): then two spellings of a class differ, and a predictor must see the string itself.

- :data:`ARCH_FORMS`, :func:`check_arch_form`;
- :func:`detect_arch_form`: the form a table shows (equal values within classes, or
  one spelling per class: canonical; spellings of a class that differ: as written),
  with the reason in words, for the artifact and the user;
- :func:`form_key`: what a predictor of a form looks architectures up by;
- :func:`written_as_is`: a view of a space whose ``canonical`` is the string itself, so
  a search over an as-written predictor tells every spelling apart.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hwnas.errors import ParameterError
from hwnas.spaces.base import SearchSpace

CANONICAL = "canonical"
AS_WRITTEN = "as-written"
#: The forms a predictor's architectures can take, and ``auto`` (detect from the data).
ARCH_FORMS = (CANONICAL, AS_WRITTEN)
AUTO = "auto"
#: Relative difference below which two values of one class count as the same value.
_SAME = 1e-9


def check_arch_form(form: str, *, allow_auto: bool = True) -> str:
    """``form`` if it is one of :data:`ARCH_FORMS` (or ``auto``); ``ParameterError``."""
    allowed = (*ARCH_FORMS, AUTO) if allow_auto else ARCH_FORMS
    if form not in allowed:
        raise ParameterError(
            "arch_form", f"must be one of {', '.join(allowed)} (--arch-form), got {form!r}"
        )
    return form


@dataclass(frozen=True)
class FormDecision:
    """A form and why it was chosen (said to the user and kept in the artifact)."""

    form: str
    reason: str


def _same(values: Sequence[float]) -> bool:
    low, high = min(values), max(values)
    return high - low <= _SAME * max(abs(high), abs(low), 1e-300)


def detect_arch_form(
    space: SearchSpace, archs: Sequence[str], values: Sequence[float] | np.ndarray
) -> FormDecision:
    """The form a table of ``values`` per ``archs`` (validated strings) shows.

    Classes the table writes in several spellings decide: when most of them give every
    spelling one value, one network was measured per class (canonical); when most
    differ, each spelling was measured as written. A table with one spelling per class
    is canonical when every row is in canonical form, else taken as measured as written
    (a sample of a public table of spellings, which rarely holds two of one class).
    """
    classes: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for arch, value in zip(archs, np.asarray(values, dtype=float).tolist(), strict=True):
        classes[space.canonical(arch)][arch].append(value)
    written = [c for c in classes.values() if len(c) > 1]
    if not written:
        return _one_spelling_each(classes)
    equal = sum(_same([float(np.median(v)) for v in c.values()]) for c in written)
    counted = f"{equal:,} of the {len(written):,} classes written in several spellings"
    if 2 * equal >= len(written):
        return FormDecision(
            CANONICAL, f"{counted} give every spelling the same value: one network per class"
        )
    return FormDecision(
        AS_WRITTEN,
        f"only {counted} give every spelling the same value: each spelling was measured "
        f"as written (dead edges and all)",
    )


def _one_spelling_each(classes: dict[str, dict[str, list[float]]]) -> FormDecision:
    """No class written twice: the spellings themselves tell. All in canonical form: a
    table of one network per class. Otherwise a sample of spellings as they were measured
    (public device tables measure every spelling; a handful of cells from one rarely
    holds two spellings of a class)."""
    if all(arch == canonical for canonical, c in classes.items() for arch in c):
        return FormDecision(
            CANONICAL,
            f"every one of its {len(classes):,} architectures is written in canonical form: "
            f"one network per equivalence class",
        )
    return FormDecision(
        AS_WRITTEN,
        f"its {len(classes):,} architectures are one spelling per class, not all in "
        f"canonical form: taken as measured as written (pass arch_form='canonical', "
        f"--arch-form canonical, if one network was measured per class)",
    )


def form_key(space: SearchSpace, form: str | None) -> Callable[[str], str]:
    """What a predictor of ``form`` looks an architecture up by: its canonical string, or
    the (validated) string itself for ``as-written`` and for predictors that predate
    forms (``None``), which learnt strings as given."""
    return space.canonical if form == CANONICAL else space.validate


def written_as_is(space: SearchSpace) -> SearchSpace:
    """A view of ``space`` whose ``canonical`` is ``validate``: every spelling its own
    class. Searching it (over an as-written predictor) samples, deduplicates and
    enumerates strings, not classes; everything else is ``space``'s own."""
    view = copy.copy(space)
    view.canonical = view.validate  # type: ignore[method-assign]
    return view


__all__ = [
    "ARCH_FORMS",
    "AS_WRITTEN",
    "AUTO",
    "CANONICAL",
    "FormDecision",
    "check_arch_form",
    "detect_arch_form",
    "form_key",
    "written_as_is",
]
