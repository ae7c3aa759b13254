#' radnomo: radiomics, deep-learning and clinical nomograms with validation
#'
#' Statistics for prediction models built from medical-image features and
#' clinical data, written so that a statistician working in R and a user of
#' the companion Python package (which calls these functions through rpy2)
#' get the same numbers.
#'
#' The main functions, in the order a study uses them:
#' * [baseline_table()] — Table 1 by group with p-values;
#' * [select_features()], [transform_features()] — Mann-Whitney U filter,
#'   correlation pruning, z-score, optional PCA, LASSO (glmnet), fitted on
#'   the training set and applied unchanged to new data;
#' * [score_model()] — the Rad or DL score (logistic refit on selected terms);
#' * [clinical_logistic()] — univariable screening by likelihood-ratio test,
#'   multivariable model, odds ratios with Wald 95% CIs, VIFs;
#' * [fit_nomogram()] — the rms nomogram (main effects or a formula with rms
#'   terms), drawn by `plot()`;
#' * [roc_metrics()], [delong_test()] — AUC with DeLong CI, cut-off metrics,
#'   paired DeLong tests (pROC);
#' * [calibration()] — grouped curve, calibration slope and intercepts, Brier,
#'   Hosmer-Lemeshow, rms bootstrap curve and optimism-corrected indexes;
#' * [decision_curve()] — net benefit by rmda's definitions;
#' * [fit_study()] — all of the above for a whole study, with
#'   [strip_study()] to save a model without patient-level data;
#' * [evaluate_study()] — a frozen study on other labelled data (external
#'   validation at the training cut-offs);
#' * [validate_study()] — internal validation of the whole pipeline: every
#'   selection step refitted in each resample (repeated cross-validation,
#'   optimism bootstrap, .632+), with selection stability.
#'
#' Conventions: outcome 0/1 (or `event =` naming the event level); higher
#' score = higher risk; (quasi-)complete separation is detected exactly and
#' handled by a documented policy (`separation =`, Firth's method by
#' default); input errors are conditions of class `radnomo_input_error`,
#' separation warnings `radnomo_separation`. See
#' `vignette("radnomo-for-statisticians", package = "radnomo")`.
#'
#' @keywords internal
"_PACKAGE"
