"""What a stage is and what it sees: :class:`Stage` and :class:`RunContext`.

A stage declares its name, the stages whose outputs it reads (``inputs``), the files it writes
(``outputs``), its cache key (``key``: settings, upstream keys, input hashes, code versions) and
the function that does the work (``run``: ``(context, stage folder) -> JSON summary``).
:func:`run` executes it through :meth:`radnomo.pipeline.rundir.RunDirectory.run_stage`, which skips
it when its key matches a finished run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.layout import RunLayout
from radnomo.pipeline.rundir import RunDirectory, StageOutcome
from radnomo.pipeline.versions import r_package_version, radnomo_version

#: Bumped when a stage's outputs change meaning; part of every stage key.
STAGES_VERSION = 5  # 5: keys hold the radnomo and R package versions and the radiomics engine

#: Recorded outputs: file names relative to the stage folder, or a function of the stage's summary.
Outputs = Union[tuple[str, ...], Callable[[dict], list[str]]]


@dataclass
class RunContext:
    """What every stage sees: the configuration, the run folder's layout, the outcomes so far."""

    config: StudyConfig
    layout: RunLayout
    rundir: RunDirectory
    workers: int | None = None
    progress: bool = True
    log: Callable[[str], None] = print
    outcomes: dict[str, StageOutcome] = field(default_factory=dict)

    @classmethod
    def create(cls, config: StudyConfig, root: str | Path, **options: Any) -> RunContext:
        """A context for the run folder ``root`` (created when missing); ``options``: the other fields."""
        return cls(config=config, layout=RunLayout.at(root), rundir=RunDirectory(root), **options)

    def key(self, stage: str) -> str | None:
        """The key of an upstream stage that ran (or was skipped) in this run; ``None`` when it did not."""
        o = self.outcomes.get(stage)
        return o.key if o else None


def code_versions(*, r: bool = False) -> dict[str, str | None]:
    """The code versions a stage's result depends on: radnomo's, and the R package's when ``r``."""
    out: dict[str, str | None] = {"stages": str(STAGES_VERSION), "radnomo": radnomo_version()}
    if r:
        out["radnomo_r"] = r_package_version()
    return out


@dataclass(frozen=True)
class Stage:
    """One stage of the study (see the module docstring).

    Attributes
    ----------
    name : the stage's folder in the run.
    inputs : the stages whose outputs it reads (their keys are part of its key).
    outputs : the files that must exist for it to count as done.
    key : ``context -> key parts`` (JSON-serialisable).
    run : ``(context, stage folder) -> summary`` (JSON-serialisable; ``warnings`` listed in the report).
    clean_on_change : engine caches removed when the key changed (see ``RunDirectory.run_stage``).
    log_warnings : also print the summary's warnings on the console.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: Outputs
    key: Callable[[RunContext], dict]
    run: Callable[[RunContext, Path], dict]
    clean_on_change: tuple[str, ...] = ()
    log_warnings: bool = False

    def __call__(self, ctx: RunContext) -> StageOutcome:
        """Run (or skip) the stage in ``ctx``'s run folder."""
        outputs = self.outputs if callable(self.outputs) else list(self.outputs)
        outcome = ctx.rundir.run_stage(self.name, self.key(ctx), lambda d: self.run(ctx, d), outputs, ctx.log,
                                       clean_on_change=self.clean_on_change)
        if self.log_warnings:
            for msg in outcome.info.get("warnings", []):
                ctx.log(f"[{self.name}] warning: {msg}")
        return outcome
