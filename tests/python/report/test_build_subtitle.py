"""The report's subtitle counts (report/build.py)."""

from radnomo.report.build import _subtitle


def test_subtitle_uses_the_split_counts_when_everyone_was_analysed():
    rec = {"patients": {"test": {"n": 7, "events": 2}, "train": {"n": 17, "events": 6}}}
    assert _subtitle(rec, {"train": (17, 6), "test": (7, 2)}) == \
        "Training set 17 patients (6 events), test set 7 patients (2 events)"


def test_subtitle_names_the_analysed_counts_when_a_patient_was_left_out():
    """Seen: subtitle 'test set 7 patients' beside Table 3's 'n = 6' after one patient's
    preprocessing failed."""
    rec = {"patients": {"train": {"n": 17, "events": 6}, "test": {"n": 7, "events": 2}}}
    assert _subtitle(rec, {"train": (17, 6), "test": (6, 2)}) == \
        "Training set 17 patients (6 events), test set 6 patients analysed (2 events; 7 in the split)"
    assert _subtitle({}, {}) is None
