"""Image/mask reading and checks: formats, DICOM series, clear errors naming patient, sequence and file."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radnomo.errors import InputError
from radnomo.io.images import ImageContext, geometry_mismatch, read_image, read_image_and_mask, read_mask, write_image

CTX = ImageContext("P07", "ap")


def _pair(shape=(6, 8, 10), spacing=(0.8, 0.8, 2.0)):
    arr = np.arange(np.prod(shape), dtype=np.int16).reshape(shape)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    img.SetOrigin((-10.0, 5.0, 2.5))
    m = np.zeros(shape, np.uint8)
    m[2:4, 3:6, 4:8] = 1
    msk = sitk.GetImageFromArray(m)
    msk.CopyInformation(img)
    return img, msk, arr, m


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_formats_round_trip(tmp_path, suffix):
    img, msk, arr, m = _pair()
    write_image(img, tmp_path / f"i{suffix}")
    write_image(msk, tmp_path / f"m{suffix}")
    i2, m2 = read_image_and_mask(tmp_path / f"i{suffix}", tmp_path / f"m{suffix}", context=CTX)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(i2), arr)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(m2), m)
    assert np.allclose(i2.GetSpacing(), (0.8, 0.8, 2.0)) and np.allclose(i2.GetOrigin(), (-10, 5, 2.5))


def test_dicom_series_folder(tmp_path):
    img, _, arr, _ = _pair()
    folder = tmp_path / "dcm"
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        for tag, val in (("0020|000e", "1.2.826.0.1.3680043.2.1125.1.1"), ("0008|0060", "MR"),
                         ("0020|0013", str(k + 1)), ("0020|0037", "1\\0\\0\\0\\1\\0"),
                         ("0020|0032", "\\".join(map(str, img.TransformIndexToPhysicalPoint((0, 0, k))))),
                         ("0018|0050", "2.0")):
            sl.SetMetaData(tag, val)
        writer.SetFileName(str(folder / f"{k:03d}.dcm"))
        writer.Execute(sl)
    out = read_image(folder, context=CTX)
    assert out.GetSize() == img.GetSize()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(out), arr)
    assert out.GetSpacing()[2] == pytest.approx(2.0)


def test_missing_file_names_patient_sequence_file(tmp_path):
    with pytest.raises(InputError) as e:
        read_image(tmp_path / "nope.nii.gz", context=CTX)
    assert "P07" in str(e.value) and "'ap'" in str(e.value) and "nope.nii.gz" in str(e.value) and "not found" in str(e.value)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"this is not an image")
    with pytest.raises(InputError) as e:
        read_image(bad, context=CTX)
    assert "broken.nii.gz" in str(e.value) and "cannot be read" in str(e.value) and "P07" in str(e.value)


def test_empty_mask_and_non_integer_mask(tmp_path):
    img, msk, _, _ = _pair()
    write_image(msk * 0, tmp_path / "empty.nrrd")
    with pytest.raises(InputError, match=r"P07.*'ap'.*empty.nrrd.*empty for label 1"):
        read_mask(tmp_path / "empty.nrrd", context=CTX)
    with pytest.raises(InputError, match="empty for label 2"):
        write_image(msk, tmp_path / "m.nrrd")
        read_mask(tmp_path / "m.nrrd", label=2, context=CTX)
    write_image(sitk.Cast(msk, sitk.sitkFloat32) * 0.5, tmp_path / "frac.nrrd")
    with pytest.raises(InputError, match="non-integer"):
        read_mask(tmp_path / "frac.nrrd", context=CTX)


def test_geometry_mismatch(tmp_path):
    img, msk, _, _ = _pair()
    write_image(img, tmp_path / "i.nrrd")
    moved = sitk.Image(msk)
    moved.SetOrigin((-10.0, 5.0, 4.5))
    write_image(moved, tmp_path / "m.nrrd")
    with pytest.raises(InputError) as e:
        read_image_and_mask(tmp_path / "i.nrrd", tmp_path / "m.nrrd", context=CTX)
    assert "m.nrrd" in str(e.value) and "origin" in str(e.value) and "i.nrrd" in str(e.value)
    small = msk[:, :, :5]
    assert "size" in geometry_mismatch(img, small)[0]
    resp = sitk.Image(msk)
    resp.SetSpacing((0.8, 0.8, 2.5))
    assert "spacing" in geometry_mismatch(img, resp)[0]
    # differences far below the voxel size are rounding noise, accepted
    near = sitk.Image(msk)
    near.SetOrigin((-10.0 + 1e-5, 5.0, 2.5))
    assert geometry_mismatch(img, near) == []
