"""The rpy2 bridge's mechanics: conversions, R errors and warnings.

Uses base R functions reached through radnomo's bridge_call, so these tests
do not depend on the statistics functions themselves.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from radnomo.errors import RError
from radnomo.stats import _convert as cv
from radnomo.stats.session import RWarning, call


def test_scalar_and_vector_round_trip():
    assert cv.from_r(call("sum", np.array([1.0, 2.5]))) == 3.5
    out = cv.from_r(call("identity", np.array([1.5, np.nan, -2.0])), simplify_scalars=False)
    assert np.isnan(out[1]) and out[0] == 1.5 and out[2] == -2.0
    # NaN from Python becomes R's NA (not NaN), so R's is.na-based checks see it
    assert cv.from_r(call("anyNA", np.array([1.0, np.nan]))) is True


def test_r_error_becomes_rerror_with_message():
    with pytest.raises(RError, match="boom happened"):
        call("stop", "boom happened")


def test_r_warning_becomes_python_warning_and_value_is_kept():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        value = cv.from_r(call("warning", "mind the gap"))
    assert value == "mind the gap"
    assert any(issubclass(w.category, RWarning) and "mind the gap" in str(w.message) for w in rec)


def test_dataframe_round_trip_keeps_types_and_na():
    df = pd.DataFrame({
        "num": [1.25, None, 3.0],
        "txt": ["a", None, "c"],
        "cat": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"]),
        "flag": [True, False, True],
        "count": [1, 2, 3],
    })
    back = cv.from_r(call("identity", df))
    assert list(back.columns) == list(df.columns)
    assert back["num"].iloc[0] == 1.25 and np.isnan(back["num"].iloc[1])
    assert back["txt"].iloc[0] == "a" and pd.isna(back["txt"].iloc[1])
    assert list(back["cat"].cat.categories) == ["lo", "hi"] and list(back["cat"]) == ["lo", "hi", "lo"]
    assert back["flag"].tolist() == [True, False, True]
    assert back["count"].tolist() == [1, 2, 3]
    # R sees the right classes
    classes = cv.from_r(call("vapply", df, "class", ""))
    assert classes.to_dict() == {"num": "numeric", "txt": "character", "cat": "factor",
                                 "flag": "logical", "count": "integer"}


def test_wide_matrix_crosses_exactly_with_names():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(31, 2500))
    names = [f"f{j}" for j in range(x.shape[1])]
    m = cv.r_matrix(x, names)
    back = cv.from_r(call("identity", m))
    assert back.shape == x.shape
    assert np.array_equal(back.to_numpy(), x)  # bit-identical
    assert list(back.columns) == names
    # column-major layout is right: R's column sums equal numpy's
    sums = cv.from_r(call("colSums", m))
    assert np.allclose(sums.to_numpy(), x.sum(axis=0), rtol=0, atol=1e-12)
    frame = cv.from_r(call("bridge_frame", m, pd.DataFrame({"id": [str(i) for i in range(31)]})))
    assert list(frame.columns[:3]) == ["id", "f0", "f1"] and frame.shape == (31, 2501)


def test_named_list_converts_to_dict():
    out = cv.from_r(call("list", a=1.0, b="x", c=[1.0, 2.0]))
    assert out["a"] == 1.0 and out["b"] == "x" and list(out["c"]) == [1.0, 2.0]
