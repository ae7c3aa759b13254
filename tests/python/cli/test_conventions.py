"""Conventions every ``radnomo`` command keeps (radnomo/cli/options.py, radnomo/cli/guard.py):
MANIFEST is an argument, ``--workers`` counts processes (torch threads are ``--threads``), one
error-to-exit handler (1: radnomo/OS error, 2: usage error), ``--until`` from the pipeline's stages."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from radnomo.cli import COMMANDS, main
from radnomo.cli.guard import RadnomoCommand

STUDY = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence" / "config.yaml"


def all_commands() -> dict[str, click.Command]:
    """Every leaf command: 'run', 'extract radiomics', ..."""
    ctx = click.Context(main)
    out = {}

    def walk(group, prefix):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                walk(cmd, f"{prefix}{name} ")
            else:
                out[f"{prefix}{name}"] = cmd

    walk(main, "")
    return out


def invoke(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


def test_every_command_uses_the_shared_error_handler():
    cmds = all_commands()
    assert set(COMMANDS) - {"extract"} <= set(cmds) and {"extract radiomics", "extract deep"} <= set(cmds)
    for name, cmd in cmds.items():
        assert isinstance(cmd, RadnomoCommand), name


def test_every_command_reading_a_cohort_takes_manifest_as_its_argument():
    readers = {name for name, cmd in all_commands().items()
               if any(p.name == "manifest" for p in cmd.params)}
    assert readers == {"preprocess", "extract radiomics", "extract deep", "train-deep", "gradcam", "predict",
                       "evaluate"}
    for name in readers:
        cmd = all_commands()[name]
        manifest = next(p for p in cmd.params if p.name == "manifest")
        assert isinstance(manifest, click.Argument), name
        visible = [o for p in cmd.params if isinstance(p, click.Option) and not p.hidden for o in p.opts]
        assert "--manifest" not in visible, name
        usage = invoke(*name.split(), "--help").output.splitlines()[0]
        assert usage.endswith("MANIFEST"), (name, usage)


def test_deprecated_manifest_option_still_works_with_a_warning(tmp_path):
    man = tmp_path / "m.csv"
    man.write_text("patient_id,t2_image,t2_mask\nA,a.nii.gz,b.nii.gz\n", encoding="utf-8")
    res = invoke("gradcam", "--manifest", man, "--out", tmp_path / "c", "--sequence", "t2", "--patient", "A",
                 "--slices", "x,y")
    assert res.exit_code == 2 and "--slices" in res.output  # reached the command's own checks
    res = invoke("extract", "deep", "--manifest", man, man, "--out", tmp_path / "x.parquet")
    assert res.exit_code == 2 and "give the manifest once" in res.output
    res = invoke("extract", "deep", "--out", tmp_path / "x.parquet")
    assert res.exit_code == 2 and "Missing argument 'MANIFEST'" in res.output
    res = invoke("extract", "deep", tmp_path / "absent.csv", "--out", tmp_path / "x.parquet")
    assert res.exit_code == 2 and "absent.csv" in res.output


def test_workers_counts_processes_and_threads_have_their_own_option():
    for name, cmd in all_commands().items():
        opts = {o: p for p in cmd.params if isinstance(p, click.Option) for o in p.opts}
        if "--workers" in opts and not opts["--workers"].hidden:
            assert "process" in opts["--workers"].help, name
        if "--threads" in opts:
            assert "thread" in opts["--threads"].help, name
    for name in ("train-deep", "extract deep"):
        opts = {o: p for p in all_commands()[name].params if isinstance(p, click.Option) for o in p.opts}
        assert "--threads" in opts and opts["--workers"].hidden, name


def test_deep_commands_map_threads_to_torch_threads(tmp_path, monkeypatch):
    """--threads N (and the deprecated --workers N, with a warning) reach torch's thread setting."""
    pytest.importorskip("torch")
    import radnomo.features.deep as deep_mod
    from radnomo.errors import InputError

    seen = {}

    def stop(manifest, out, **kw):
        seen.update(kw)
        raise InputError("stopped by the test")

    monkeypatch.setattr(deep_mod, "extract_deep_features", stop)
    man = tmp_path / "m.csv"
    man.write_text("patient_id,t2_image,t2_mask\nA,a.nii.gz,b.nii.gz\n", encoding="utf-8")
    res = invoke("extract", "deep", man, "--out", tmp_path / "x.parquet", "--threads", 3)
    assert res.exit_code == 1 and "stopped by the test" in res.output and seen["num_threads"] == 3
    res = invoke("extract", "deep", man, "--out", tmp_path / "x.parquet", "--workers", 2)
    assert res.exit_code == 1 and seen["num_threads"] == 2
    assert "--workers of the deep commands is deprecated" in res.output
    res = invoke("extract", "deep", man, "--out", tmp_path / "x.parquet", "--workers", 2, "--threads", 2)
    assert res.exit_code == 2


def test_until_choices_are_the_pipelines_stages():
    from radnomo.pipeline.stages import STAGES

    run = all_commands()["run"]
    until = next(p for p in run.params if p.name == "until")
    assert tuple(until.type.choices) == tuple(STAGES)
    res = invoke("run", STUDY, "--out", "unused", "--until", "nope")
    assert res.exit_code == 2 and "'nope' is not one of 'split'" in res.output


def test_until_a_disabled_stage_is_a_usage_error(tmp_path):
    res = invoke("run", STUDY, "--out", tmp_path / "r", "--until", "deep", "--set", "deep.enabled=false",
                 "--set", "data.manifest=m.csv")
    assert res.exit_code == 2 and "--until" in res.output and "deep" in res.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, rc, text", [
    (["run", STUDY, "--out", "{tmp}/r", "--set", "stats.lamda=min"], 1, "unknown key(s) ['lamda']"),
    (["run", STUDY, "--out", "{tmp}/r"], 1, "data.manifest is not set"),
    (["run", STUDY, "--out", "{tmp}/r", "--set", "radiomics.engine=fast"], 1, "radiomics.engine"),
    (["run", "{tmp}/absent.yaml", "--out", "{tmp}/r"], 2, "absent.yaml"),
    (["run", STUDY], 2, "--out"),
    (["demo", "--seed", "-1", "--out", "{tmp}/d"], 2, "--seed"),
    (["demo", "--n", "5", "--out", "{tmp}/d"], 2, "--n"),
    (["synth", "--out", "{tmp}/s", "--size", "huge"], 2, "huge"),
    (["preprocess", "{tmp}/absent.csv", "--out", "{tmp}/p"], 2, "absent.csv"),
    (["extract", "radiomics", "{tmp}/m.csv", "--params", "{tmp}/m.csv", "--out", "{tmp}/x.csv"], 2, ".parquet"),
    (["predict", "{tmp}", "{tmp}/m.csv", "--out", "{tmp}/s.csv"], 1, "not a radnomo model folder"),
    (["evaluate", "{tmp}", "{tmp}/m.csv", "--out", "{tmp}/e"], 1, "not a radnomo model folder"),
    (["nonsense"], 2, "No such command"),
])
def test_exit_codes(tmp_path, args, rc, text):
    (tmp_path / "m.csv").write_text("patient_id,t2_image,t2_mask\nA,a,b\n", encoding="utf-8")
    res = invoke(*[str(a).replace("{tmp}", str(tmp_path)) for a in args])
    assert res.exit_code == rc, res.output
    assert text in res.output
    if rc == 1:
        assert res.output.strip().splitlines()[-1].startswith("Error: ") and "Traceback" not in res.output


def test_os_and_radnomo_errors_end_with_one_line_and_exit_1(tmp_path, monkeypatch):
    """The shared handler: an OSError or a RadnomoError raised anywhere in a command."""
    import radnomo.synth as synth_pkg
    from radnomo.errors import InputError

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(synth_pkg, "generate_cohort", disk_full)
    res = invoke("synth", "--out", tmp_path / "s", "--n", 1, "--size", "tiny")
    assert res.exit_code == 1 and "no space left" in res.output and len(res.output.strip().splitlines()) == 1

    def bad(*a, **k):
        raise InputError("bad input\nover two lines")

    monkeypatch.setattr(synth_pkg, "generate_cohort", bad)
    res = invoke("synth", "--out", tmp_path / "s2", "--n", 1, "--size", "tiny")
    assert res.exit_code == 1 and res.output.strip() == "Error: bad input over two lines"


def test_progress_flags_are_the_same_everywhere():
    for name, cmd in all_commands().items():
        opts = {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
        if "--progress" in opts or "--quiet" in opts:
            assert {"--progress", "--no-progress", "--quiet"} <= opts, name
