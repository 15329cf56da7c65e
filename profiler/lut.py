"""Building lookup tables: every distinct block of a space, measured once on a device.

A space's ``distinct_blocks()`` become a *block set*, a pseudo-space named
``"<space>:blocks"`` whose "architectures" are block keys (``Block.key``). Each block is
exported as a one-block ONNX model (content-hashed and cached like whole networks) and
measured by the same runner, protocol and fleet as any model, so a block measurement is
an ordinary :class:`~hwnas.records.Measurement` with
``arch = Arch(space="<space>:blocks", string=block.key)``. That buys, unchanged:
skipping blocks already measured under the device's fingerprint
(``hwnas.profiler.fleet.plan_missing``), the job queue (Ctrl-C, ``--resume``, reconnects), the
store's export and listing commands, and fingerprint bookkeeping.

Block models are exported *before* their jobs are queued, and each job carries the
file's path: a queued block job is then an ordinary file job that ``hwnas profile
--resume`` can finish too (a job whose file has vanished is exported again through the
block set by whoever resumes with a space loader that knows it, ``hwnas lut build``).

:func:`measure_lut` is the measuring half of ``hwnas.build_lut``: the blocks a table
lacks, then the whole networks it is calibrated and checked on.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwnas.devices.transport import Transport
from hwnas.events import ProgressCallback
from hwnas.executors import ambient_executor
from hwnas.export import (
    DEFAULT_EXPORTER,
    AheadTask,
    Exported,
    ExportedFile,
    ExportError,
    cached_export,
    check_exporter,
    content_key,
    default_cache,
    exported_file,
    exporting_ahead,
    submitting_ahead,
)
from hwnas.profiler.batch import probe_fingerprint
from hwnas.profiler.contention import local_contention
from hwnas.profiler.fleet import DevicePlan, SpaceSample, plan_missing
from hwnas.profiler.settings import ProfileSettings
from hwnas.profiler.stage import StageOutcome, StoreLike, opened_store, run_stage
from hwnas.records import Arch, DeviceSpec, Fingerprint
from hwnas.sources import ModelSource
from hwnas.spaces import get_space
from hwnas.spaces.base import Block, SearchSpace, SpaceError
from hwnas.store import Job, Store

#: What ``block_space_name`` appends to a space's name.
BLOCKS_SUFFIX = ":blocks"
#: Bump when the way a block becomes an ONNX file changes (invalidates cached block files).
BLOCK_EXPORT_FORMAT_VERSION = 1
#: Blocks export as everything does by default (``hwnas.export.DEFAULT_EXPORTER``): a space
#: has hundreds to thousands of blocks.
DEFAULT_BLOCK_EXPORTER = DEFAULT_EXPORTER


#: A pseudo-block measured with every table: the identity on one number, i.e. the cost of
#: one inference call and nothing else (the runner's floor). Each block timed alone pays
#: it once, a network pays it once in all, so the predictor subtracts it per block.
FLOOR_BLOCK = Block("runner_floor", (1,), (1,), {})


def block_space_name(space_name: str) -> str:
    """The ``Arch.space`` under which the blocks of space ``space_name`` are stored."""
    return f"{space_name}{BLOCKS_SUFFIX}"


#: A block's file in the export cache (the one cache of ``hwnas.export``).
ExportedBlock = Exported


def block_export_key(
    space: SearchSpace, block: Block, *, opset: int = 18, exporter: str = DEFAULT_BLOCK_EXPORTER
) -> str:
    """Content hash of everything a block's file depends on (``hwnas.export.content_key``):
    the space (its identity, which covers how it builds modules), the block key, torch's
    version, opset, exporter."""
    subject = {"block": block.key, "kind": "block"}
    return content_key(
        space,
        subject,
        block.input_shape,
        opset=opset,
        exporter=exporter,
        format=BLOCK_EXPORT_FORMAT_VERSION,
    )


def export_block(
    space: SearchSpace,
    block: Block,
    *,
    cache: str | Path | None = None,
    opset: int = 18,
    exporter: str = DEFAULT_BLOCK_EXPORTER,
) -> Exported:
    """The ONNX file of one block (``space.block_to_torch(block)``; the identity for
    :data:`FLOOR_BLOCK`), exported once and then served from the export cache
    (``hwnas.export.cached_export``; ``<cache_dir>/onnx`` by default).

    Raises ``ExportError`` (the export failed or the cache is not writable),
    ``ParameterError`` (unknown exporter) and ``SpaceError`` (the space has no
    lookup-table support).
    """
    key = block_export_key(space, block, opset=opset, exporter=check_exporter(exporter))

    def module() -> Any:
        return _floor_module() if block == FLOOR_BLOCK else space.block_to_torch(block)

    return cached_export(
        key,
        module,
        block.input_shape,
        record={"space": space.name, "block": block.key},
        cache=cache,
        opset=opset,
        exporter=exporter,
    )


def export_block_in_worker(
    space: SearchSpace, block: Block, exporter: str, opset: int = 18
) -> ExportedFile:
    """:func:`export_block` in a worker's own cache, returned with the file's bytes (what
    an executor runs: ``hwnas.export.submitting_ahead``)."""
    return exported_file(
        lambda: export_block(space, block, cache=default_cache(), opset=opset, exporter=exporter)
    )


def _floor_module() -> Any:
    from torch import nn

    return nn.Identity()


class BlockSet:
    """The distinct blocks of a space as a pseudo-space the profiler can measure.

    ``name`` is ``"<space>:blocks"``; an "architecture" is a block key and ``to_onnx``
    exports that block. It has just what the fleet uses of a space (``name``,
    ``to_onnx``), so ``hwnas.profiler.fleet`` measures blocks without knowing they are blocks.
    The set holds :data:`FLOOR_BLOCK` first, then ``space.distinct_blocks()``. Raises
    ``SpaceError`` when the space has no lookup-table support.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        exporter: str = DEFAULT_BLOCK_EXPORTER,
        cache: str | Path | None = None,
        opset: int = 18,
    ) -> None:
        self.space = space
        self.name = block_space_name(space.name)
        self.exporter = check_exporter(exporter)
        self.cache = cache
        self.opset = opset
        distinct = space.distinct_blocks()
        if not distinct:
            raise SpaceError(f"space {space.name!r} lists no blocks in distinct_blocks()")
        self._blocks = {b.key: b for b in [FLOOR_BLOCK, *distinct]}

    def __len__(self) -> int:
        return len(self._blocks)

    def keys(self) -> list[str]:
        """Block keys in the space's order."""
        return list(self._blocks)

    def block(self, key: str) -> Block:
        try:
            return self._blocks[key]
        except KeyError:
            raise SpaceError(
                f"space {self.space.name!r} has no block {key!r} in distinct_blocks(); was "
                f"the job queued by another version of the space?"
            ) from None

    def record(self, key: str) -> Arch:
        """The ``Arch`` a measurement of block ``key`` carries."""
        return Arch(space=self.name, string=self.block(key).key)

    def export(self, key: str, *, exporter: str | None = None) -> Exported:
        """The ONNX file of block ``key`` in the export cache (exported once, then cached);
        raises ``ExportError``."""
        return export_block(
            self.space,
            self.block(key),
            cache=self.cache,
            opset=self.opset,
            exporter=exporter or self.exporter,
        )

    def to_onnx(self, key: str, *, exporter: str | None = None) -> Path:
        """Path of the ONNX file of block ``key`` (exported once, then cached)."""
        return self.export(key, exporter=exporter).path

    def exporting_ahead(self, executor: Any) -> contextlib.AbstractContextManager[int]:
        """While the block runs, every block's export (those not cached) runs on
        ``executor``, ahead of whoever needs the files (``hwnas.export.submitting_ahead``);
        nothing when the set has a cache of its own."""
        if self.cache is not None:
            return contextlib.nullcontext(0)
        tasks: list[AheadTask] = []
        for key in self.keys():
            block = self.block(key)
            export_key = block_export_key(
                self.space, block, opset=self.opset, exporter=self.exporter
            )
            args = (self.space, block, self.exporter, self.opset)
            tasks.append((export_key, export_block_in_worker, args))
        return submitting_ahead(executor, tasks)

    def loader(self) -> Callable[[str], ModelSource]:
        """A fleet ``space_loader`` that knows this block set and its space by name (other
        names: ``hwnas.spaces.get_space``)."""

        def load(name: str) -> ModelSource:
            if name == self.name:
                return self
            return self.space if name == self.space.name else get_space(name)

        return load


@dataclass
class BlockPlan:
    """What ``plan_blocks`` found and queued for one device."""

    fingerprint: Fingerprint
    total: int  # blocks in the set: the space's distinct blocks and the runner floor
    skipped: list[str] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    exported: int = 0  # exported now (the rest of the queued ones came from the cache)


def plan_blocks(
    store: Store,
    spec: DeviceSpec,
    settings: ProfileSettings,
    blocks: BlockSet,
    *,
    batch: str,
    connect: Callable[[DeviceSpec], Transport],
    progress: ProgressCallback | None = None,
) -> BlockPlan:
    """Queue the blocks not yet measured on ``spec`` under its current fingerprint.

    Reads the device's fingerprint with ``settings`` (threads and graph optimization are
    part of it), skips the blocks the store already has under it, exports the others
    (a ``step`` event of stage ``"export"`` on ``progress`` after each) and queues one job
    per block, each with its file's path (``hwnas.profiler.fleet.plan_missing``). A block
    that fails to export is queued without a path: measuring it exports again and records
    the error as that job's failure, like any bad model. Returns the plan; run its jobs
    with ``hwnas.profiler.fleet.run_fleet``.
    """
    with connect(spec) as transport:
        fingerprint = probe_fingerprint(transport, settings, spec)
    keys = blocks.keys()
    plan = BlockPlan(fingerprint=fingerprint, total=len(keys))

    def model_path(arch: Arch) -> str | None:
        try:
            exported = blocks.export(arch.string)
        except ExportError:
            return None
        plan.exported += not exported.cached
        return str(exported.path)

    # With an executor (``hwnas.executors.using_executor``), the blocks export there,
    # in parallel, and model_path collects them in order.
    executor = ambient_executor()
    ahead = blocks.exporting_ahead(executor) if executor is not None else contextlib.nullcontext()
    with ahead:
        missing = plan_missing(
            store,
            device=spec.name,
            fingerprint=fingerprint.hash,
            archs=[blocks.record(key) for key in keys],
            settings={**settings.to_dict(), "exporter": blocks.exporter},
            batch=batch,
            model_path=model_path,
            progress=progress,
        )
    plan.skipped = [a.string for a in missing.skipped]
    plan.jobs = missing.jobs
    return plan


@dataclass
class LutMeasurement:
    """What :func:`measure_lut` measured: the store's URL, the block plan (``None`` when
    Ctrl-C came before anything was queued), the ``blocks`` and ``networks`` stages, the
    warnings about the host, and whether Ctrl-C stopped it."""

    store_url: str
    plan: BlockPlan | None
    blocks: StageOutcome
    networks: StageOutcome
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def fingerprint(self) -> str | None:
        """The hash of the fingerprint the blocks were measured under."""
        return self.plan.fingerprint.hash if self.plan is not None else None

    def problems(self) -> list[dict[str, Any]]:
        """Every failure of both stages (``StageOutcome.problems``), blocks first."""
        return self.blocks.problems() + self.networks.problems()


def measure_lut(
    store: StoreLike,
    spec: DeviceSpec,
    settings: ProfileSettings,
    blocks: BlockSet,
    networks: Sequence[str],
    *,
    connect: Callable[[DeviceSpec], Transport],
    progress: ProgressCallback | None = None,
    reconnect_timeout: float = 300.0,
) -> LutMeasurement:
    """Measure on ``spec`` every block of ``blocks`` and every architecture of
    ``networks`` (of ``blocks.space``, whole) that the store lacks under the device's
    current fingerprint; the rest is skipped, so after Ctrl-C the same call finishes.

    Blocks first (stage ``"blocks"``), then networks (stage ``"networks"``, exported with
    ``blocks.exporter``), each through the fleet with every job queued in ``store``
    first (an open ``Store``, or a location opened to plan and closed before measuring:
    the fleet's workers open their own); Ctrl-C during the blocks skips the networks.
    Device failures and Ctrl-C are in the result, not raised; a fingerprint that cannot
    be read raises its ``HwnasError``, a store that cannot be opened ``StoreError``.
    """
    name = spec.name
    batch = uuid.uuid4().hex[:12]
    stages = StageOutcome("blocks", name), StageOutcome("networks", name)
    with opened_store(store) as db:
        done = LutMeasurement(db.location, None, *stages)
        try:
            plan = plan_blocks(
                db, spec, settings, blocks, batch=batch, connect=connect, progress=progress
            )
        except KeyboardInterrupt:
            done.interrupted = True
            return done
    done.plan = plan
    done.warnings = local_contention([spec], progress)
    run = functools.partial(
        run_stage,
        store_location=done.store_url,
        batch=batch,
        connect=connect,
        space_loader=blocks.loader(),
        progress=progress,
        reconnect_timeout=reconnect_timeout,
    )
    block_plan = DevicePlan(spec=spec, settings=settings, jobs=plan.jobs)
    done.blocks = run(block_plan, stage="blocks", skipped=len(plan.skipped))
    if not done.blocks.interrupted:
        sample = SpaceSample(blocks.space, list(networks), blocks.exporter)
        sample_plan = DevicePlan(spec=spec, settings=settings, sample=sample)
        with _networks_ahead(blocks, networks):
            done.networks = run(sample_plan, stage="networks")
    done.interrupted = done.blocks.interrupted or done.networks.interrupted
    return done


def _networks_ahead(
    blocks: BlockSet, networks: Sequence[str]
) -> contextlib.AbstractContextManager[int]:
    """The networks' exports submitted ahead to the ambient executor, if there is one."""
    executor = ambient_executor()
    if executor is None or blocks.cache is not None or not networks:
        return contextlib.nullcontext(0)
    return exporting_ahead(
        blocks.space, networks, executor=executor, exporter=blocks.exporter, opset=blocks.opset
    )
