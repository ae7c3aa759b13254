"""The run directory: one folder per stage, each with a ``stage.json``.

``stage.json`` records the stage's *key* — a SHA-256 of the stage name, its
settings, the keys of the stages it reads from and the hashes of its input
files — plus its outputs, wall time and peak memory. A rerun skips a stage
whose key is unchanged and whose outputs all exist; any change of settings or
inputs changes the key, and because each key includes its upstream keys, every
stage downstream is redone too. ``stage.json`` is written last and atomically,
so an interrupted stage is never taken as finished.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from radnomo.errors import InputError
from radnomo.io.atomic import write_text_atomic
from radnomo.parallel import hash_key

STAGE_FILE = "stage.json"
ATTEMPT_FILE = ".attempt"


@dataclass
class StageOutcome:
    """What :meth:`RunDirectory.run_stage` did.

    Attributes
    ----------
    name : stage name; ``dir`` : its folder; ``key`` : its input key.
    skipped : the cached outputs were reused.
    info : the stage function's JSON summary (from ``stage.json`` when skipped).
    seconds : wall time of the stage function (0 when skipped); ``peak_rss_mb`` :
        peak resident memory of this process and its children while it ran (MiB).
    """

    name: str
    dir: Path
    key: str
    skipped: bool
    info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float | None = None


class _PeakMemory:
    """Samples this process' (and its children's) resident memory in a thread."""

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = None

    def _rss(self) -> float:
        try:
            import psutil

            p = psutil.Process(os.getpid())
            total = p.memory_info().rss
            for c in p.children(recursive=True):
                try:
                    total += c.memory_info().rss
                except psutil.Error:
                    pass
            return total / 2**20
        except Exception:
            return 0.0

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


class RunDirectory:
    """A study's run folder (``<root>/<stage>/...``)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def stage_dir(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def read_record(self, name: str) -> dict | None:
        """The stage's ``stage.json`` or ``None``."""
        p = self.root / name / STAGE_FILE
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def is_current(self, name: str, key: str) -> bool:
        """True when the stage finished with this ``key`` and all its recorded outputs exist."""
        rec = self.read_record(name)
        if not rec or rec.get("key") != key:
            return False
        return all((self.root / name / o).exists() for o in rec.get("outputs", []))

    def run_stage(self, name: str, key_parts: dict[str, Any], fn: Callable[[Path], dict],
                  outputs: Callable[[dict], list[str]] | list[str] | None = None,
                  log: Callable[[str], None] | None = None, clean_on_change: tuple[str, ...] = ()) -> StageOutcome:
        """Run ``fn(stage_dir) -> info`` unless its key matches a finished run.

        Parameters
        ----------
        key_parts : everything the stage's result depends on (settings, upstream keys,
            input hashes); JSON-serialisable.
        fn : the stage; returns a JSON-serialisable summary (``info``).
        outputs : files (relative to the stage folder) that must exist for the stage to
            count as done; a list or a function of ``info``.
        clean_on_change : paths in the stage folder (engine caches, checkpoints) removed
            before running when the previous attempt had another key; an interrupted
            attempt with the same key keeps them, so the engine can resume.
        """
        key = hash_key(name, key_parts)
        sdir = self.stage_dir(name)
        if self.is_current(name, key):
            rec = self.read_record(name)
            if log:
                log(f"[{name}] up to date (key {key[:12]}), skipped")
            return StageOutcome(name, sdir, key, True, rec.get("info", {}), 0.0, None)
        (sdir / STAGE_FILE).unlink(missing_ok=True)
        attempt = sdir / ATTEMPT_FILE
        previous = attempt.read_text(encoding="utf-8").strip() if attempt.exists() else None
        if previous != key:
            for rel in clean_on_change:
                p = sdir / rel
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
        write_text_atomic(attempt, key)
        if log:
            log(f"[{name}] running")
        t0 = time.perf_counter()
        with _PeakMemory() as mem:
            info = fn(sdir) or {}
        seconds = time.perf_counter() - t0
        outs = outputs(info) if callable(outputs) else list(outputs or [])
        missing = [o for o in outs if not (sdir / o).exists()]
        if missing:
            raise InputError(f"stage {name!r} did not write its outputs {missing} in {sdir}")
        rec = {"stage": name, "key": key, "inputs": key_parts, "outputs": outs, "info": info,
               "seconds": round(seconds, 3), "peak_rss_mb": round(mem.peak, 1),
               "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        write_text_atomic(sdir / STAGE_FILE, json.dumps(rec, indent=2, sort_keys=True, default=str))
        if log:
            log(f"[{name}] done in {seconds:.1f} s (peak {mem.peak:.0f} MiB)")
        return StageOutcome(name, sdir, key, False, info, seconds, mem.peak)
