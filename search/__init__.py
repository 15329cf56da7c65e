"""Multi-objective search under hardware budgets; calling this package runs one.

``hwnas.search`` is both this subpackage (``hwnas.search.strategies``: the search
strategies, nsga2, random, regevo, exhaustive and auto, and the random-search baseline;
``hwnas.search.nsga``: candidates, fronts, budgets and NSGA-II;
``hwnas.search.accuracy``: accuracy sources; ``hwnas.search.api``: the documented
call) and the function
:func:`hwnas.search.api.search`::

    import hwnas

    result = hwnas.search(space="nb201", predictors={"latency_ms": pred},
                          budgets={"latency_ms": 15})

The module object is callable (its class is a ``types.ModuleType`` subclass whose
``__call__`` runs the search), so the call works whether ``hwnas.search`` was reached
through ``hwnas``'s lazy attribute or imported first (``import hwnas.search.nsga``).
``from hwnas.search import search`` gives the plain function.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

from hwnas.search.api import Candidate, SearchResult, search

__all__ = ["Candidate", "SearchResult", "search"]


class _CallableModule(types.ModuleType):
    """The module ``hwnas.search``, which calling runs :func:`hwnas.search.api.search`."""

    def __call__(self, **arguments: Any) -> SearchResult:
        return search(**arguments)


#: What ``inspect.signature(hwnas.search)`` (and so IDEs and ``help``) show: the function's.
__signature__ = inspect.signature(search)

sys.modules[__name__].__class__ = _CallableModule
