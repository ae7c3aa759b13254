"""The study's clinical model finds the synthetic cohort's true clinical drivers.

The synthetic outcome (radnomo.synth, ground_truth.json) depends on lnafp
(log-OR 0.344 per ln(ng/mL)) and multiple_low_signal (log-OR 1.085) plus two
latent image factors. Marginally (image factors unobserved) the clinical
effects are attenuated: at n = 1000 the univariable ORs are about 1.18 per
unit lnafp and 1.9 for multiple_low_signal, so at the demo's 60 or even the
paper's 224 patients lnafp is often not significant (measured: with 224
patients and the 7:3 split only multiple_low_signal was selected for seed
20250101). The check therefore uses the synthetic clinical table at n = 1000,
through the pipeline's own split and R ``fit_study`` (clinical block only).
"""

from __future__ import annotations

import pytest

from radnomo.pipeline.cohort import stratified_split
from radnomo.pipeline.config import STUDY_CLINICAL


@pytest.fixture(scope="module")
def study():
    from radnomo.errors import MissingDependencyError
    from radnomo.stats.session import r_namespace

    try:
        r_namespace()
    except MissingDependencyError as exc:  # only a missing optional dependency skips
        pytest.skip(f"R / the radnomo R package not available: {exc}")
    import warnings

    from radnomo.stats import fit_study
    from radnomo.synth.clinical import simulate_clinical

    c = simulate_clinical(1000, 20250101)
    split = c.patient_id.map(stratified_split(c.set_index("patient_id").label, 0.3, 20250101))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_study(c[split == "train"], c[split == "test"], clinical=list(STUDY_CLINICAL), B=20, seed=1)


def test_both_true_drivers_are_in_the_multivariable_model(study):
    multi = study.clinical.multivariable.set_index("variable")
    for drv in ("lnafp", "multiple_low_signal"):
        assert drv in study.clinical.selected, drv
        assert multi.loc[drv, "odds_ratio"] > 1 and multi.loc[drv, "p_value"] < 0.05, drv
    # the drivers are the strongest univariable associations
    uni = study.clinical.univariable.sort_values("p_value")
    assert set(uni.variable.head(2)) == {"lnafp", "multiple_low_signal"}
