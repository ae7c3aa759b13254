"""CLI: `radnomo train-deep`, `extract deep` (the click command `extract_deep`), `radnomo gradcam` via CliRunner."""

from __future__ import annotations

from click.testing import CliRunner

from radnomo.cli import main
from radnomo.cli.deep import extract_deep
from radnomo.io.tables import read_feature_table


def test_train_extract_gradcam_commands(cohort_dir, weights_file, tmp_path):
    runner = CliRunner()
    man = str(cohort_dir / "manifest.csv")
    models = tmp_path / "models"
    r = runner.invoke(main, ["train-deep", "--manifest", man, "--out", str(models), "--sequence", "t2",
                             "--weights", str(weights_file), "--epochs", "1", "--batch-size", "8",
                             "--image-size", "32", "--device", "cpu", "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "t2: trained; 4 training patients" in r.output and (models / "t2" / "model.pt").exists()
    r = runner.invoke(main, ["train-deep", "--manifest", man, "--out", str(models), "--sequence", "t2",
                             "--weights", str(weights_file), "--epochs", "1", "--batch-size", "8",
                             "--image-size", "32", "--device", "cpu", "--workers", "1"])
    assert r.exit_code == 0 and "skipped" in r.output

    out = tmp_path / "deep.parquet"
    r = runner.invoke(extract_deep, ["--manifest", man, "--out", str(out), "--model-dir", str(models),
                                     "--sequence", "t2", "--aggregation", "largest", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    table, meta = read_feature_table(out)
    assert table.shape == (6, 1665) and meta["aggregation"] == "largest" and meta["weights"]["t2"]["finetuned"]
    assert meta["slices"]["t2"]["image_size"] == 32  # taken from the fine-tuned model

    r = runner.invoke(main, ["gradcam", "--manifest", man, "--out", str(tmp_path / "cams"), "--sequence", "t2",
                             "--patient", "p5", "--model-dir", str(models), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cams" / "t2_p5_k002.png").exists() and (tmp_path / "cams" / "gradcam.csv").exists()


def test_cli_errors_are_clear(cohort_dir, tmp_path):
    runner = CliRunner()
    man = str(cohort_dir / "manifest.csv")
    r = runner.invoke(main, ["train-deep", "--manifest", man, "--out", str(tmp_path / "m"), "--epochs", "1",
                             "--device", "cpu"])  # imagenet weights are absent (TORCH_HOME is empty)
    assert r.exit_code == 1 and "densenet169-b2777c0a.pth" in r.output and "--weights" in r.output
    r = runner.invoke(extract_deep, ["--manifest", man, "--out", str(tmp_path / "x.parquet"), "--aggregation", "median"])
    assert r.exit_code == 2
    r = runner.invoke(main, ["gradcam", "--manifest", man, "--out", str(tmp_path / "c"), "--sequence", "t2",
                             "--patient", "p1", "--slices", "a,b"])
    assert r.exit_code == 2 and "--slices" in r.output
