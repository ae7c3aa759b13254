"""Linear SHAP values (python/radnomo/explain/shap.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radnomo.errors import InputError
from radnomo.explain.shap import (expected_value, linear_shap_values, plot_shap_patient, plot_shap_summary,
                                  shap_importance)


@pytest.fixture()
def data():
    rng = np.random.default_rng(1)
    train = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    test = pd.DataFrame(rng.normal(size=(15, 3)) + 0.3, columns=["a", "b", "c"])
    coef = pd.Series({"(Intercept)": -0.4, "a": 1.2, "b": -0.7, "c": 0.05})
    return train, test, coef


def test_matches_closed_form_and_adds_up(data):
    train, test, coef = data
    phi = linear_shap_values(coef, test, train)
    # closed form b_j (x_ij - mean_train_j)
    expected = (test - train.mean()) * coef[["a", "b", "c"]]
    np.testing.assert_allclose(phi.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    # local accuracy: sum_j phi_ij = f(x_i) - E_train f(x)
    f = coef["(Intercept)"] + test @ coef[["a", "b", "c"]]
    base = expected_value(coef, train, intercept=coef["(Intercept)"])
    np.testing.assert_allclose(phi.sum(axis=1) + base, f, atol=1e-12)
    assert list(shap_importance(phi).index)[0] == "a"


def test_matches_shap_linear_explainer(data):
    """shap.LinearExplainer (independent masker, training background) gives the same values."""
    shap = pytest.importorskip("shap")
    train, test, coef = data
    b = coef[["a", "b", "c"]].to_numpy()
    explainer = shap.LinearExplainer((b, coef["(Intercept)"]), train.to_numpy())
    ref = explainer.shap_values(test.to_numpy())
    phi = linear_shap_values(coef, test, train)
    np.testing.assert_allclose(phi.to_numpy(), ref, rtol=1e-10, atol=1e-12)
    assert float(explainer.expected_value) == pytest.approx(expected_value(coef, train, coef["(Intercept)"]))


def test_errors_name_the_term(data):
    train, test, coef = data
    with pytest.raises(InputError, match=r"lacks the model term\(s\) \['d'\]"):
        linear_shap_values(pd.Series({"d": 1.0}), test, train)
    with pytest.raises(InputError, match="background set is empty"):
        linear_shap_values(coef, test, train.iloc[:0])


def test_plots_are_real_pngs(data, tmp_path):
    train, test, coef = data
    phi = linear_shap_values(coef, test, train)
    p1 = plot_shap_summary(phi, test, tmp_path / "summary.png", title="Rad score")
    p2 = plot_shap_patient(phi.iloc[0], test.iloc[0], 0.1, tmp_path / "p1.png", title="patient 1")
    from PIL import Image

    for p in (p1, p2):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        im = np.asarray(Image.open(p).convert("L"))
        assert im.shape[0] > 150 and im.std() > 10  # not blank


def test_patient_plot_axis_label_fits_in_the_figure(data, tmp_path, monkeypatch):
    """The per-patient x label (score summary) used to run past the right edge of the figure."""
    import radnomo.explain.shap as sh

    train, test, coef = data
    phi = linear_shap_values(coef, test, train)
    # long PyRadiomics-like names push the axes to the right, as in the study
    long = {c: f"pvp_original_glszm_SmallAreaHighGrayLevelEmphasis_{c}" for c in phi.columns}
    phi, test = phi.rename(columns=long), test.rename(columns=long)
    seen = {}
    real_save = sh._save

    def spy(fig, path):
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        ax = fig.axes[0]
        seen["label"] = ax.xaxis.label.get_window_extent(r)
        seen["title"] = fig._suptitle.get_window_extent(r)
        seen["fig"] = fig.bbox
        return real_save(fig, path)

    monkeypatch.setattr(sh, "_save", spy)
    plot_shap_patient(phi.iloc[0], test.iloc[0], -0.856, tmp_path / "p.png", title="patient 1")
    lab, fig = seen["label"], seen["fig"]
    for box in (lab, seen["title"]):
        assert box.x0 >= fig.x0 and box.x1 <= fig.x1, (box, fig)
