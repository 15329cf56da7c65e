"""Building lookup tables: every distinct block of a space, measured once on a device.

A space's ``distinct_blocks()`` become a *block set*, a pseudo-space named
``"<space>:blocks"`` whose "architectures" are block keys (``Block.key``). Each block is
exported as a one-block ONNX model (content-hashed and cached like whole networks) and
measured by the same runner, protocol and fleet as any model, so a block measurement is
an ordinary :class:`~hwnas.records.Measurement` with
``arch = Arch(space="<space>:blocks", string=block.key)``. That buys, unchanged:
skipping blocks already measured under the device's fingerprint
(``Store.measured_archs``), the job queue (Ctrl-C, ``--resume``, reconnects), the
store's export and listing commands, and fingerprint bookkeeping.

Block models are exported *before* their jobs are queued, and each job carries the
file's path: a queued block job is then an ordinary file job that ``hwnas profile
--resume`` can finish too (a job whose file has vanished is exported again through the
block set by whoever resumes with a space loader that knows it, ``hwnas lut build``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwnas.devices.transport import Transport
from hwnas.export import Exported, ExportError, cached_export, check_exporter, content_key
from hwnas.profiler.batch import probe_fingerprint
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import Arch, DeviceSpec, Fingerprint
from hwnas.spaces.base import Block, SearchSpace, SpaceError
from hwnas.store import Job, NewJob, Store

#: What ``block_space_name`` appends to a space's name.
BLOCKS_SUFFIX = ":blocks"
#: Bump when the way a block becomes an ONNX file changes (invalidates cached block files).
BLOCK_EXPORT_FORMAT_VERSION = 1
#: Blocks export through the legacy tracer by default: about 10x faster than dynamo, and a
#: space has hundreds to thousands of blocks.
DEFAULT_BLOCK_EXPORTER = "torchscript"


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

    def to_onnx(self, key: str, *, exporter: str | None = None) -> Path:
        """Path of the ONNX file of block ``key`` (exported once, then cached)."""
        return export_block(
            self.space,
            self.block(key),
            cache=self.cache,
            opset=self.opset,
            exporter=exporter or self.exporter,
        ).path


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
    on_export: Callable[[str, int, int], None] | None = None,
) -> BlockPlan:
    """Queue the blocks not yet measured on ``spec`` under its current fingerprint.

    Reads the device's fingerprint with ``settings`` (threads and graph optimization are
    part of it), skips the blocks the store already has under it, exports the others
    (``on_export(key, done, total)`` after each) and queues one job per block, each with
    its file's path. A block that fails to export is queued without a path: measuring it
    exports again and records the error as that job's failure, like any bad model.
    Returns the plan; run its jobs with ``hwnas.profiler.fleet.run_fleet``.
    """
    with connect(spec) as transport:
        fingerprint = probe_fingerprint(transport, settings)
    done = store.measured_archs(space=blocks.name, device=spec.name, fingerprint=fingerprint.hash)
    keys = blocks.keys()
    plan = BlockPlan(fingerprint=fingerprint, total=len(keys))
    plan.skipped = [k for k in keys if k in done]
    todo = [k for k in keys if k not in done]
    job_settings = {**settings.to_dict(), "exporter": blocks.exporter}
    new: list[NewJob] = []
    for i, key in enumerate(todo, start=1):
        path: str | None
        try:
            exported = export_block(
                blocks.space,
                blocks.block(key),
                cache=blocks.cache,
                opset=blocks.opset,
                exporter=blocks.exporter,
            )
            path = str(exported.path)
            plan.exported += not exported.cached
        except ExportError:
            path = None
        new.append(
            NewJob(label=key, model_path=path, arch=blocks.record(key), settings=job_settings)
        )
        if on_export:
            on_export(key, i, len(todo))
    plan.jobs = store.add_jobs(batch, spec.name, new)
    return plan
