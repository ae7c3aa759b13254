"""Reliability cases: parameters, configurations, weights and clinical tables (P17-P25; I12-I15).

The study cases run ``radnomo run CONFIG --until split`` on a 12-patient cohort (the split
stage reads only the tables, so no image is needed). YAML and weights files that try to run
a command must be refused without running it (the marker file it would create stays absent).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rel_helpers import STUDY_CONFIG, assert_clean_error, assert_unchanged, cli, write_cohort

RADIOMICS_YAML = STUDY_CONFIG.parent / "radiomics.yaml"
N = 12


def study(tmp_path: Path, *, clinical=None, manifest=None, data=None, extra=None) -> Path:
    """A study config over a 12-patient table-only cohort; ``clinical``/``manifest``: functions editing
    the DataFrames; ``data``: extra data-section keys. Returns the config path."""
    ids = [f"S{i:02d}" for i in range(N)]
    labels = [i % 2 for i in range(N)]
    man = pd.DataFrame({"patient_id": ids, "label": labels, "ap_image": "x.nrrd", "ap_mask": "x_mask.nrrd"})
    rng = np.random.default_rng(1)
    clin = pd.DataFrame({"patient_id": ids, "age": rng.integers(40, 80, N).astype(float),
                         "lnafp": rng.normal(3, 1, N).round(3), "sex": ["male", "female"] * (N // 2),
                         "label": labels})
    if manifest:
        man = manifest(man)
    if clinical:
        clin = clinical(clin)
    man.to_csv(tmp_path / "manifest.csv", index=False)
    clin.to_csv(tmp_path / "clinical.csv", index=False)
    cfg = {"data": {"manifest": "manifest.csv", "clinical": "clinical.csv", "sequences": ["ap"],
                    "clinical_variables": ["age", "lnafp", "sex"], "categorical": ["sex"], **(data or {})},
           "radiomics": {"params": str(RADIOMICS_YAML)}, **(extra or {})}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def run_split(config: Path, out: Path, *more):
    return cli("run", config, "--out", out, "--until", "split", "--quiet", *more)


# ------------------------------------------------------------------------ parameters, YAML ---

def test_P17_params_unknown_key_named(finished, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("imageType:\n  Original: {}\nsetting:\n  binWidht: 25\n", encoding="utf-8")
    res = cli("extract", "radiomics", finished["manifest"], "--params", bad, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert_clean_error(res.output, "binWidht", rc=1, got_rc=res.exit_code)
    assert_unchanged(finished["before"], finished["outdir"])


def test_P18_params_yaml_cannot_run_code(finished, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"imageType: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    res = cli("extract", "radiomics", finished["manifest"], "--params", evil, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert_clean_error(res.output, "evil.yaml", "not valid YAML", rc=1, got_rc=res.exit_code)
    assert "\n" not in res.output.strip()  # one line
    assert not marker.exists()
    assert_unchanged(finished["before"], finished["outdir"])


def test_P19_config_yaml_cannot_run_code(tmp_path):
    marker = tmp_path / "pwned"
    cfg = study(tmp_path)
    cfg.write_text(cfg.read_text(encoding="utf-8")
                   + f"report: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    res = run_split(cfg, tmp_path / "run")
    assert_clean_error(res.output, "study.yaml", "not valid YAML", rc=1, got_rc=res.exit_code)
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_P20_config_typo_in_override_named(tmp_path):
    res = run_split(study(tmp_path), tmp_path / "run", "--set", "split.test_fractoin=0.2")
    assert_clean_error(res.output, "test_fractoin", rc=1, got_rc=res.exit_code)
    res = run_split(study(tmp_path), tmp_path / "run", "--set", "split.test_fraction=2")
    assert_clean_error(res.output, "split.test_fraction", "(0, 1)", rc=1, got_rc=res.exit_code)


def test_P21_zero_workers_is_a_usage_error(finished, params_yaml):
    res = cli("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", finished["out"],
              "--workers", 0)
    assert_clean_error(res.output, "--workers", rc=2, got_rc=res.exit_code)
    assert_unchanged(finished["before"], finished["outdir"])


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_P22_weights_file_cannot_run_code(tmp_path):
    """A 'weights' file that is a pickle running a command: torch.load(weights_only=True) refuses it."""
    pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"features.conv0.weight": _Evil(marker)}, fh)
    manifest = write_cohort(tmp_path / "c")
    res = cli("extract", "deep", "--manifest", manifest, "--out", tmp_path / "deep.parquet", "--weights", evil,
              "--device", "cpu", "--image-size", "32")
    assert_clean_error(res.output, "evil.pt", rc=1, got_rc=res.exit_code)
    assert not marker.exists() and not (tmp_path / "deep.parquet").exists()


# ------------------------------------------------------------------------- clinical tables ---

def test_P23_clinical_variable_column_missing(tmp_path):
    res = run_split(study(tmp_path, clinical=lambda c: c.drop(columns=["lnafp"])), tmp_path / "run")
    assert_clean_error(res.output, "clinical.csv", "['lnafp']", "missing", rc=1, got_rc=res.exit_code)


def test_P24_duplicated_clinical_id(tmp_path):
    res = run_split(study(tmp_path, clinical=lambda c: c.assign(patient_id=["S00", "S00"] + c.patient_id[2:].tolist())),
                    tmp_path / "run")
    assert_clean_error(res.output, "clinical.csv", "duplicated patient_id", "S00", rc=1, got_rc=res.exit_code)


def test_P25_one_outcome_only(tmp_path):
    cfg = study(tmp_path, manifest=lambda m: m.assign(label=0), clinical=lambda c: c.drop(columns=["label"]))
    res = run_split(cfg, tmp_path / "run")
    assert_clean_error(res.output, "only outcome [0]", "too small or too unbalanced", rc=1, got_rc=res.exit_code)


def test_I12_non_numeric_clinical_values_named(tmp_path):
    def bad(c):
        c = c.astype({"age": object, "lnafp": object})
        c.loc[3, "age"] = "sixty"
        c.loc[5, "lnafp"] = ">1000"
        c.loc[7, "age"] = ""  # empty: a missing value, not an offending one
        return c

    res = run_split(study(tmp_path, clinical=bad), tmp_path / "run")
    assert_clean_error(res.output, "clinical.csv", "must be numeric", "column 'age': S03 ('sixty')",
                       "column 'lnafp': S05 ('>1000')", "declare the variable categorical", rc=1,
                       got_rc=res.exit_code)
    assert "S07" not in res.output
    assert not (tmp_path / "run" / "split" / "split.csv").exists()
    # declared categorical, the same value is accepted
    res = run_split(study(tmp_path, clinical=bad, data={"categorical": ["sex", "age", "lnafp"]}), tmp_path / "run2")
    assert res.exit_code == 0, res.output


def test_I13_outcome_disagreement_excludes_those_patients(tmp_path):
    """Patients whose outcome differs between manifest and clinical table are excluded (both values and
    both files named on the console and in excluded.csv); the others go on."""
    def flip(c):
        c.loc[[2, 9], "label"] = 1 - c.loc[[2, 9], "label"]
        return c

    res = run_split(study(tmp_path, clinical=flip), tmp_path / "run")
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if "excluded" in ln)
    assert "2 of 12 patient(s) excluded (2 outcome 'label' differs between manifest and clinical table)" in line
    assert "S02 (outcome 'label' differs between manifest and clinical table: 0 in the manifest manifest.csv, " \
           "1 in the clinical table clinical.csv)" in line
    excl = pd.read_csv(tmp_path / "run" / "split" / "excluded.csv")
    assert sorted(excl.patient_id) == ["S02", "S09"]
    assert "1 in the manifest manifest.csv, 0 in the clinical table clinical.csv" in excl.reason.iloc[1]
    split = pd.read_csv(tmp_path / "run" / "split" / "split.csv")
    assert len(split) == 10 and not {"S02", "S09"} & set(split.patient_id)


def test_I14_excluded_patients_counted_on_the_console(tmp_path):
    cfg = study(tmp_path, clinical=lambda c: c[c.patient_id != "S04"],
                manifest=lambda m: m.assign(label=[np.nan if p == "S07" else v for p, v in zip(m.patient_id, m.label)]))
    res = run_split(cfg, tmp_path / "run")
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if "excluded" in ln)
    assert "[split] warning: 2 of 12 patient(s) excluded" in line
    assert "1 no row in the clinical table" in line and "S04 (no row in the clinical table)" in line
    assert "S07 (outcome 'label' missing or not 0/1)" in line
    excl = pd.read_csv(tmp_path / "run" / "split" / "excluded.csv")
    assert sorted(excl.patient_id) == ["S04", "S07"]
    # the stage record carries it to the report's warnings (shown at the top: test_faults.py's whole run)
    import json

    info = json.loads((tmp_path / "run" / "split" / "stage.json").read_text(encoding="utf-8"))["info"]
    assert info["excluded"] == 2 and any("2 of 12 patient(s) excluded" in w for w in info["warnings"])


def test_I15_empty_clinical_cells_named_and_policy(tmp_path):
    def holes(c):
        c.loc[[1, 3], "lnafp"] = np.nan
        c.loc[3, "age"] = np.nan
        return c

    res = run_split(study(tmp_path, clinical=holes), tmp_path / "run")  # default: complete cases, reported
    assert res.exit_code == 0, res.output
    assert "S01 (empty clinical cell(s): lnafp)" in res.output and "S03 (empty clinical cell(s): age, lnafp)" in res.output
    split = pd.read_csv(tmp_path / "run" / "split" / "split.csv")
    assert len(split) == N - 2
    res = run_split(study(tmp_path, clinical=holes, data={"missing": "error"}), tmp_path / "run_err")
    assert_clean_error(res.output, "2 patient(s) have empty cells", "S01 (lnafp)", "S03 (age, lnafp)",
                       "data.missing", rc=1, got_rc=res.exit_code)


def test_I15_too_few_left_names_the_exclusions(tmp_path):
    """Most events have an empty cell: the split's error says why so few patients are left."""
    def holes(c):
        c.loc[c.label == 1, "lnafp"] = np.nan
        c.loc[1, "lnafp"] = 1.0
        return c

    res = run_split(study(tmp_path, clinical=holes), tmp_path / "run")
    assert_clean_error(res.output, "only outcome [0]", "5 patient(s) excluded", "empty clinical cell(s): lnafp",
                       rc=1, got_rc=res.exit_code)
