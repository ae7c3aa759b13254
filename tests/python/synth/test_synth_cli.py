"""``radnomo synth`` through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from radnomo.cli import main


def test_synth_command_writes_cohort_identical_to_api(tmp_path, cohort3, synth_seed):
    out = tmp_path / "cli"
    res = CliRunner().invoke(main, ["synth", "--out", str(out), "--n", "2", "--size", "tiny",
                                    "--seed", str(synth_seed), "--workers", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "2 patients" in res.output and "oracle AUC" in res.output and "manifest.csv" in res.output
    for name in ("manifest.csv", "manifest.parquet", "clinical.csv", "clinical.parquet", "ground_truth.json"):
        assert (out / name).is_file()
    # two worker processes via the CLI give the same bytes as one in-process run of the API
    for pid in ("P0001", "P0002"):
        for f in ("t2.nii.gz", "pvp_mask.nii.gz", "dp.nii.gz"):
            assert (out / "images" / pid / f).read_bytes() == (cohort3.root / "images" / pid / f).read_bytes()
    gt = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert gt["generator"]["n"] == 2 and gt["generator"]["size"] == "tiny"


def test_synth_command_rejects_bad_options(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["synth", "--out", str(tmp_path / "x"), "--size", "huge"])
    assert res.exit_code == 2 and "huge" in res.output
    res = runner.invoke(main, ["synth", "--out", str(tmp_path / "x"), "--seed", "-3", "--size", "tiny"])
    assert res.exit_code == 2 and "--seed" in res.output
    res = runner.invoke(main, ["synth", "--out", str(tmp_path / "x"), "--n", "0"])
    assert res.exit_code == 2
    res = runner.invoke(main, ["synth"])
    assert res.exit_code == 2 and "--out" in res.output
    assert not (tmp_path / "x").exists()


def test_synth_listed_in_help():
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0 and "synth" in res.output
