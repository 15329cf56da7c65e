"""Running a contract's checks: the one loop behind ``hwnas.spaces.contract`` and
``hwnas.predictors.contract``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

E = TypeVar("E", bound=Exception)


def run_checks(
    checks: Iterable[Callable[[Any], None]],
    subject: Any,
    *,
    error_type: type[E],
    fail: Callable[[str, str], E],
    on_check: Callable[[str, E | None], None] | None = None,
) -> None:
    """Run each check on ``subject`` in order; raise the first failure. A check fails by
    raising ``error_type``; any other exception (a user's code may raise anything) is
    reported as that check's failure through ``fail(check_name, message)``.
    ``on_check(name, error_or_None)`` hears of each check that ran."""
    for check in checks:
        try:
            check(subject)
        except error_type as exc:
            if on_check:
                on_check(check.__name__, exc)
            raise
        except Exception as exc:  # noqa: BLE001 - the subject's own code may raise anything
            error = fail(check.__name__, f"{type(exc).__name__}: {exc}")
            if on_check:
                on_check(check.__name__, error)
            raise error from exc
        if on_check:
            on_check(check.__name__, None)
