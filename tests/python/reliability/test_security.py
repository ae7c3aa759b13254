"""Reliability cases: caches that hold no code (I01), workers that die with their command (I03),
interrupted runs that lose nothing (P26 SIGINT, P27 SIGKILL), no DICOM identifier in any output (P28).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from rel_helpers import (PARAMS, RADNOMO, assert_clean_error, assert_same_features, cli, features, run_process,
                         write_cohort)


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ------------------------------------------------------------------------------- I01 caches ---

def test_I01_crafted_cache_entries_never_run(finished, params_yaml, tmp_path):
    """Pickles dropped into the extraction and preprocessing caches (old-style ``<case>.pkl`` and in
    place of the data entries) are never loaded: the rerun runs no command, recomputes or reuses
    only data, and the table is unchanged."""
    marker = tmp_path / "pwned"
    cache = finished["out"].with_name("radiomics.parquet.cache")
    evil = pickle.dumps({"format": 1, "case_id": "C2", "key": "x", "result": _Evil(marker)})
    (cache / "C2.pkl").write_bytes(evil)
    entries = sorted(cache.glob("p*.json"))
    assert len(entries) == 3 and not any("C" in p.stem for p in entries)  # salted-hash names, no id
    for p in entries:  # data only: a JSON header line, then JSON
        header = json.loads(p.read_text(encoding="utf-8").splitlines()[0])
        assert set(header) == {"format", "case_id", "key"}
    entries[0].write_bytes(evil)  # a pickle in place of a data entry
    res = cli("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "(2 from cache)" in res.output  # the replaced entry was recomputed
    assert not marker.exists()
    assert_same_features(features(finished["out"]), finished["table"], ["C1", "C2", "C3"])
    # preprocessing cache
    pre = tmp_path / "pre"
    res = cli("preprocess", finished["manifest"], "--out", pre, "--reference", "pvp", "--registration", "none",
              "--no-n4", "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    (pre / ".cache" / "C1.pkl").write_bytes(evil)
    for p in (pre / ".cache").glob("*.json"):
        p.write_bytes(evil)
    res = cli("preprocess", finished["manifest"], "--out", pre, "--reference", "pvp", "--registration", "none",
              "--no-n4", "--workers", 1, "--no-progress")
    assert res.exit_code == 0 and "(0 from cache)" in res.output, res.output
    assert not marker.exists()


def test_I01_cache_format_unit(tmp_path):
    """The key is checked before the result is parsed; numpy arrays only without pickles; non-data refused."""
    from radnomo.parallel import cache_file, load_cached, store_cached

    store_cached(tmp_path, "a", "k1", {"x": np.arange(3.0), "n": 1, "s": "t", "nan": float("nan")})
    hit, value = load_cached(tmp_path, "a", "k1")
    assert hit and value["n"] == 1 and np.array_equal(value["x"], np.arange(3.0)) and np.isnan(value["nan"])
    assert load_cached(tmp_path, "a", "other key") == (False, None)
    # a matching header followed by a pickled object array: refused (allow_pickle=False), recomputed
    import base64
    import io

    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    np.save(buf, np.array([_Evil(marker)], dtype=object), allow_pickle=True)
    f = cache_file(tmp_path, "a")
    header = f.read_text(encoding="utf-8").splitlines()[0]
    f.write_text(header + "\n" + json.dumps({"__ndarray__": base64.b64encode(buf.getvalue()).decode()}) + "\n",
                 encoding="utf-8")
    assert load_cached(tmp_path, "a", "k1") == (False, None)
    assert not marker.exists()
    with pytest.raises(TypeError, match="cannot be cached"):
        store_cached(tmp_path, "b", "k", {"f": lambda: 1})


def test_I01_deep_cache_is_read_without_pickle(tmp_path):
    from radnomo.features.deep import _load_slice_cache

    marker = tmp_path / "pwned"
    with open(tmp_path / "e.npz", "wb") as fh:
        np.savez(fh, features=np.array([_Evil(marker)], dtype=object), slice_index=np.arange(1),
                 roi_voxels=np.arange(1), n_roi_slices=1)
    assert _load_slice_cache(tmp_path / "e.npz") is None and not marker.exists()
    with open(tmp_path / "ok.npz", "wb") as fh:
        np.savez(fh, features=np.ones((2, 4)), slice_index=np.arange(2), roi_voxels=np.arange(2), n_roi_slices=2)
    feats, kidx, roi, n = _load_slice_cache(tmp_path / "ok.npz")
    assert feats.shape == (2, 4) and n == 2


# ------------------------------------------------------------- a cohort that takes a while ---

HEAVY_PARAMS = PARAMS.replace("Original: {}", "Original: {}\n  Wavelet: {}\n  LoG: {sigma: [1.0, 2.0]}")


@pytest.fixture(scope="module")
def heavy(tmp_path_factory):
    """Six patients whose extraction takes a few seconds each, and their uninterrupted table."""
    root = tmp_path_factory.mktemp("heavy")
    manifest = write_cohort(root / "c", ids=[f"K{i}" for i in range(6)], seqs=("pvp",), size=(48, 48, 32))
    params = root / "heavy.yaml"
    params.write_text(HEAVY_PARAMS, encoding="utf-8")
    ref = root / "ref" / "r.parquet"
    # PyRadiomics' own engine: several times slower than radnomo's, so that an interruption
    # reliably lands while cases are still running (with the fast engine all six could finish first)
    r = run_process("extract", "radiomics", manifest, "--params", params, "--out", ref, "--workers", 2, "--no-progress",
                    "--engine", "pyradiomics")
    assert r.returncode == 0, r.stderr
    return {"manifest": manifest, "params": params, "table": features(ref)}


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _start(heavy, out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([str(RADNOMO), "extract", "radiomics", str(heavy["manifest"]), "--params",
                             str(heavy["params"]), "--out", str(out), "--workers", str(workers), "--no-progress",
                             "--engine", "pyradiomics"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TZ="UTC"))


def _wait_for(cond, timeout=120.0, step=0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(step)
    return False


def test_I03_workers_die_with_a_killed_command(heavy, tmp_path):
    import psutil

    proc = _start(heavy, tmp_path / "o" / "r.parquet", workers=2)
    try:
        assert _wait_for(lambda: len([p for p in _descendants(proc.pid) if p.is_running()]) >= 3), \
            "the pool did not start"
        time.sleep(1.0)  # the workers are busy with a case
        kids = _descendants(proc.pid)
        assert proc.poll() is None, "finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        gone, alive = psutil.wait_procs(kids, timeout=15)
        assert not alive, [(p.pid, p.cmdline()[-3:]) for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _descendants(proc.pid):
            p.kill()


# --------------------------------------------------------------------- P26/P27 interruptions ---

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["P26_SIGINT", "P27_SIGKILL"])
def test_interrupted_extraction_loses_no_finished_case(sig, heavy, tmp_path):
    out = tmp_path / "o" / "r.parquet"
    cache = out.with_name("r.parquet.cache")
    proc = _start(heavy, out, workers=1)
    try:
        assert _wait_for(lambda: len(list(cache.glob("p*.json"))) >= 2), "no case finished"
        assert proc.poll() is None
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = len(list(cache.glob("p*.json")))
    assert 2 <= done < 6
    if sig == signal.SIGINT:
        assert proc.returncode != 0 and "Traceback" not in err, err
    r = run_process("extract", "radiomics", heavy["manifest"], "--params", heavy["params"], "--out", out,
                    "--workers", 1, "--no-progress", "--engine", "pyradiomics")
    assert r.returncode == 0, r.stderr
    assert f"({done} from cache)" in r.stdout
    assert not [p.name for p in cache.iterdir() if ".tmp" in p.name]  # a killed write's leftovers removed
    table = features(out)
    assert sorted(table.index) == sorted(heavy["table"].index)
    assert_same_features(table, heavy["table"], table.index)


# ------------------------------------------------------------------- P28 DICOM identifiers ---

IDENTIFIERS = {"0010|0010": "Doe^Jane", "0010|0020": "MRN31415926", "0010|0030": "19610417",
               "0008|0080": "St Elsewhere Hospital", "0008|0090": "Dr^Who", "0008|0050": "ACC2718281"}


def _write_dicom_series(arr: np.ndarray, folder: Path, spacing=(1.0, 1.0, 2.0)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    img = sitk.Cast(sitk.GetImageFromArray(arr), sitk.sitkInt16)
    img.SetSpacing(spacing)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    series = "1.2.826.0.1.3680043.2.1125.1.99999"
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        for tag, value in {**IDENTIFIERS, "0020|000e": series, "0020|000d": series + ".1",
                           "0008|0060": "MR", "0020|0037": "1\\0\\0\\0\\1\\0",
                           "0020|0032": "\\".join(map(str, img.TransformIndexToPhysicalPoint((0, 0, k)))),
                           "0020|0013": str(k + 1), "0018|0050": str(spacing[2]),
                           "0008|0018": f"{series}.2.{k + 1}"}.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{k:03d}.dcm"))
        writer.Execute(sl)


def test_P28_no_dicom_identifier_reaches_any_output(tmp_path, params_yaml):
    from rel_helpers import image_arrays, write_image

    root = tmp_path / "c"
    rows = []
    for i, pid in enumerate(("D1", "D2")):
        row = {"patient_id": pid, "label": i}
        for j, seq in enumerate(("ap", "pvp")):
            arr, m = image_arrays(10 * i + j, (24, 24, 12))
            _write_dicom_series(arr, root / pid / seq)
            ref = sitk.ReadImage(sorted(str(p) for p in (root / pid / seq).glob("*.dcm")))
            write_image(m, root / pid / f"{seq}_mask.nrrd", like=ref)
            row[f"{seq}_image"], row[f"{seq}_mask"] = f"{pid}/{seq}", f"{pid}/{seq}_mask.nrrd"
        rows.append(row)
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    assert b"Doe^Jane" in (root / "D1" / "ap" / "slice000.dcm").read_bytes()  # the inputs do carry them
    res = cli("preprocess", root / "manifest.csv", "--out", tmp_path / "pre", "--reference", "pvp", "--no-n4",
              "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    res = cli("extract", "radiomics", tmp_path / "pre" / "manifest.csv", "--params", params_yaml, "--out",
              tmp_path / "f" / "r.parquet", "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    res = cli("extract", "radiomics", root / "manifest.csv", "--params", params_yaml, "--out",
              tmp_path / "g" / "r.parquet", "--workers", 1, "--no-progress")  # straight from DICOM
    assert res.exit_code == 0, res.output
    needles = [v.encode() for v in IDENTIFIERS.values()] + [b"Doe", b"Jane", b"31415926"]
    files = [p for d in ("pre", "f", "g") for p in (tmp_path / d).rglob("*") if p.is_file()]
    assert len(files) > 10
    for p in files:
        data = p.read_bytes()
        if p.suffix == ".gz":
            import gzip

            data = gzip.decompress(data)
        for n in needles:
            assert n not in data, f"{n!r} found in {p}"
