"""`radnomo run/demo/predict/evaluate` argument handling (the runs themselves: test_demo.py)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from radnomo.cli import main

STUDY = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence" / "config.yaml"


def test_commands_are_registered():
    r = CliRunner().invoke(main, ["--help"])
    for cmd in ("run", "demo", "predict", "evaluate"):
        assert cmd in r.output


def test_run_reports_config_errors_clearly(tmp_path):
    r = CliRunner().invoke(main, ["run", str(STUDY), "--out", str(tmp_path / "r"), "--set", "stats.lamda=min"])
    assert r.exit_code != 0 and "unknown key(s) ['lamda']" in r.output
    r = CliRunner().invoke(main, ["run", str(STUDY), "--out", str(tmp_path / "r")])
    assert r.exit_code != 0 and "data.manifest is not set" in r.output


def test_predict_refuses_a_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "m.csv").write_text("patient_id,t2_image,t2_mask\nA,a,b\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["predict", str(tmp_path), str(tmp_path / "m.csv"), "--out", str(tmp_path / "s.csv")])
    assert r.exit_code != 0 and "not a radnomo model folder" in r.output


def test_demo_seed_option_is_listed_with_the_default():
    from radnomo.cli.run import DEMO_SEED
    from radnomo.pipeline.demo import DEMO_SEED as PIPELINE_DEMO_SEED

    assert DEMO_SEED == PIPELINE_DEMO_SEED  # `make demo` (no --seed) keeps the cohort it always had
    r = CliRunner().invoke(main, ["demo", "--help"])
    assert r.exit_code == 0 and "--seed" in r.output and str(DEMO_SEED) in r.output
    r = CliRunner().invoke(main, ["demo", "--seed", "-1", "--out", "unused"])
    assert r.exit_code != 0 and "--seed" in r.output


def test_demo_seed_reaches_the_cohort_and_the_run_record(tmp_path, monkeypatch):
    """`radnomo demo --seed S` generates the cohort with seed S (its ground_truth.json says so) and
    passes it to the run (notes); the study itself is stubbed here (the real run: test_demo.py)."""
    import json

    import radnomo.pipeline.demo as demo_mod
    import radnomo.synth.cohort as synth_cohort
    from radnomo.pipeline.runner import RunSummary

    real = synth_cohort.generate_cohort
    seen = {}

    def tiny_cohort(out_dir, n=None, size="small", seed=0, workers=None, progress=True):
        seen["cohort_seed"] = seed
        return real(out_dir, n=n, size="tiny", seed=seed, workers=1, progress=False)

    def fake_run_study(cfg, out_dir, **kw):
        seen["notes"], seen["oracle"] = kw["notes"], kw["oracle"]
        return RunSummary(out_dir=Path(out_dir), stages={})

    monkeypatch.setattr(synth_cohort, "generate_cohort", tiny_cohort)
    monkeypatch.setattr(demo_mod, "run_study", fake_run_study)
    for seed in (7, 12345):
        out = tmp_path / f"demo_{seed}"
        r = CliRunner().invoke(main, ["demo", "--out", str(out), "--seed", str(seed), "--n", "20", "--quiet"])
        assert r.exit_code == 0, r.output
        assert seen["cohort_seed"] == seed
        truth = json.loads((out / "cohort" / "ground_truth.json").read_text(encoding="utf-8"))
        assert truth["generator"]["seed"] == seed and truth["generator"]["n"] == 20
        assert any(f"seed={seed}" in n for n in seen["notes"]) and seen["oracle"]["cohort_seed"] == seed
    # different seeds, different cohorts
    a = (tmp_path / "demo_7" / "cohort" / "clinical.csv").read_text(encoding="utf-8")
    b = (tmp_path / "demo_12345" / "cohort" / "clinical.csv").read_text(encoding="utf-8")
    assert a != b
