"""Cohort extraction: parameter schema, the study's 1197 features, feature table, failures, cache, Dask, CLI."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from feature_helpers import REPO, tiny_case, tiny_cohort
from radnomo.errors import InputError
from radnomo.features.params import load_params
from radnomo.features.radiomics import extract_image, extract_radiomics
from radnomo.io.tables import read_feature_table

STUDY_YAML = REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml"


def test_study_params_give_1197_features_per_sequence(tmp_path):
    params = load_params(STUDY_YAML)
    assert params.expected_feature_count() == 1197
    img_rel, mask_rel = tiny_case(tmp_path, "P", "pvp", seed=1, size=(14, 14, 12), roi=((3, 9), (4, 10), (4, 10)))
    image, mask = sitk.ReadImage(str(tmp_path / img_rel)), sitk.ReadImage(str(tmp_path / mask_rel))
    values = extract_image(image, mask, params)
    assert len(values) == 1197  # counted by PyRadiomics itself, not by radnomo
    types = {k.split("_")[0] for k in values}
    assert types == {"original", "log-sigma-2-0-mm-3D", "log-sigma-3-0-mm-3D", "log-sigma-4-0-mm-3D",
                     "log-sigma-5-0-mm-3D"} | {f"wavelet-{a}{b}{c}" for a in "LH" for b in "LH" for c in "LH"}
    assert sum(k.startswith("original_shape_") for k in values) == 14
    assert sum(k.startswith("original_glcm_") for k in values) == 22
    assert 4 * 1197 == 4788


@pytest.mark.parametrize("text, word", [
    ("imageType: {Original: {}}\nsettings: {binWidth: 5}\n", "settings"),
    ("imageType: {Orignal: {}}\n", "Orignal"),
    ("featureClass: {glcm: [Contrastt]}\n", "Contrastt"),
    ("featureClass: {texture: }\n", "texture"),
    ("setting: {binwidth: 5}\n", "binwidth"),
    ("setting: {binWidth: -5}\n", "binWidth"),
    ("setting: {binWidth: 5, binCount: 32}\n", "binCount"),
])
def test_params_schema_errors_name_the_key(tmp_path, text, word):
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_params(p)
    assert word in str(err.value) and str(p) in str(err.value)


def test_params_hash_ignores_comments_and_order(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("setting: {binWidth: 5, label: 1}\nimageType: {Original: {}}\n", encoding="utf-8")
    b.write_text("# comment\nimageType: {Original: {}}\nsetting: {label: 1, binWidth: 5}\n", encoding="utf-8")
    assert load_params(a).sha256 == load_params(b).sha256
    b.write_text("imageType: {Original: {}}\nsetting: {label: 1, binWidth: 6}\n", encoding="utf-8")
    assert load_params(a).sha256 != load_params(b).sha256


def test_extract_cohort_table_metadata_failures_and_cache(tmp_path, small_params):
    manifest = tiny_cohort(tmp_path / "cohort", n=3)
    # break one case: C2's ap mask becomes empty
    m = sitk.ReadImage(str(tmp_path / "cohort" / "C2" / "ap_mask.nrrd")) * 0
    sitk.WriteImage(m, str(tmp_path / "cohort" / "C2" / "ap_mask.nrrd"))
    out = tmp_path / "radiomics.parquet"
    res = extract_radiomics(manifest, small_params, out, workers=1, progress=False)
    assert res.n_failed == 1 and res.n_ok == 2
    msg = res.errors.loc[0, "message"]
    assert "C2" in msg and "'ap'" in msg and "ap_mask.nrrd" in msg and "empty" in msg
    errors = pd.read_csv(res.errors_path)
    assert errors["case_id"].tolist() == ["C2"]

    table, meta = read_feature_table(out)
    assert table["patient_id"].tolist() == ["C1", "C3"]
    n_per_seq = 18 + 3
    assert table.shape[1] == 1 + 2 * n_per_seq
    assert "ap_original_glcm_Contrast" in table.columns and "pvp_original_firstorder_Mean" in table.columns
    assert meta["engine"] == "radiomics" and meta["params_sha256"] == load_params(small_params).sha256
    assert "binWidth: 10" in meta["params_yaml"]
    assert set(meta["input_hashes"]["C1"]) == {"ap_image", "ap_mask", "pvp_image", "pvp_mask"}
    assert meta["versions"]["pyradiomics"] and meta["failed_patients"] == ["C2"]

    # independent check of one value: first-order mean = numpy mean over the ROI
    img = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "cohort" / "C3" / "pvp.nrrd")))
    roi = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "cohort" / "C3" / "pvp_mask.nrrd"))) == 1
    assert table.set_index("patient_id").loc["C3", "pvp_original_firstorder_Mean"] == pytest.approx(
        img[roi].mean(), rel=1e-6)

    # rerun: finished cases come from the cache; fixing C2 computes only C2
    sitk.WriteImage(sitk.ReadImage(str(tmp_path / "cohort" / "C2" / "pvp_mask.nrrd")),
                    str(tmp_path / "cohort" / "C2" / "ap_mask.nrrd"))
    res2 = extract_radiomics(manifest, small_params, out, workers=1, progress=False)
    assert res2.n_failed == 0 and res2.n_cached == 2 and res2.n_ok == 3
    table2, _ = read_feature_table(out)
    pd.testing.assert_frame_equal(table2.iloc[[0, 2]].reset_index(drop=True), table)


def test_extract_in_process_pool_equals_serial(tmp_path, small_params):
    manifest = tiny_cohort(tmp_path / "cohort", n=3)
    a = extract_radiomics(manifest, small_params, tmp_path / "a.parquet", workers=1, progress=False)
    b = extract_radiomics(manifest, small_params, tmp_path / "b.parquet", workers=2, progress=False)
    assert a.n_failed == b.n_failed == 0
    pd.testing.assert_frame_equal(read_feature_table(a.table_path)[0], read_feature_table(b.table_path)[0])


def test_extract_through_local_dask_cluster(tmp_path, small_params):
    distributed = pytest.importorskip("distributed")
    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    serial = extract_radiomics(manifest, small_params, tmp_path / "s.parquet", workers=1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = extract_radiomics(manifest, small_params, tmp_path / "d.parquet", executor=client.get_executor(),
                                progress=False)
    assert res.n_failed == 0 and res.n_ok == 2
    pd.testing.assert_frame_equal(read_feature_table(res.table_path)[0], read_feature_table(serial.table_path)[0])


def test_cli_extract_radiomics(tmp_path, small_params):
    from radnomo.cli import main

    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    out = tmp_path / "f.parquet"
    runner = CliRunner()
    r = runner.invoke(main, ["extract", "radiomics", str(manifest), "--params", str(small_params), "--out", str(out),
                             "--workers", "1", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "2 patient(s) x 42 features" in r.output
    os.remove(tmp_path / "cohort" / "C1" / "pvp.nrrd")
    r = runner.invoke(main, ["extract", "radiomics", str(manifest), "--params", str(small_params), "--out", str(out),
                             "--workers", "1", "--no-progress"])
    assert r.exit_code == 1
    assert "1 of 2 patient(s) failed" in r.output and "pvp.nrrd" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("setting: {binwidth: 5}\n", encoding="utf-8")
    r = runner.invoke(main, ["extract", "radiomics", str(manifest), "--params", str(bad), "--out", str(out)])
    assert r.exit_code != 0 and "binwidth" in r.output
    for args in (["extract", "--help"], ["extract", "radiomics", "--help"]):
        r = runner.invoke(main, args)
        assert r.exit_code == 0
    assert "--scheduler" in r.output and "--workers" in r.output and "--params" in r.output
