"""The radnomo engine inside cohort extraction: tables, metadata, fallback, cache, errors, Dask, CLI."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from engine_helpers import RTOL_SENSITIVE
from feature_helpers import REPO, tiny_cohort
from radnomo.errors import InputError
from radnomo.features.params import RadiomicsParams, load_params
from radnomo.features.radiomics import (DEFAULT_ENGINE, ENGINES, case_key, case_payloads, check_engine, engine_for,
                                        extract_image, extract_radiomics)
from radnomo.io.manifest import read_manifest
from radnomo.io.tables import read_feature_table

STUDY_YAML = REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml"


def _close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a["patient_id"].tolist() == b["patient_id"].tolist()
    x = a.drop(columns="patient_id").to_numpy(float)
    y = b.drop(columns="patient_id").to_numpy(float)
    np.testing.assert_allclose(x, y, rtol=RTOL_SENSITIVE, atol=0)


def test_engine_names_and_default():
    assert ENGINES == ("radnomo", "pyradiomics")
    assert check_engine(None) == DEFAULT_ENGINE
    with pytest.raises(InputError, match="unknown radiomics engine"):
        check_engine("fast")


def test_cohort_table_same_as_pyradiomics_with_provenance(tmp_path):
    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    a = extract_radiomics(manifest, STUDY_YAML, tmp_path / "a.parquet", workers=1, progress=False, engine="radnomo")
    b = extract_radiomics(manifest, STUDY_YAML, tmp_path / "b.parquet", workers=1, progress=False,
                          engine="pyradiomics")
    assert a.n_failed == b.n_failed == 0 and a.n_features == b.n_features == 2 * 1197
    ta, ma = read_feature_table(a.table_path)
    tb, mb = read_feature_table(b.table_path)
    _close(ta, tb)
    rec = ma["radiomics_engine"]
    assert rec["requested"] == "radnomo" and rec["used"] == "radnomo" and rec["fallback_reason"] is None
    assert rec["radnomo_engine_version"]
    assert rec["settings"]["binWidth"] == 5 and rec["settings"]["normalizeScale"] == 100
    assert set(rec["enabled_image_types"]) == {"Original", "Wavelet", "LoG"}
    assert mb["radiomics_engine"]["used"] == "pyradiomics"
    assert ma["engine"] == mb["engine"] == "radiomics"  # the feature-table kind, as before


def test_fallback_to_pyradiomics_with_a_notice(tmp_path, caplog):
    p = tmp_path / "p.yaml"
    p.write_text("imageType: {Original: {}}\nfeatureClass: {glcm: [Contrast]}\n"
                 "setting: {binWidth: 10, symmetricalGLCM: false}\n", encoding="utf-8")
    params = load_params(p)
    assert engine_for(params, "radnomo") == ("pyradiomics", "the radnomo engine does not implement setting "
                                                             "'symmetricalGLCM: false'")
    manifest = tiny_cohort(tmp_path / "cohort", n=1)
    with caplog.at_level(logging.WARNING, logger="radnomo.features.radiomics"):
        res = extract_radiomics(manifest, params, tmp_path / "f.parquet", workers=1, progress=False,
                                engine="radnomo")
    notices = [r.getMessage() for r in caplog.records if "extracting with PyRadiomics instead" in r.getMessage()]
    assert len(notices) == 1 and "symmetricalGLCM" in notices[0]
    _, meta = read_feature_table(res.table_path)
    assert meta["radiomics_engine"]["used"] == "pyradiomics"
    assert "symmetricalGLCM" in meta["radiomics_engine"]["fallback_reason"]
    ref = extract_radiomics(manifest, params, tmp_path / "g.parquet", workers=1, progress=False,
                            engine="pyradiomics")
    pd.testing.assert_frame_equal(read_feature_table(res.table_path)[0], read_feature_table(ref.table_path)[0])


def test_cache_keys_resume_and_errors(tmp_path, small_params):
    manifest = tiny_cohort(tmp_path / "cohort", n=3)
    m = sitk.ReadImage(str(tmp_path / "cohort" / "C2" / "ap_mask.nrrd")) * 0
    sitk.WriteImage(m, str(tmp_path / "cohort" / "C2" / "ap_mask.nrrd"))
    out = tmp_path / "r.parquet"
    res = extract_radiomics(manifest, small_params, out, workers=1, progress=False, engine="radnomo")
    assert res.n_failed == 1 and res.n_ok == 2
    assert res.errors["case_id"].tolist() == ["C2"] and "empty" in res.errors.loc[0, "message"]
    # engines do not share cached cases; PyRadiomics' keys are unchanged by the engine option
    params = load_params(small_params)
    man = read_manifest(manifest)
    pay_r = case_payloads(man, params, engine="radnomo")["C1"]
    pay_p = case_payloads(man, params, engine="pyradiomics")["C1"]
    assert case_key("C1", pay_r) != case_key("C1", pay_p)
    legacy = dict(pay_p)
    legacy.pop("engine")
    assert case_key("C1", legacy) == case_key("C1", pay_p)
    # resume: fix C2, rerun: only C2 is computed
    sitk.WriteImage(sitk.ReadImage(str(tmp_path / "cohort" / "C2" / "pvp_mask.nrrd")),
                    str(tmp_path / "cohort" / "C2" / "ap_mask.nrrd"))
    res2 = extract_radiomics(manifest, small_params, out, workers=1, progress=False, engine="radnomo")
    assert res2.n_failed == 0 and res2.n_cached == 2 and res2.n_ok == 3
    res3 = extract_radiomics(manifest, small_params, out, workers=1, progress=False, engine="pyradiomics")
    assert res3.n_cached == 0


def test_process_pool_and_dask_equal_serial(tmp_path, small_params):
    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    serial = extract_radiomics(manifest, small_params, tmp_path / "s.parquet", workers=1, progress=False,
                               engine="radnomo")
    pool = extract_radiomics(manifest, small_params, tmp_path / "p.parquet", workers=2, progress=False,
                             engine="radnomo")
    pd.testing.assert_frame_equal(read_feature_table(serial.table_path)[0], read_feature_table(pool.table_path)[0])
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = extract_radiomics(manifest, small_params, tmp_path / "d.parquet", executor=client.get_executor(),
                                progress=False, engine="radnomo")
    assert res.n_failed == 0
    pd.testing.assert_frame_equal(read_feature_table(res.table_path)[0], read_feature_table(serial.table_path)[0])


def test_extract_image_engines(tmp_path):
    from feature_helpers import tiny_case

    img_rel, mask_rel = tiny_case(tmp_path, "P", "pvp", seed=4)
    image, mask = sitk.ReadImage(str(tmp_path / img_rel)), sitk.ReadImage(str(tmp_path / mask_rel))
    params = RadiomicsParams.from_dict({"featureClass": {"firstorder": [], "glrlm": []}, "setting": {"binWidth": 10}})
    ours = extract_image(image, mask, params, engine="radnomo")
    theirs = extract_image(image, mask, params, engine="pyradiomics")
    assert list(ours) == list(theirs)
    np.testing.assert_allclose([ours[k] for k in ours], [theirs[k] for k in ours], rtol=1e-9)


def test_cli_engine_option(tmp_path, small_params):
    from radnomo.cli import main

    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    runner = CliRunner()
    outs = {}
    for engine in ("radnomo", "pyradiomics"):
        out = tmp_path / f"{engine}.parquet"
        r = runner.invoke(main, ["extract", "radiomics", str(manifest), "--params", str(small_params), "--out",
                                 str(out), "--workers", "1", "--no-progress", "--engine", engine])
        assert r.exit_code == 0, r.output
        assert "2 patient(s) x 42 features" in r.output
        outs[engine] = read_feature_table(out)
        assert outs[engine][1]["radiomics_engine"]["used"] == engine
    _close(outs["radnomo"][0], outs["pyradiomics"][0])
    r = runner.invoke(main, ["extract", "radiomics", str(manifest), "--params", str(small_params), "--out",
                             str(tmp_path / "x.parquet"), "--engine", "fast"])
    assert r.exit_code != 0 and "fast" in r.output
    r = runner.invoke(main, ["extract", "radiomics", "--help"])
    assert "--engine" in r.output


def test_device_option_cpu_default_and_cuda_without_gpu(tmp_path, small_params, monkeypatch):
    """``device``: cpu by default; ``auto`` resolves to the machine's device; ``cuda`` without a GPU is
    one clear error (CLI exit 1); the metadata records the device that ran."""
    import torch

    from radnomo.cli import main

    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    res = extract_radiomics(manifest, small_params, tmp_path / "a.parquet", workers=1, progress=False,
                            device="auto")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert read_feature_table(res.table_path)[1]["radiomics_engine"]["device"] == want
    if torch.cuda.is_available():
        return
    r = CliRunner().invoke(main, ["extract", "radiomics", str(manifest), "--params", str(small_params), "--out",
                                  str(tmp_path / "c.parquet"), "--workers", "1", "--no-progress", "--device",
                                  "cuda"])
    assert r.exit_code == 1 and "no CUDA GPU" in r.output, r.output


def test_gpu_path_through_the_cohort_extraction(tmp_path, monkeypatch):
    """The GPU path wired through extract_radiomics (payload -> extractor with device and threads), run here
    with torch on the CPU standing in for the GPU: the study's 1197 features per sequence equal the CPU
    engine's within the exactness tolerance, and the metadata says cuda."""
    import radnomo.features.engine.backend as backend
    import radnomo.features.radiomics as rad

    manifest = tiny_cohort(tmp_path / "cohort", n=2)
    cpu = extract_radiomics(manifest, STUDY_YAML, tmp_path / "cpu.parquet", workers=1, progress=False)
    real = backend.get_backend
    monkeypatch.setattr(rad, "resolve_radiomics_device", lambda device: "cuda")
    asked = []

    def torch_on_cpu(device):
        asked.append(device)
        return real("cpu" if device == "cuda" else device)

    import radnomo.features.engine.extractor as extractor

    monkeypatch.setattr(extractor, "get_backend", torch_on_cpu)
    dev = extract_radiomics(manifest, STUDY_YAML, tmp_path / "dev.parquet", workers=1, progress=False,
                            device="cuda")
    assert dev.n_failed == 0 and dev.n_features == 2 * 1197
    (ta, _), (tb, mb) = read_feature_table(cpu.table_path), read_feature_table(dev.table_path)
    _close(ta, tb)
    assert mb["radiomics_engine"]["device"] == "cuda"
    assert asked and set(asked) == {"cuda"}  # the torch path ran (filters and texture)
