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
