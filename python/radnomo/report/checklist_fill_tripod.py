"""Fillers of the TRIPOD+AI items (``filler:`` names in ``checklists_data/tripod_ai.yaml``): each
answers one item from :class:`~radnomo.report.checklist_facts.RunFacts`."""

from __future__ import annotations

from radnomo.report.checklist_answers import (Answer, authors, exclusion_counts, features_text, fits_text,
                                             headline_text, missing_text, n_text, preproc_text, shown, split_text,
                                             validation_text, youden_text)


def t1(f):
    return Answer(f"Run title: \"{f.title}\"." if f.title else "", todo="a title that identifies the study as "
                  "developing and evaluating a multivariable prediction model, the target population and the outcome")


def t2(f):
    return Answer(" ".join(x for x in (f"Numbers for the abstract: {n_text(f)}." if f.sets else "",
                                       headline_text(f)) if x), shown("headline", "table3"),
                  todo="the structured abstract (TRIPOD+AI for Abstracts)")


def t4(f):
    test = " and evaluates it on a held-out test set" if f.test else ""
    return Answer(f"This run develops the model on the training set{test}.", todo="the study objectives")


def t5a(f):
    syn = " The data of this run are a synthetic cohort (radnomo.synth)." if f.synthetic else ""
    return Answer(("One cohort (manifest + clinical table), split into development and test sets." + syn),
                  shown("run_inputs"), todo="the data sources (design, routine care/registry), rationale and representativeness")


def t6b(f):
    miss, other = exclusion_counts(f)
    why = ", ".join(f"{n} {k}" for k, n in {**miss, **other}.items())
    ex = (f"radnomo's cohort checks excluded {f.n_excluded} patient(s) ({why}); each is named with its reason "
          "under Warnings." if f.n_excluded else "radnomo's cohort checks excluded no patient.")
    return Answer(ex, shown("warnings"), todo="the study's inclusion and exclusion criteria")


def t7(f):
    return Answer(preproc_text(f) + " Cohort checks (image/mask readability, geometry, outcome agreement between "
                  "manifest and clinical table); features constant on the training set are removed; QC images "
                  "are written per patient.", shown("run_preprocessing", "warnings"),
                  todo="whether preprocessing and quality checks were similar across sociodemographic groups")


def t8a(f):
    return Answer(f"Outcome column '{f.outcome}' (1 = event).", shown("table1"),
                  todo="the outcome definition, time horizon, how and when it was assessed, and the rationale")


def t9a(f):
    return Answer("Candidate predictors: " + features_text(f) + ". All candidates entered the modelling pipeline "
                  "(no pre-selection outside it).", shown("selection", "run_features"),
                  todo="why these clinical variables and imaging sequences were chosen (literature, previous models)")


def t9b(f):
    deep = ("; deep features are the penultimate-layer activations of the fine-tuned network" if f.scope.deep
            else "")
    return Answer("Radiomics features follow the parameter file (feature classes, image types, discretisation) "
                  f"and PyRadiomics' feature definitions{deep}.", shown("run_features"),
                  todo="how and when each clinical predictor and image was acquired, and blinding to the outcome")


def t10(f):
    if not f.sets:
        return authors("how the study size was arrived at and its justification")
    epp = ""
    ntr, evtr = f.train.get("n"), f.train.get("events")
    if f.final_terms and evtr:
        epp = (f" The final model has {len(f.final_terms)} predictor terms: "
               f"{evtr / len(f.final_terms):.1f} events per term in the training set.")
    return Answer(f"Sample: {n_text(f)}.{epp}", shown("table1", "table3"),
                  todo="how the study size was arrived at and whether it was sufficient (sample size calculation)")


def t11(f):
    t = missing_text(f)
    return Answer(t + "." if t else "", shown("warnings", "table1"), todo="" if t else "how missing data were handled")


def t12a(f):
    val = validation_text(f)
    return Answer(f"{split_text(f)[:1].upper() + split_text(f)[1:]}; every selection, scaling and fitting step is "
                  f"fitted on the training set only; internal validation: {val}; the test set is used once, for "
                  "evaluation.", shown("table1", "validation", "run_seeds"))


def t12b(f):
    s = f.stats_settings
    blocks = f.scope.feature_blocks()
    pca = (f"; deep features then reduced by PCA ({100 * float(s.get('pca_variance', 0.95)):.0f}% of the variance)"
           if f.scope.deep else "")
    return Answer(f"{blocks[:1].upper() + blocks[1:]}: Mann–Whitney U filter (p < "
                  f"{s.get('mwu_alpha', '?')}), correlation pruning (|r| > {s.get('cor_threshold', '?')}), "
                  f"z-scoring with training means and SDs{pca}. Clinical variables: continuous "
                  "variables entered linearly (no transformation), categorical ones as indicator terms.",
                  shown("selection"))


def t12c(f):
    s = f.stats_settings
    lam = s.get("lambda", "min")
    return Answer(f"Logistic regression models. {f.scope.score_names()}: LASSO (glmnet, λ{lam} by "
                  f"{s.get('nfolds', '?')}-fold cross-validation) then a {s.get('score', 'logistic')} score on the "
                  f"selected terms; clinical model: univariable screening (p < {s.get('clinical_alpha', '?')}) then "
                  f"multivariable logistic regression; nomogram: logistic regression on {f.scope.nomogram_inputs()} "
                  f"(rms).{fits_text(f)} Internal validation: {validation_text(f)}.",
                  shown("selection", "table2", "model", "validation"))


def t12e(f):
    bits = ["discrimination: AUC with DeLong 95% CI and ROC curves"]
    if f.calibration:
        bits.append("calibration: calibration intercept and slope, Hosmer–Lemeshow test, calibration curves")
    if f.decision_curves:
        bits.append("clinical utility: decision curves (net benefit)")
    if f.delong:
        bits.append("model comparison: paired DeLong tests")
    bits.append("classification: sensitivity, specificity, PPV, NPV and accuracy at the training Youden cut-off")
    return Answer("; ".join(bits) + ".", shown("table3", "roc", "calibration", "dca", "delong"),
                  todo="the rationale for these measures")


def t12f(f):
    return Answer("No model updating (recalibration) was done in this run.")


def t12g(f):
    if not f.model_artifact:
        return Answer("Predictions on the test set come from the model fitted on the training set (coefficients in "
                      "the model tables).", shown("model"))
    deep = ", deep models" if f.scope.deep else ""
    return Answer("Predictions come from the frozen model (folder model/ of the run: configuration, preprocessing "
                  f"and radiomics settings{deep}, R study object); `radnomo predict` applies it to new "
                  "patients. Formula: the coefficient tables and the nomogram.", shown("model", "nomogram", "run_files"))


def t13(f):
    tr = f.train
    frac = f" (events {tr['events']} of {tr['n']}, {100 * tr['events'] / tr['n']:.0f}%, in the training set)" \
        if tr.get("n") else ""
    return Answer(f"No class-imbalance method (no resampling or weighting) was used{frac}.", shown("table1"))


def t15(f):
    return Answer(youden_text(f), shown("table3"),
                  todo="the rationale for the classification cut-off, if classification is intended")


def t16(f):
    if not f.test:
        return Answer(applicable=False, text="No separate evaluation data in this run.")
    return Answer("The training and test sets are a random split of one cohort: same setting, eligibility, outcome "
                  "definition and predictors; Table 1 compares their characteristics.", shown("table1"))


def t18f(f):
    ver = f.software.get("radnomo")
    return Answer(f"Analysis run with radnomo {ver or ''} (the run folder holds the effective configuration and "
                  "the R scripts that rerun the statistics: stats/fit_study.R, validate/validate_study.R).",
                  shown("run_config", "run_software"), todo="where the analysis code is available (repository, DOI)")


def t20a(f):
    if not f.sets:
        return authors("the flow of participants (diagram)")
    ex = f"{f.n_excluded} excluded by the cohort checks; " if f.n_excluded is not None else ""
    return Answer(f"{(f.n_total or 0) + (f.n_excluded or 0)} patients in the cohort; {ex}{n_text(f)}.",
                  shown("table1", "warnings"), todo="a participant flow diagram, and follow-up time if prognostic")


def t20b(f):
    return Answer("Table 1: characteristics overall, by set and by outcome, with missing values where present.",
                  shown("table1", "table1_outcome"),
                  todo="key dates, treatments received and follow-up time; differences across demographic groups")


def t20c(f):
    if not f.test:
        return Answer(applicable=False, text="No separate evaluation data in this run.")
    return Answer("Table 1 compares the training and test sets (p-values per variable).", shown("table1"))


def t21(f):
    if not f.sets:
        return authors("participants and events in each analysis")
    v = f.validation or {}
    res = f" Internal validation resampled the training set {v.get('n_resamples')} times." if v.get("n_resamples") else ""
    return Answer(f"Development (feature selection, tuning by cross-validation, fitting): training set "
                  f"{f.train.get('n')} patients ({f.train.get('events')} events). Evaluation: test set "
                  f"{f.test.get('n')} patients ({f.test.get('events')} events).{res}", shown("table3", "validation"))


def t22(f):
    art = " The frozen model (folder model/) reproduces the predictions." if f.model_artifact else ""
    scores = f" and of the {f.scope.score_names()}" if f.scope.scores else ""
    return Answer(f"The full model: coefficients of the nomogram{scores}, and the nomogram "
                  f"itself.{art}", shown("model", *f.scope.scores, "nomogram"),
                  todo="restrictions on access to or reuse of the model, if any")


def t23a(f):
    return Answer(" ".join(x for x in (headline_text(f), "Every model's AUC with its 95% CI per set, ROC and "
                                       "calibration curves, decision curves.") if x),
                  shown("table3", "validation", "roc", "calibration", "dca"),
                  todo="performance in key subgroups (e.g. sociodemographic), if examined")


def t24(f):
    return Answer("No model updating was done.")


def t26(f):
    n = len(f.warnings)
    return Answer(f"The run lists {n} warning(s) (separation, fallbacks, removed features) and its "
                  "internal validation shows the optimism of the apparent performance." if n else "",
                  shown("warnings", "validation") if n else (),
                  todo="the study's limitations and their effect on bias, uncertainty and generalisability")


def t27a(f):
    return Answer("radnomo refuses incomplete input at prediction time: a missing clinical value or an unreadable "
                  "image/mask is named per patient (`radnomo predict`).",
                  todo="how poor-quality or unavailable input data should be handled in practice")
