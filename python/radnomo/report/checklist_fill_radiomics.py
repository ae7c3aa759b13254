"""Fillers of the CLEAR and METRICS items (``filler:`` names in ``checklists_data/clear.yaml`` and
``metrics.yaml``); several reuse the TRIPOD+AI answers."""

from __future__ import annotations

from radnomo.report.checklist_answers import (Answer, authors, features_text, fits_text, metric, n_text,
                                             preproc_text, shown, split_text, steps_text, validation_text, yes)
from radnomo.report.checklist_fill_tripod import t13, t18f, t23a


def c12(f):
    feats = "radiomics/deep features" if f.scope.deep else "radiomics features"
    return Answer(f"The pipeline's stages (split → preprocess → {feats} → statistics → validation → "
                  "explanation → model → report) with their timings are in the run record.", shown("run_stages"),
                  todo="a flowchart figure of the technical pipeline")


def c15(f):
    return Answer(split_text(f)[:1].upper() + split_text(f)[1:] + "; no patient appears in both sets.",
                  shown("table1", "run_seeds"))


def c16(f):
    return Answer("Processing: " + preproc_text(f), shown("run_preprocessing"),
                  todo="the image acquisition protocol (scanners, field strength, sequence parameters, contrast timing)")


def c17(f):
    n = len(f.clinical_variables)
    return Answer(f"{n} clinical variables, summarised in Table 1.", shown("table1"),
                  todo="the definition and measurement of each clinical variable")


def c19(f):
    p = f.preprocessing
    src = (f" Masks drawn on {str(p.get('reference', '')).upper()} are used for every registered sequence "
           f"(preprocess.mask_source: {p.get('mask_source')}).") if p.get("mask_source") == "reference" else ""
    return Answer(src.strip(), shown("run_preprocessing") if src else (),
                  todo="the segmentation strategy (manual, semi-automated, automated; software; region, margins)")


def c21(f):
    return Answer(preproc_text(f), shown("run_preprocessing"))


def c22(f):
    sp = f.preprocessing.get("spacing")
    if not sp:
        return authors("the resampling method and its parameters")
    return Answer("Resampled to " + " × ".join(f"{float(s):g}" for s in sp) + " mm isotropic voxels after "
                  "registration (SimpleITK).", shown("run_preprocessing"),
                  todo="")


def c23(f):
    return (Answer(f"Gray-level discretisation: {f.discretization}.", shown("run_features")) if f.discretization
            else authors("the discretisation method and its parameters"))


def c24(f):
    return (Answer("Image types: " + ", ".join(f.image_types) + ".", shown("run_features")) if f.image_types
            else authors("the image types (original, filtered)"))


def c25(f):
    eng = {"pyradiomics": "PyRadiomics", "radnomo": "radnomo's engine (PyRadiomics' feature definitions)"}.get(
        f.radiomics_engine or "", "PyRadiomics-defined features")
    ver = f.software.get("pyradiomics")
    deep = f"; deep features: {f.deep['architecture']}" if f.deep else ""
    return Answer(f"Hand-crafted features: {eng}" + (f" (PyRadiomics {ver})" if ver else "") + deep + ".",
                  shown("run_features", "run_software"))


def c26(f):
    return (Answer("Feature classes: " + ", ".join(f.feature_classes) + ".", shown("run_features")) if f.feature_classes
            else authors("the feature classes"))


def c27(f):
    return (Answer(features_text(f) + ".", shown("selection")) if f.feature_counts else authors("the number of features"))


def c28(f):
    return Answer("The complete extraction settings are the run's parameter file (radiomics/params.yaml); every "
                  "setting not in it is PyRadiomics' default.", shown("run_features", "run_files"))


def c30(f):
    return t13(f)


def c32(f):
    return Answer("Features z-scored with the training set's means and SDs (applied unchanged to the test set); "
                  "image intensities normalised before extraction (see pre-processing).", shown("selection", "run_preprocessing"))


def c33(f):
    return Answer("Steps with feature counts: " + steps_text(f) + ".", shown("selection", "stability"))


def c34(f):
    return Answer("Logistic regression (LASSO-penalised for selection, then unpenalised or Firth refits); "
                  f"the nomogram combines {f.scope.nomogram_inputs()}." + fits_text(f), shown("model", "table2"))


def c35(f):
    s = f.stats_settings
    deep = ""
    if f.deep:
        d = f.deep
        deep = (f" Deep models: {d['architecture']} fine-tuned for {d.get('epochs')} epoch(s), learning rate {d.get('lr')}, "
                f"input {d.get('image_size')} px, starting from "
                + ("ImageNet weights" if d.get("pretrained") else "random initialisation") + ".")
    return Answer(f"LASSO penalty chosen by {s.get('nfolds', '?')}-fold cross-validation on the training set "
                  f"(λ{s.get('lambda', 'min')}), seed {s.get('seed', '?')}.{deep}", shown("run_seeds", "run_config"))


def c37(f):
    names = {"clinical": "clinical", "rad_score": "Rad score", "dl_score": "DL score", "nomogram": "nomogram"}
    return Answer(f"No model selection among algorithms: the {f.scope.n_models} prespecified models ("
                  + ", ".join(names[m] for m in f.scope.models) + ") are all reported; clinical variables are "
                  "selected by univariable screening (p < "
                  f"{f.stats_settings.get('clinical_alpha', '?')}).", shown("table2", "table3"))


def c38(f):
    v = f" and internal validation of the whole pipeline ({validation_text(f)})" if f.validation else ""
    return Answer(f"Internal hold-out test set{v}.", shown("table3", "validation"),
                  todo="external testing, if done (radnomo evaluate on another cohort)")


def c40(f):
    return Answer("95% CIs: AUC by DeLong; optimism-corrected AUC by Hanley–McNeil; calibration intercept and "
                  "slope with CIs.", shown("table3", "validation", "calibration"))


def c41(f):
    return (Answer("Paired DeLong tests between all models, per set.", shown("delong")) if f.delong
            else authors("statistical comparison of model performance"))


def c42(f):
    return Answer(f"The clinical model (non-radiomic), the {f.scope.score_names()} and the combined nomogram are "
                  "compared on the same patients.", shown("table3", "delong", "dca"))


def c43(f):
    bits = []
    if f.shap:
        bits.append(f"SHAP values of the terms of the {f.scope.score_names()}")
    if f.gradcam:
        bits.append("Grad-CAM maps of the deep models")
    bits.append("the nomogram (points per predictor)")
    return Answer("Explainability: " + "; ".join(bits) + ".", shown("shap", "gradcam", "nomogram") if f.gradcam
                  else shown("shap", "nomogram"))


def c44(f):
    return Answer("Table 1.", shown("table1", "table1_outcome"))


def c46(f):
    extra = "; selection frequencies over the validation resamples" if f.validation else ""
    return Answer("Features surviving each selection step" + extra + ".", shown("selection", "stability"),
                  todo="reproducibility (test-retest, inter-reader) results, if assessed")


def c47(f):
    return t23a(f)


def c54(f):
    files = "radiomics/radiomics.parquet, deep/deep.parquet" if f.scope.deep else "radiomics/radiomics.parquet"
    return Answer(f"The run's feature tables ({files}) can be shared.",
                  shown("run_files"), todo="whether and where the feature data are shared")


def c55(f):
    return Answer("Settings: the run's effective configuration and parameter files.", shown("run_config", "run_files"),
                  todo="whether and where the pre-processing settings and scripts are shared")


def c56(f):
    return t18f(f)


def c57(f):
    return (Answer("Final model files: the run's model/ folder.", shown("run_files"), todo="whether and where it is shared")
            if f.model_artifact else authors("whether the final model files are shared"))


def c58(f):
    return (Answer("The model/ folder runs with `radnomo predict` (a ready-to-use command line).", shown("run_files"),
                   todo="whether a ready-to-use system is shared") if f.model_artifact
            else authors("whether a ready-to-use system is shared"))

def c7(f):
    return Answer("This report pre-fills CLEAR, TRIPOD+AI and METRICS.", shown("checklists"),
                  todo="a statement of adherence, with the completed checklists as supplements")


# ---- METRICS --------------------------------------------------------------------------------

def m11(f):
    if not f.preprocessing or not f.preprocessing.get("enabled", True):
        return authors("the image preprocessing (none was done by radnomo)")
    bits = [preproc_text(f)]
    if f.discretization:
        bits.append(f"Discretisation: {f.discretization}.")
    if f.image_types:
        bits.append("Image types: " + ", ".join(f.image_types) + ".")
    return yes(" ".join(bits), shown("run_preprocessing", "run_features"))


def m12(f):
    if f.radiomics_engine == "pyradiomics":
        return yes(f"PyRadiomics {f.software.get('pyradiomics', '')} (IBSI-compliant software).", shown("run_software"))
    return Answer("Features follow PyRadiomics' definitions"
                  + (" (computed by radnomo's engine)" if f.radiomics_engine == "radnomo" else "") + ".",
                  shown("run_software"), todo="whether the extraction software counts as standardised (IBSI-compliant) "
                  "— radnomo's own engine is not IBSI-certified; PyRadiomics is (radiomics engine: pyradiomics)")


def m13(f):
    deep = f" Deep features: {f.deep['architecture']} (settings in the configuration)." if f.deep else ""
    return yes("Feature types and classes reported; the complete parameter file is part of the run "
                f"(radiomics/params.yaml).{deep}", shown("run_features", "run_config"))


def m15(f):
    if not f.selection_steps:
        return authors("how redundant features were removed")
    pca = "PCA (deep) " if f.scope.deep else ""
    return yes(f"Mann–Whitney U filter, correlation pruning, {pca}and LASSO, with counts after each step: "
                + steps_text(f) + ".", shown("selection"))


def m16(f):
    tr = f.train
    if not tr or not f.final_terms:
        return authors("whether the training data size suits the number of features in the final model")
    return Answer(f"Final model: {len(f.final_terms)} terms fitted on {tr['n']} patients ({tr['events']} events, "
                  f"{tr['events'] / len(f.final_terms):.1f} events per term); apparent versus test and "
                  "optimism-corrected performance are reported.", shown("table3", "validation"),
                  todo="a judgement (or calculation) that this dimensionality suits the data size")


def m18(f):
    if not f.test:
        return authors("the data partitioning")
    return yes(split_text(f)[:1].upper() + split_text(f)[1:] + ", done first; every processing, scaling and "
                "selection step is fitted on the training set only and applied unchanged to the test set.",
                shown("table1", "run_seeds"))


def m20(f):
    hist = " Training histories of the deep models are part of the run." if f.deep else ""
    return yes("AUC, sensitivity, specificity, PPV, NPV and accuracy (with the counts of the confusion matrix) "
                f"per model and set.{hist}", shown("table3", "roc"))


def m21(f):
    return yes("95% confidence intervals (DeLong for AUCs; Hanley–McNeil for the corrected AUC) and "
                "internal validation by resampling.", shown("table3", "validation"))


def m22(f):
    if not f.calibration:
        return Answer("No calibration assessment in this run.", value="no")
    return yes("Calibration intercept and slope, Hosmer–Lemeshow test and calibration curves (training, "
                "bootstrap-corrected, and test).", shown("calibration", "validation"))


def m23(f):
    n = len(f.sequences)
    if n <= 1:
        return yes("A single imaging set is used.")
    return Answer(f"This run combines {n} sequences and does not compare single-sequence models.",
                  todo="a comparison with single-sequence (uni-parametric) models, if done")


def m24(f):
    if "clinical" not in f.models:
        return authors("a comparison with a non-radiomic approach")
    return yes("Compared with the clinical (non-radiomic) model by DeLong tests and decision curves.",
                shown("table3", "delong", "dca"))


def m25(f):
    if "clinical" not in f.models:
        return authors("a comparison with simple or classical statistical models")
    return yes("The clinical logistic regression model is the classical reference; decision curves compare with "
                "treating all or none.", shown("table3", "delong", "dca"))


def m26(f):
    return yes("Internal hold-out test set: " + n_text(f) + ".", shown("table3")) if f.test else \
        Answer("No independent test set in this run.", value="no")


def m30(f):
    if f.model_artifact:
        return Answer("The final model exists as the run's model/ folder, usable with `radnomo predict`.",
                      shown("run_files"), todo="whether it is shared with the public")
    return authors("whether the final model is shared")

def m1(f):
    return Answer("This report pre-fills CLEAR, TRIPOD+AI and METRICS.", shown("checklists"),
                  todo="whether the study adhered to a checklist in its design and reporting")


def m29(f):
    a = t18f(f)
    return Answer(a.text, a.anchors, todo="whether all scripts are shared with the public, with instructions")
