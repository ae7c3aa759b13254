"""The rpy2 bridge's mechanics: conversions, classed R errors and warnings, the
session lock and what starting R leaves in the process environment.

Round trips go through the bridge helper ``bridge_identity`` (R/bridge.R);
errors and warnings through exported functions given bad or degenerate input.
These tests own conversion; the numbers themselves are owned by the R tests
(tests/testthat) and R-vs-Python equality by tests/cross.
"""

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from radnomo import errors, stats
from radnomo.errors import InputError, NothingSelectedError, RError, RInputError, SeparationError
from radnomo.stats import _convert as cv
from radnomo.stats import session
from radnomo.stats.session import RWarning, call


def echo(value, **kw):
    with session.r_lock:
        return cv.from_r(call("bridge_identity", value), **kw)


# ------------------------------------------------------------- conversion --
def test_scalar_and_vector_round_trip():
    assert echo(3.5) == 3.5
    assert echo("text") == "text"
    assert echo(True) is True
    out = echo(np.array([1.5, np.nan, -2.0]), simplify_scalars=False)
    assert np.isnan(out[1]) and out[0] == 1.5 and out[2] == -2.0
    assert echo(None) is None


def test_nan_from_python_is_r_na_not_nan():
    # R's NA_real_ is a NaN whose low word is 1954; R's is.na-based checks need NA
    vec = cv.r_numvec([1.0, np.nan])
    bits = np.frombuffer(vec.memoryview().tobytes(), dtype=np.uint64)
    assert bits[1] & 0xFFFFFFFF == 1954
    assert bits[0] == np.float64(1.0).view(np.uint64)


def test_dataframe_round_trip_keeps_types_and_na():
    df = pd.DataFrame({
        "num": [1.25, None, 3.0],
        "txt": ["a", None, "c"],
        "cat": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"]),
        "flag": [True, False, True],
        "count": [1, 2, 3],
    })
    back = echo(df)
    assert list(back.columns) == list(df.columns)
    assert back["num"].iloc[0] == 1.25 and np.isnan(back["num"].iloc[1])
    assert back["txt"].iloc[0] == "a" and pd.isna(back["txt"].iloc[1])
    # R saw a factor (levels in order), a logical and an integer: each converts back as such
    assert list(back["cat"].cat.categories) == ["lo", "hi"] and list(back["cat"]) == ["lo", "hi", "lo"]
    assert back["flag"].tolist() == [True, False, True]
    assert back["count"].dtype.kind == "i" and back["count"].tolist() == [1, 2, 3]


def test_r_classes_of_converted_columns():
    df = pd.DataFrame({"cat": pd.Categorical(["a", "b"]), "n": [1.0, 2.0]})
    with session.r_lock:
        h = cv.RHandle(cv.r_dataframe(df))
        assert h.classes == ["data.frame"]
        assert cv._classes(cv.list_component(h.robj, "cat")) == ["factor"]


def test_wide_matrix_crosses_exactly_with_names():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(31, 2500))
    names = [f"f{j}" for j in range(x.shape[1])]
    m = cv.r_matrix(x, names)
    back = echo(m)
    assert back.shape == x.shape
    assert np.array_equal(back.to_numpy(), x)  # bit-identical
    assert list(back.columns) == names
    frame = echo(call("bridge_frame", m, pd.DataFrame({"id": [str(i) for i in range(31)]})))
    assert list(frame.columns[:3]) == ["id", "f0", "f1"] and frame.shape == (31, 2501)
    # column-major layout is right: a column reaches R as that column
    assert np.array_equal(frame["f1"].to_numpy(), x[:, 1])


def test_named_list_converts_to_dict():
    out = echo({"a": 1.0, "b": "x", "c": [1.0, 2.0]})
    assert out["a"] == 1.0 and out["b"] == "x" and list(out["c"]) == [1.0, 2.0]


def test_result_tables_have_python_types():
    r = stats.roc_metrics([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    assert list(r.columns) == ["n", "n_events", "auc", "auc_lower", "auc_upper", "threshold", "sensitivity",
                               "specificity", "ppv", "npv", "accuracy"]
    assert r["n"].dtype.kind == "i" and int(r["n"].iloc[0]) == 6 and int(r["n_events"].iloc[0]) == 3
    assert all(r[c].dtype == float for c in r.columns[2:])
    d = stats.delong_test([0, 0, 1, 1, 0, 1], {"a": [0.1, 0.4, 0.35, 0.8, 0.2, 0.9],
                                               "b": [0.3, 0.2, 0.5, 0.6, 0.1, 0.4]})
    assert list(d.columns) == ["model_1", "model_2", "auc_1", "auc_2", "difference", "lower", "upper", "z", "p"]
    assert d["model_1"].tolist() == ["a"] and d["model_2"].tolist() == ["b"]


def test_validation_metrics_through_the_bridge():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0], dtype=float)
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.6, 0.55, 0.45])
    m = stats.validation_metrics(y, p)
    assert list(m) == ["auc", "brier", "scaled_brier", "citl", "recalibration_intercept", "slope", "emax", "e90"]
    assert m["brier"] == pytest.approx(np.mean((y - p) ** 2), rel=1e-12)
    # Mann-Whitney AUC counted here
    pos, neg = p[y == 1], p[y == 0]
    assert m["auc"] == pytest.approx(np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg]), rel=1e-12)
    with pytest.raises(InputError, match="0/1"):
        stats.validation_metrics([0, 2, 1], [0.1, 0.2, 0.3])


# ----------------------------------------------------- errors and warnings --
def test_bad_argument_from_python_is_an_input_error_as_in_r():
    y = [0, 0, 1, 1, 0, 1]
    with pytest.raises(InputError, match="'score' has 5 values") as ei:
        stats.roc_metrics(y, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert isinstance(ei.value, RInputError) and isinstance(ei.value, ValueError)
    assert ei.value.r_class == "radnomo_input_error"
    with pytest.raises(InputError, match="two classes"):
        stats.roc_metrics(["a", "b", "c", "a"], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(InputError, match="'lambda' should be one of"):  # match.arg, classed
        stats.select_features(np.random.default_rng(1).normal(size=(20, 3)), [0, 1] * 10, lambda_="max")
    with pytest.raises(InputError, match="not a valid R model formula"):
        stats.fit_nomogram(pd.DataFrame({"y": [0, 1], "x": [1.0, 2.0]}), "y ~ (x")
    with pytest.raises(InputError, match="rows"):
        call("bridge_frame", cv.r_matrix(np.ones((3, 2)), ["a", "b"]), pd.DataFrame({"id": ["1", "2"]}))


def test_load_study_of_another_object_is_an_input_error(tmp_path):
    path = tmp_path / "not_a_study.rds"
    with session.r_lock:
        call("bridge_save_rds", [1.0, 2.0], str(path))
    with pytest.raises(InputError, match="not a radnomo study"):
        stats.load_study(path)


def test_nothing_selected_and_separation_errors_keep_their_class():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(40, 5)), columns=[f"f{j}" for j in range(5)])
    y = np.array([0, 1] * 20)
    with pytest.raises(NothingSelectedError) as ei:
        stats.select_features(x, y, mwu_alpha=1e-12, seed=1)
    assert ei.value.r_class == "radnomo_nothing_selected" and not isinstance(ei.value, InputError)
    d = pd.DataFrame({"label": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    with pytest.raises(SeparationError, match='separation = "error"'):
        stats.fit_nomogram(d, "label", ["x"], separation="error")


def test_other_r_errors_are_rerror(tmp_path):
    d = pd.DataFrame({"label": [0, 1, 0, 1, 1, 0], "x": [1.0, 2, 4, 3, 6, 5]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nm = stats.fit_nomogram(d, "label", ["x"])
    # a missing folder is bad input, checked by radnomo
    with pytest.raises(InputError, match="does not exist"):
        stats.plot_nomogram(nm, tmp_path / "missing" / "folder" / "n.png")
    # a folder in the file's place: the graphics device fails, R's own error without a radnomo class
    (tmp_path / "n.png").mkdir()
    with pytest.raises(RError) as ei:
        stats.plot_nomogram(nm, tmp_path / "n.png")
    assert type(ei.value) is RError and ei.value.r_class == ""


def test_bridge_calls_only_exports_and_its_helpers():
    for name in ("sum", "stop", "metrics_of", "bridge_call", "check_binary"):
        with pytest.raises(RError, match="neither an exported function") as ei:
            call(name, 1.0)
        assert ei.value.r_class == "radnomo_bridge_error"


def test_r_warnings_keep_their_class():
    with pytest.warns(stats.UndefinedMetricWarning, match="PPV is undefined"):
        r = stats.roc_metrics([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], threshold=100)
    assert np.isnan(r["ppv"].iloc[0])
    d = pd.DataFrame({"label": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8],
                      "w": [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2, 0.6]})
    with pytest.warns(stats.SeparationWarning, match="(?i)separat"):
        stats.clinical_logistic(d, "label", ["x", "w"])
    with pytest.warns(stats.EventLevelWarning, match="event = 'yes'"):
        stats.roc_metrics(["no", "yes", "no", "yes"], [0.1, 0.2, 0.3, 0.4])


def test_every_mapped_class_is_a_subclass_of_the_bases():
    assert all(issubclass(c, errors.RError) for c in errors.R_ERROR_CLASSES.values())
    assert all(issubclass(c, errors.RWarning) for c in errors.R_WARNING_CLASSES.values())
    assert issubclass(errors.RInputError, ValueError) and issubclass(errors.RInputError, InputError)
    assert session.WARNING_CLASSES is errors.R_WARNING_CLASSES
    assert session.SeparationWarning is errors.SeparationWarning  # old import path still works


def test_every_r_condition_class_is_mapped():
    """Each radnomo_* condition class signalled in R/*.R has a Python class (or is meant to fall back)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    src = "\n".join(p.read_text(encoding="utf-8") for p in (root / "R").glob("*.R"))
    # S3 object classes (with methods in NAMESPACE) are not conditions
    objects = set(re.findall(r"^S3method\(\w+,(radnomo_\w+)\)", (root / "NAMESPACE").read_text(), re.M))
    warned = set(re.findall(r'warn_classed\("(radnomo_[a-z_]+)"', src))
    warned |= set(re.findall(r'class = c\("(radnomo_[a-z_]+)", "warning"', src))
    assert warned and warned <= set(errors.R_WARNING_CLASSES), warned - set(errors.R_WARNING_CLASSES)
    raised = set(re.findall(r'class = "(radnomo_[a-z_]+)"\)', src)) | set(re.findall(
        r'class = c\("(radnomo_[a-z_]+)"[^)]*"error"', src))
    raised -= objects | {"radnomo_bridge_error"}  # a programming error in the bridge: plain RError
    assert raised and raised <= set(errors.R_ERROR_CLASSES), raised - set(errors.R_ERROR_CLASSES)


# ------------------------------------------------------------------- lock --
def test_lock_is_held_for_the_whole_call_including_conversion(monkeypatch):
    """Two threads call the bridge at once; every R call and the conversion of its result
    run under the lock, without another thread's R call in between."""
    events: list[tuple[int, str]] = []
    real_invoke, real_from_r = session._invoke, cv.from_r

    def invoke(*a, **k):
        assert session.r_lock.held()
        events.append((threading.get_ident(), "call"))
        out = real_invoke(*a, **k)
        time.sleep(0.005)  # widen the window in which another thread could get in
        return out

    def from_r(*a, **k):
        assert session.r_lock.held(), "conversion outside the R session lock"
        events.append((threading.get_ident(), "convert"))
        return real_from_r(*a, **k)

    monkeypatch.setattr(session, "_invoke", invoke)
    monkeypatch.setattr(cv, "from_r", from_r)
    y = [0, 0, 1, 1, 0, 1, 0, 1]
    s = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.7]
    d = pd.DataFrame({"label": y, "a": s, "b": [1.0, 3, 2, 5, 4, 7, 6, 8]})
    errors_seen: list[BaseException] = []

    def work(k):
        try:
            for _ in range(4):
                if k % 2:
                    stats.roc_metrics(y, s)
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        stats.clinical_logistic(d, "label", ["a", "b"], alpha=1)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors_seen.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors_seen, errors_seen
    # each R call is followed by its own thread's conversions, before any other thread's R call
    calls = [i for i, (_, kind) in enumerate(events) if kind == "call"]
    assert len(calls) == 16
    for i, j in zip(calls, calls[1:] + [len(events)]):
        owner = events[i][0]
        assert all(tid == owner for tid, _ in events[i:j]), events[i:j]
        assert any(kind == "convert" for _, kind in events[i + 1:j])
    assert not session.r_lock.held()


def test_lock_knows_its_owner():
    lock = session.r_lock
    assert not lock.held()
    with lock:
        with lock:
            assert lock.held()
        assert lock.held()
        seen = []
        t = threading.Thread(target=lambda: seen.append(lock.held()))
        t.start()
        t.join()
        assert seen == [False]
    assert not lock.held()


# -------------------------------------------------------------- start-up --
@pytest.mark.parametrize("tz", [None, "Pacific/Auckland"])
def test_starting_r_leaves_tz_alone(tz):
    """TZ (Python's and the C library's view) is the same before and after starting R, and R
    prints nothing about time zones (no timedatectl noise)."""
    code = textwrap.dedent("""
        import ctypes, os, time
        libc = ctypes.CDLL(None)
        libc.getenv.restype = ctypes.c_char_p
        def tz():
            c = libc.getenv(b"TZ")
            return (os.environ.get("TZ"), None if c is None else c.decode(), time.strftime("%z", time.localtime(0)))
        before = tz()
        from radnomo import stats
        stats.roc_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])
        after = tz()
        print("TZ", before, after)
        assert before == after, (before, after)
    """)
    env = {k: v for k, v in os.environ.items() if k != "TZ"}
    if tz is not None:
        env["TZ"] = tz
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "timedatectl" not in res.stderr and "systemd" not in res.stderr, res.stderr
    if tz is not None:
        assert tz in res.stdout


@pytest.mark.parametrize("first", ["roc_metrics", "conversion"])
def test_starting_r_restores_ld_library_path(first):
    """R's start-up prefixes LD_LIBRARY_PATH with its own library folders; radnomo restores it,
    whichever way R is first reached (a bridge function, or a converter such as the ones
    predict/evaluate call first, whose ``import rpy2.robjects`` would start R by itself), so that
    worker processes started afterwards load this interpreter's libraries, not the system's.
    (Seen: ``radnomo predict --workers 2`` failed in its forkserver workers.)"""
    code = textwrap.dedent(f"""
        import os
        before = os.environ.get("LD_LIBRARY_PATH")
        if "{first}" == "roc_metrics":
            from radnomo import stats
            stats.roc_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])
        else:
            from radnomo.stats import _convert
            _convert.r_strvec(["a"])
        from rpy2.rinterface_lib import embedded
        assert embedded.isinitialized()
        after = os.environ.get("LD_LIBRARY_PATH")
        print("LD", before, after)
        assert before == after, (before, after)
    """)
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
