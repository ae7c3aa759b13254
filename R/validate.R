# Whole-pipeline internal validation: one resampling engine that refits every
# step of the study (selection, scores, clinical model, nomogram, separation
# policy) on each resample.

#' Internal validation of a whole study by resampling the entire modelling process
#'
#' The apparent performance of a model whose predictors were chosen from
#' thousands of candidates is optimistic, and correcting only the final
#' logistic model (as `rms::validate` or `rms::calibrate` on the nomogram do)
#' treats the selected scores as fixed and understates the optimism (Harrell,
#' *Regression Modeling Strategies*, 2nd ed., section 5.3; Steyerberg,
#' *Clinical Prediction Models*, 2nd ed., ch. 17). `validate_study()` repeats
#' **the whole chain** that [fit_study()] fits — Mann-Whitney U filter,
#' correlation pruning, z-score, PCA of the deep block, cv.glmnet LASSO,
#' score refits, univariable and multivariable clinical selection, the
#' nomogram and the separation policy — on every resample, and evaluates each
#' refitted model.
#'
#' @section Estimators:
#' * `"cv"` (default): repeated stratified k-fold cross-validation
#'   (`repeats` x `folds`). The AUC is the mean of the fold models' AUCs on
#'   their held-out patients (pooling the out-of-fold predictions of
#'   different models before ranking biases it downwards); the Brier score
#'   and the calibration metrics are computed on the pooled out-of-fold
#'   predictions of each repeat (every patient predicted once, by a model
#'   fitted without them) and averaged over the repeats. Optimism =
#'   apparent − cross-validated.
#' * `"boot"`: Efron-Gong optimism bootstrap (Efron & Tibshirani, *An
#'   Introduction to the Bootstrap*, 1993, section 17.6; the method of
#'   `rms::validate`): optimism = mean over `B` resamples of (performance of
#'   the resample's model on the resample − on the original data); corrected
#'   = apparent − optimism.
#' * `"632plus"`: Efron & Tibshirani's .632+ estimator (JASA 1997;92:548-60)
#'   for the AUC (error 1 − AUC, no-information error 0.5) and the Brier score
#'   (no-information error from all pairs of outcomes and apparent risks),
#'   from the out-of-bag performance of `B` bootstrap models; the other
#'   metrics are not defined for it and are NA.
#'
#' Why cross-validation is the default: when the candidates far outnumber the
#' patients (the study: 11,444 features, 156 training patients), each
#' bootstrap resample contains about 63% of the original patients, so a
#' model that memorised its resample looks good on the original data too and
#' the optimism bootstrap under-corrects badly. Measured with radnomo's own
#' selection on pure-noise data (n = 100, 2,000 features, see the tests):
#' the bootstrap-corrected AUC stays far above 0.5 while cross-validation and
#' .632+ give values near 0.5, the truth. With few candidates and no
#' selection the three agree, and the bootstrap is the more precise (and
#' equals `rms::validate`). The .632+ estimate can err the other way when a
#' selection step reacts to duplicated patients: a bootstrap resample holds
#' each of its ~63% distinct patients about 1.6 times, which lets more noise
#' pass the Mann-Whitney filter and the LASSO than in a sample of distinct
#' patients, so the out-of-bag models are worse than the procedure on the
#' full data and .632+ can read lower than cross-validation (seen with 200
#' noise columns added to `MASS::Pima.tr`: nomogram AUC cv 0.72, .632+ 0.61).
#'
#' @section Metrics:
#' Per model (clinical, Rad score, DL score, nomogram): `auc` (c statistic),
#' `brier`, `scaled_brier` (1 − Brier / (prevalence (1 − prevalence))),
#' `citl` (calibration-in-the-large: the intercept of
#' `glm(y ~ 1 + offset(logit(risk)))`; ideal 0), `recalibration_intercept` and
#' `slope` of the logistic recalibration model `glm(y ~ logit(risk))` (what
#' `rms::validate` reports as Intercept and Slope; ideal 0 and 1),
#' (NA when the risks separate the outcomes, where the recalibration slope
#' diverges), `emax` and `e90` (maximum and 90th percentile of the absolute difference
#' between the risk and a `lowess(iter = 0)` calibration curve; Austin &
#' Steyerberg, Stat Med 2019;38:4051-65). The 95% interval of the corrected
#' AUC uses the Hanley-McNeil standard error of an AUC of the corrected size
#' with this sample's numbers of events and non-events (Hanley & McNeil,
#' Radiology 1982;143:29-36): the sampling uncertainty of the AUC, not that of
#' the optimism estimate, so it is approximate (intervals that include both
#' need a second level of resampling; Noma et al., Stat Med
#' 2021;40:5691-701). The DeLong interval of the apparent AUC is not used: it
#' shrinks to nothing as an overfitted model's apparent AUC approaches 1.
#'
#' @section Decision curves:
#' The same resamples give an optimism-corrected decision curve (opt-in net
#' benefit, [decision_curve()]'s definitions, at `thresholds`): with
#' `"boot"`, Efron-Gong (apparent − mean over resamples of the net benefit of
#' the resample's model on the resample minus on the original data); with
#' `"cv"`, the net benefit of each repeat's pooled out-of-fold risks (every
#' patient's risk from a model fitted without them; Vickers et al., BMC Med
#' Inform Decis Mak 2008;8:53), averaged over the repeats; with `"632plus"`
#' it is not defined (NA). The band (`lower`, `upper`) is a **shifted
#' percentile interval**: the 2.5th and 97.5th percentiles of the apparent
#' risks' net benefit over bootstrap draws of the patients, risks fixed
#' (rmda's bootstrap, as [decision_curve()] with `bootstraps`), moved by the
#' estimated optimism. The draws are the engine's own resamples for `"boot"`
#' and `"632plus"` (so with `"boot"` and the same seed they are
#' [decision_curve()]'s draws), `B` draws from `seed` for `"cv"`. Like the
#' AUC interval it shows the sampling uncertainty of the net benefit, not
#' that of the optimism estimate. "all" and "none" involve no model:
#' optimism 0.
#'
#' @section Reproducibility and speed:
#' Each resample gets its own seed drawn from `seed`, so the same `seed`
#' gives identical results with any number of `workers`: forked processes
#' (`parallel::mclapply`) from an R session, separate R processes over
#' sockets when R is embedded (the Python bridge sets
#' `options(radnomo.parallel = "psock")`: forking an embedded R can deadlock)
#' or on Windows. One resampling loop (internal `resample_study()`) refits
#' the chain and predicts every model; the metrics, the corrected
#' calibration curve, the corrected decision curve and the selection
#' stability all come from its results. The feature blocks are converted to
#' matrices once; a resample takes their rows. `timing` reports the mean
#' seconds of a resample per step (radiomics and deep selection + score,
#' clinical model, nomogram, predictions, metrics).
#'
#' @inheritParams fit_study
#' @param train data.frame of the training set (the set the study is fitted on).
#' @param method `"cv"`, `"boot"` or `"632plus"` (see Estimators).
#' @param B Bootstrap resamples (`"boot"`, `"632plus"`); with `"cv"`, the
#'   number of bootstrap draws of the decision curves' band (no refits). 200,
#'   as [fit_study()]'s calibration bootstrap.
#' @param folds,repeats Cross-validation folds and repeats (`"cv"`).
#' @param seed Integer seed of the resamples (1 by default, as [fit_study()]
#'   and the Python bridge; the pipeline passes the study's `stats.seed`).
#' @param workers Number of processes.
#' @param indices Optional list of integer vectors: the training rows of each
#'   resample (bootstrap: drawn with replacement; `"cv"`: the rows a fold's
#'   model is fitted on). Overrides `B`/`folds`/`repeats`; for checking
#'   against other software with the same draws.
#' @param progress Print a line per tenth of the resamples (sequential runs).
#' @param thresholds Risk thresholds of the decision curves (default 0 to
#'   0.99 by 0.01, as [fit_study()] and [evaluate_study()]).
#' @return An object of class `"radnomo_validation"`: `performance`
#'   (data.frame model, metric, apparent, optimism, corrected, lower, upper),
#'   `calibration` (data.frame predicted, apparent, corrected: the nomogram's
#'   calibration curve, corrected by the resampling), `decision`
#'   (data.frame model, threshold, apparent, optimism, corrected, lower,
#'   upper: opt-in net benefit of each model and of "all" and "none"; see the
#'   section Decision curves), `stability`
#'   (data.frame block, feature, frequency: the fraction of resamples in
#'   which the feature was selected; for the deep block the features kept
#'   before PCA), `selected_terms` (data.frame block, resample, n_selected),
#'   `jaccard` (data.frame block, mean_jaccard: mean pairwise Jaccard index
#'   of the selected sets), `resamples` (data.frame reason, n: the resamples
#'   that failed, separated or lacked a model), `timing` (data.frame step,
#'   mean_seconds: where a resample's refit spends its time), `method`,
#'   `n_resamples`, `settings`.
#' @examples
#' set.seed(4)
#' n <- 90
#' d <- data.frame(patient_id = seq_len(n), label = rbinom(n, 1, 0.4), age = rnorm(n, 60, 8))
#' x <- matrix(rnorm(n * 30), n, dimnames = list(NULL, sprintf("f%02d", 1:30)))
#' x[, 1] <- x[, 1] + d$label
#' d <- cbind(d, x)
#' v <- validate_study(d, radiomics = colnames(x), clinical = "age", clinical_alpha = 0.2,
#'                     method = "cv", folds = 5, repeats = 2, nfolds = 5)
#' v$performance[v$performance$model == "nomogram", ]
#' @export
validate_study <- function(train, outcome = "label", radiomics = character(), deep = character(),
                           clinical = character(), id = "patient_id", mwu_alpha = 0.05, cor_threshold = 0.9,
                           pca_variance = 0.95, nfolds = 10, lambda = "min", clinical_alpha = 0.05,
                           score = c("logistic", "lasso"), separation = c("firth", "lasso", "error"),
                           event = NULL, method = c("cv", "boot", "632plus"), B = 200, folds = 10,
                           repeats = 20, seed = 1, workers = 1, indices = NULL, progress = interactive(),
                           thresholds = seq(0, 0.99, by = 0.01)) {
  method <- match_arg(method)
  score <- match_arg(score)
  separation <- match_arg(separation)
  prep <- study_inputs(train, NULL, outcome, radiomics, deep, clinical, id, mwu_alpha, cor_threshold,
                       pca_variance, nfolds, lambda, clinical_alpha, B = B, seed = seed,
                       thresholds = thresholds, score = score, separation = separation,
                       event = event)
  settings <- prep$settings
  y <- prep$y
  n <- length(y)
  check_number(workers, "workers", 1, 1024, integer = TRUE)
  seed <- check_seed(seed)
  if (is.null(seed)) seed <- 1L
  check_number(B, "B", 1, 1e5, integer = TRUE)
  resamples <- validation_resamples(y, method, B, folds, repeats, seed, indices)
  engine <- study_engine(train, y, settings)

  apparent_fit <- quiet_fit(function() engine_fit(engine, seq_len(n), settings$seed))
  if (is.null(apparent_fit$value)) abort("validate_study: the study could not be fitted on the training data (",
                                         apparent_fit$error, ").")
  app <- apparent_fit$value
  app_pred <- engine_risks(engine, app, seq_len(n))
  models <- names(app_pred)[vapply(app_pred, function(p) !all(is.na(p)), logical(1))]
  if (!length(models)) {
    warning(structure(class = c("radnomo_no_model", "warning", "condition"), list(
      message = "validate_study: no model was fitted on the training data (nothing selected); nothing to validate.",
      call = NULL)))
    empty <- performance_table(list(), list(), character())
    empty$lower <- numeric()
    empty$upper <- numeric()
    return(structure(list(performance = empty, calibration = NULL, decision = NULL, stability = NULL,
                          selected_terms = NULL, jaccard = NULL, resamples = NULL, method = method,
                          n_resamples = 0L, settings = settings), class = "radnomo_validation"))
  }
  apparent <- lapply(app_pred[models], function(p) metrics_of(y, p))
  grid <- calibration_grid(app_pred$nomogram)
  thresholds <- settings$thresholds

  # what every resample reports besides its predictions (computed in the worker)
  summarise <- function(p_fit, p_eval, rows, eval_rows) {
    out <- list(fit_metrics = lapply(p_fit, function(p) metrics_of(y[rows], p)),
                eval_metrics = lapply(p_eval, function(p) metrics_of(y[eval_rows], p)))
    if (!is.null(grid) && "nomogram" %in% names(p_fit)) {
      out$curve_fit <- calibration_curve_at(p_fit$nomogram, y[rows], grid)
      out$curve_eval <- calibration_curve_at(p_eval$nomogram, y[eval_rows], grid)
    }
    if (method == "boot") {
      out$nb_fit <- model_net_benefit(y[rows], p_fit, thresholds)
      out$nb_eval <- model_net_benefit(y[eval_rows], p_eval, thresholds)
    }
    out
  }
  task_seeds <- with_seed(seed, sample.int(.Machine$integer.max, length(resamples$train)))
  results <- resample_study(engine, resamples, task_seeds, models, summarise, workers, progress)

  perf <- switch(method,
                 boot = aggregate_boot(apparent, results, models),
                 cv = aggregate_cv(apparent, results, models, resamples, y),
                 `632plus` = aggregate_632(apparent, results, models, y, app_pred))
  perf <- add_auc_interval(perf, y, app_pred)
  curve <- validation_curve(method, grid, app_pred$nomogram, y, results, resamples)
  # the decision curve's band: bootstrap draws of the patients; for "boot"
  # and "632plus" the engine's own resamples, for "cv" B draws from the seed
  draws <- if (method == "cv") bootstrap_indices(n, B, seed) else resamples$train
  decision <- validation_decision(method, y, app_pred, models, results, resamples, thresholds, draws)
  stab <- selection_stability(results)
  timing <- do.call(rbind, lapply(results, function(r) r$timing))
  structure(list(performance = perf, calibration = curve, decision = decision, stability = stab$frequency,
                 selected_terms = stab$counts, jaccard = stab$jaccard,
                 resamples = resample_report(results),
                 timing = if (is.null(timing)) NULL else data.frame(step = colnames(timing),
                                                                    mean_seconds = unname(colMeans(timing)),
                                                                    stringsAsFactors = FALSE),
                 method = method,
                 n_resamples = length(resamples$train), settings = settings),
            class = "radnomo_validation")
}

#' The resampling engine's data: the study's columns, feature blocks as matrices
#'
#' The feature blocks are converted to numeric matrices once (a resample
#' takes their rows), and the data.frame keeps only the id, outcome and
#' clinical columns, so no resample copies or converts the wide table.
#' @noRd
study_engine <- function(train, y, settings) {
  st <- settings
  blocks <- list()
  for (b in c("radiomics", "deep")) {
    if (length(st[[b]])) blocks[[b]] <- check_feature_matrix(train[, st[[b]], drop = FALSE], "train")
  }
  base <- train[, unique(c(st$id, st$outcome, st$clinical)), drop = FALSE]
  rownames(base) <- NULL
  list(base = base, blocks = blocks, y = y, settings = settings)
}

#' The whole study chain fitted on some rows of the engine's data
#' @noRd
engine_fit <- function(engine, rows, seed) {
  st <- engine$settings
  st$seed <- seed
  blocks <- lapply(engine$blocks, function(x) x[rows, , drop = FALSE])
  # a resample's coefficient tables are never read: Firth fits skip their
  # profile-likelihood intervals (the fitted coefficients are unchanged)
  without_profile_ci(study_fit_chain(engine$base[rows, , drop = FALSE], engine$y[rows], st, blocks = blocks))
}

#' Predicted risks of every model of a fitted chain for some rows of the engine's data
#' @noRd
engine_risks <- function(engine, obj, rows) {
  blocks <- lapply(engine$blocks, function(x) x[rows, , drop = FALSE])
  study_risks(obj, with_block_columns(engine$base[rows, , drop = FALSE], blocks, obj))
}

#' The resampling loop, written once
#'
#' Refits the whole study chain ([study_fit_chain()]: selection, scores,
#' clinical model, nomogram, separation policy) on the training rows of
#' every resample, with the resample's own seed, and predicts every model on
#' those rows and on the resample's evaluation rows. A model of the apparent
#' study that a resample did not produce (nothing selected) is the
#' intercept-only model: every patient gets the resample's event rate
#' (leaving such resamples out would condition on selection succeeding and
#' bias the estimates upwards). `summarise(p_fit, p_eval, rows, eval_rows)`
#' runs in the worker and adds its list to the resample's result; everything
#' validate_study() reports — the metrics, the corrected calibration curve,
#' the corrected decision curve and the selection stability — comes from
#' these results. Each result: `ok`, `error`, `warnings`, `timing`,
#' `selected`, `null_models`, `models`, `eval_pred` and `summarise`'s parts.
#' @noRd
resample_study <- function(engine, resamples, seeds, models, summarise, workers = 1L, progress = FALSE) {
  y <- engine$y
  run_one <- function(i) {
    rows <- resamples$train[[i]]
    t0 <- proc.time()[["elapsed"]]
    res <- quiet_fit(function() engine_fit(engine, rows, seeds[i]))
    out <- list(ok = !is.null(res$value), error = res$error, warnings = res$warnings)
    if (!out$ok) return(out)
    obj <- res$value
    t1 <- proc.time()[["elapsed"]]
    out$selected <- selection_sets(obj)
    eval_rows <- resamples$eval[[i]]
    p_fit <- engine_risks(engine, obj, rows)
    p_eval <- engine_risks(engine, obj, eval_rows)
    out$null_models <- character()
    for (m in models) {
      if (all(is.na(p_fit[[m]]))) {
        p_fit[[m]] <- rep(mean(y[rows]), length(rows))
        p_eval[[m]] <- rep(mean(y[rows]), length(eval_rows))
        out$null_models <- c(out$null_models, m)
      }
    }
    out$models <- models
    out$eval_pred <- p_eval[models]
    t2 <- proc.time()[["elapsed"]]
    out <- c(out, summarise(p_fit[models], p_eval[models], rows, eval_rows))
    out$timing <- c(attr(obj, "timing"), predict = t2 - t1, evaluate = proc.time()[["elapsed"]] - t2)
    out
  }
  run_resamples(length(resamples$train), run_one, workers, progress)
}

#' Bootstrap draws of n patients: B vectors of row numbers
#'
#' The draws of `rms::predab.resample(method = "boot")` after the same seed;
#' the resamples of validate_study(method = "boot") and the bootstrap of
#' decision_curve() (caller's RNG state restored when `seed` is given).
#' @noRd
bootstrap_indices <- function(n, B, seed) with_seed(seed, lapply(seq_len(B), function(i) sample(n, replace = TRUE)))

#' Net benefit (opt-in) of each model: a thresholds x models matrix
#' @noRd
model_net_benefit <- function(y, risks, thresholds) {
  t <- dca_table(y, risks, thresholds, "opt-in")
  matrix(t$net_benefit[seq_len(length(risks) * length(thresholds))], length(thresholds),
         dimnames = list(NULL, names(risks)))
}

#' The decision curves of a validation: apparent, optimism-corrected, band
#'
#' * `"boot"`: Efron-Gong: corrected = apparent − mean over resamples of (net
#'   benefit of the resample's model on the resample − on the original data).
#' * `"cv"`: the net benefit of the pooled out-of-fold risks of each repeat
#'   (every patient predicted once, by a model fitted without them; Vickers et
#'   al., BMC Med Inform Decis Mak 2008;8:53), averaged over the repeats.
#' * `"632plus"`: not defined; NA.
#' The band: the percentile interval of the apparent risks' net benefit over
#' bootstrap draws of the patients (rmda's bootstrap, risks fixed), shifted
#' to the corrected curve. "all" and "none" have no model: optimism 0.
#' @noRd
validation_decision <- function(method, y, app_pred, models, results, resamples, thresholds, draws,
                                conf_level = 0.95) {
  app <- dca_table(y, app_pred[models], thresholds, "opt-in")
  nt <- length(thresholds)
  rows_of <- function(k) (k - 1L) * nt + seq_len(nt)
  corrected <- app$net_benefit
  for (k in seq_along(models)) {
    m <- models[k]
    corrected[rows_of(k)] <- switch(method,
      boot = {
        d <- do.call(rbind, lapply(results, function(r) {
          if (isTRUE(r$ok) && m %in% r$models) r$nb_fit[, m] - r$nb_eval[, m]
        }))
        if (is.null(d)) NA_real_ else app$net_benefit[rows_of(k)] - colMeans(d, na.rm = TRUE)
      },
      cv = {
        reps <- sort(unique(resamples$repeat_of))
        per_rep <- vapply(reps, function(r) {
          pred <- rep(NA_real_, length(y))
          for (i in which(resamples$repeat_of == r)) {
            res <- results[[i]]
            if (isTRUE(res$ok) && m %in% res$models) pred[resamples$eval[[i]]] <- res$eval_pred[[m]]
          }
          ok <- !is.na(pred)
          if (length(unique(y[ok])) < 2L) return(rep(NA_real_, nt))
          model_net_benefit(y[ok], stats::setNames(list(pred[ok]), m), thresholds)[, 1L]
        }, numeric(nt))
        rowMeans(matrix(per_rep, nt), na.rm = TRUE)
      },
      NA_real_)
  }
  band <- dca_bootstrap(y, app_pred[models], thresholds, "opt-in", draws, conf_level)
  out <- data.frame(model = app$model, threshold = app$threshold, apparent = app$net_benefit,
                    optimism = app$net_benefit - corrected, corrected = corrected,
                    lower = corrected - (app$net_benefit - band$nb[, 1L]),
                    upper = corrected + (band$nb[, 2L] - app$net_benefit), stringsAsFactors = FALSE)
  attr(out, "prevalence") <- mean(y)
  out
}

#' Checked inputs and settings shared by fit_study() and validate_study()
#' @noRd
study_inputs <- function(train, test, outcome, radiomics, deep, clinical, id, mwu_alpha, cor_threshold,
                         pca_variance, nfolds, lambda, clinical_alpha, B, seed, thresholds, score, separation,
                         event) {
  lambda <- match_arg(lambda, c("min", "1se"))
  blocks <- list(radiomics = radiomics, deep = deep, clinical = clinical)
  for (a in names(blocks)) {
    v <- blocks[[a]]
    if (is.null(v)) v <- character()
    if (!is.character(v) || anyNA(v)) abort("'", a, "' must be a character vector of column names.")
    blocks[[a]] <- v
  }
  if (!length(blocks$radiomics) && !length(blocks$deep) && !length(blocks$clinical)) {
    abort("At least one of 'radiomics', 'deep' or 'clinical' must name columns.")
  }
  needed <- unique(c(id, outcome, blocks$radiomics, blocks$deep, blocks$clinical))
  check_study_data(train, needed, "train")
  check_unique_ids(train[[id]], id, "train")
  for (b in c("radiomics", "deep")) check_numeric_block(train, blocks[[b]], b, "train")
  if (!is.null(test)) {
    check_study_data(test, needed, "test")
    for (b in c("radiomics", "deep")) check_numeric_block(test, blocks[[b]], b, "test")
    check_unique_ids(test[[id]], id, "test")
    both <- intersect(as.character(train[[id]]), as.character(test[[id]]))
    if (length(both)) {
      abort("Patient(s) ", name_list(both), " are in both 'train' and 'test' (column '", id,
            "'): each patient must be in one set only (anything fitted on train would have seen them).")
    }
  }
  seed <- check_seed(seed)
  if (!is.numeric(thresholds) || anyNA(thresholds) || any(thresholds < 0 | thresholds > 1)) {
    abort("'thresholds' must be numeric values in [0, 1].")
  }
  code_y <- outcome_coder(train[[outcome]], outcome, event)
  y <- code_y(train[[outcome]], "train")
  settings <- list(outcome = outcome, radiomics = blocks$radiomics, deep = blocks$deep,
                   clinical = blocks$clinical, id = id, mwu_alpha = mwu_alpha, cor_threshold = cor_threshold,
                   pca_variance = pca_variance, nfolds = nfolds, lambda = lambda,
                   clinical_alpha = clinical_alpha, B = B, seed = seed, thresholds = thresholds,
                   score = score, separation = separation, event_level = attr(code_y, "event"),
                   outcome_levels = attr(code_y, "levels"))
  list(settings = settings, code_y = code_y, y = y)
}

#' Run a fit, capturing its value, error and warning classes
#' @noRd
quiet_fit <- function(f) {
  warns <- character()
  value <- tryCatch(
    withCallingHandlers(f(), warning = function(w) {
      cl <- radnomo_class(w)
      warns <<- c(warns, if (nzchar(cl)) cl else "other")
      invokeRestart("muffleWarning")
    }, message = function(m) invokeRestart("muffleMessage")),
    error = function(e) e)
  if (inherits(value, "error")) {
    cl <- radnomo_class(value)
    return(list(value = NULL, error = paste0(if (nzchar(cl)) paste0(cl, ": ") else "", conditionMessage(value)),
                warnings = warns))
  }
  list(value = value, error = NULL, warnings = warns)
}

#' Predicted risks of every model of a fitted chain (NA for absent models)
#' @noRd
study_risks <- function(obj, data) {
  p <- predict.radnomo_study(obj, data)
  as.list(p[c("clinical", "rad_score", "dl_score", "nomogram")])
}

#' Training rows and evaluation rows of each resample
#' @noRd
validation_resamples <- function(y, method, B, folds, repeats, seed, indices) {
  n <- length(y)
  all_rows <- seq_len(n)
  if (!is.null(indices)) {
    if (!is.list(indices) || !length(indices)) abort("'indices' must be a non-empty list of integer vectors.")
    ok <- vapply(indices, function(ix) is.numeric(ix) && length(ix) && all(ix %in% all_rows), logical(1))
    if (!all(ok)) abort("'indices' must hold row numbers of 'train' (1 to ", n, ").")
    train <- lapply(indices, as.integer)
    eval <- switch(method,
                   boot = rep(list(all_rows), length(train)),
                   lapply(train, function(ix) setdiff(all_rows, ix)))
    return(list(train = train, eval = eval, repeat_of = rep(1L, length(train))))
  }
  if (method == "cv") {
    check_number(folds, "folds", 2, n, integer = TRUE)
    check_number(repeats, "repeats", 1, 1e4, integer = TRUE)
    fold_ids <- with_seed(seed, lapply(seq_len(repeats), function(r) stratified_folds(y, folds)))
    train <- list(); eval <- list(); rep_of <- integer()
    for (r in seq_len(repeats)) {
      for (k in seq_len(folds)) {
        train[[length(train) + 1L]] <- which(fold_ids[[r]] != k)
        eval[[length(eval) + 1L]] <- which(fold_ids[[r]] == k)
        rep_of <- c(rep_of, r)
      }
    }
    return(list(train = train, eval = eval, repeat_of = rep_of))
  }
  check_number(B, "B", 1, 1e5, integer = TRUE)
  # the draws of rms::predab.resample(method = "boot") after the same seed
  train <- bootstrap_indices(n, B, seed)
  eval <- if (method == "boot") rep(list(all_rows), B) else lapply(train, function(ix) setdiff(all_rows, ix))
  list(train = train, eval = eval, repeat_of = rep(1L, B))
}

#' Validation metrics of predicted risks
#'
#' The metrics [validate_study()] reports, with its definitions, for any
#' labelled set of predicted risks (e.g. a test set scored by a frozen study,
#' to put beside the optimism-corrected values): `auc` (c statistic),
#' `brier`, `scaled_brier` (1 − Brier / (prevalence (1 − prevalence))),
#' `citl` (calibration-in-the-large: the intercept of
#' `glm(y ~ 1 + offset(logit(p)))`; ideal 0), `recalibration_intercept` and
#' `slope` of the logistic recalibration model `glm(y ~ logit(p))` (what
#' `rms::validate` reports as Intercept and Slope; NA when the risks separate
#' the outcomes or the fit does not converge), `emax` and `e90` (maximum and
#' 90th percentile of |p − lowess(iter = 0) calibration curve|; Austin &
#' Steyerberg, Stat Med 2019;38:4051-65). Patients whose risk is `NA` are
#' left out; a metric undefined for the data (e.g. the AUC with one outcome
#' class) is `NA`.
#'
#' @param y Outcomes coded 0/1 (numeric or logical), no missing values.
#' @param p Predicted risks in \[0, 1\] (`NA` allowed), one per patient.
#' @return A named numeric vector: auc, brier, scaled_brier, citl,
#'   recalibration_intercept, slope, emax, e90.
#' @examples
#' set.seed(1)
#' p <- runif(200)
#' y <- rbinom(200, 1, p)
#' validation_metrics(y, p)
#' # the AUC equals the Mann-Whitney estimate
#' all.equal(validation_metrics(y, p)[["auc"]], as.numeric(pROC::auc(y, p, direction = "<", quiet = TRUE)))
#' @export
validation_metrics <- function(y, p) {
  if (is.logical(y)) y <- as.integer(y)
  if (!is.numeric(y) || !length(y) || anyNA(y) || !all(y %in% c(0, 1))) {
    abort("'y' must be 0/1 outcomes without missing values.")
  }
  if (!is.numeric(p)) abort("'p' must be numeric predicted risks, not ", class(p)[1L], ".")
  check_same_length(length(y), p, "p")
  if (any(p < 0 | p > 1, na.rm = TRUE)) abort("'p' must be predicted risks in [0, 1]; found values outside.")
  metrics_of(as.numeric(y), as.numeric(p))
}

#' The metrics of one set of predicted risks (unchecked; validation_metrics())
#' @noRd
metrics_of <- function(y, p) {
  out <- c(auc = NA_real_, brier = NA_real_, scaled_brier = NA_real_, citl = NA_real_,
           recalibration_intercept = NA_real_, slope = NA_real_, emax = NA_real_, e90 = NA_real_)
  ok <- !is.na(p)
  y <- y[ok]
  p <- p[ok]
  if (length(y) < 2L) return(out)
  prev <- mean(y)
  out["brier"] <- mean((y - p)^2)
  if (prev > 0 && prev < 1) out["scaled_brier"] <- 1 - out[["brier"]] / (prev * (1 - prev))
  if (length(unique(y)) < 2L) return(out)
  n1 <- sum(y == 1)
  n0 <- sum(y == 0)
  out["auc"] <- (sum(rank(p)[y == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
  lg <- stats::qlogis(pmin(pmax(p, 1e-12), 1 - 1e-12))
  # the recalibration model is undefined when the risks separate the
  # outcomes (its slope diverges) or when it does not converge: NA
  separated <- max(lg[y == 0]) < min(lg[y == 1]) || min(lg[y == 0]) > max(lg[y == 1])
  if (stats::var(lg) > 0 && !separated) {
    g <- suppressWarnings(stats::glm.fit(cbind(1, lg), y, family = stats::binomial(),
                                         control = stats::glm.control(epsilon = 1e-12, maxit = 50)))
    if (isTRUE(g$converged)) {
      out["recalibration_intercept"] <- g$coefficients[[1L]]
      out["slope"] <- g$coefficients[[2L]]
    }
  }
  # calibration-in-the-large: intercept of glm(y ~ 1 + offset(logit(risk)))
  gi <- suppressWarnings(stats::glm.fit(matrix(1, length(y)), y, offset = lg, family = stats::binomial(),
                                        start = 0, control = stats::glm.control(epsilon = 1e-12, maxit = 50)))
  if (isTRUE(gi$converged)) out["citl"] <- gi$coefficients[[1L]]
  if (length(unique(p)) > 1L) {
    sm <- stats::lowess(p, y, iter = 0)
    cal <- stats::approx(sm, xout = p, ties = mean)$y
    d <- abs(p - cal)
    out["emax"] <- max(d, na.rm = TRUE)
    out["e90"] <- stats::quantile(d, 0.9, na.rm = TRUE, names = FALSE)
  }
  out
}

#' Grid of 50 risks for the calibration curve (as rms::calibrate)
#' @noRd
calibration_grid <- function(p) {
  if (is.null(p) || all(is.na(p)) || sum(!is.na(p)) < 11L) return(NULL)
  s <- sort(p[!is.na(p)])
  n <- length(s)
  seq(s[5L], s[n - 4L], length.out = 50L)
}

#' lowess calibration curve read at the grid
#' @noRd
calibration_curve_at <- function(p, y, grid) {
  ok <- !is.na(p)
  if (sum(ok) < 3L || length(unique(p[ok])) < 2L) return(rep(NA_real_, length(grid)))
  sm <- stats::lowess(p[ok], y[ok], iter = 0)
  stats::approx(sm, xout = grid, ties = function(v) v[1L])$y
}

#' Run the resamples sequentially, on forked workers or on socket workers
#'
#' Forked workers (`parallel::mclapply`) are the fastest, but forking an R
#' that is embedded in another multi-threaded program (the Python bridge,
#' with torch's and BLAS's thread pools) can deadlock the child; there, and
#' on Windows, separate R processes over sockets are used
#' (`parallel::makePSOCKcluster`). The bridge sets
#' `options(radnomo.parallel = "psock")`. Results do not depend on the
#' backend (one seed per resample).
#' @noRd
run_resamples <- function(n_tasks, run_one, workers, progress) {
  if (workers > 1L) {
    backend <- getOption("radnomo.parallel", if (.Platform$OS.type == "unix") "fork" else "psock")
    if (isTRUE(progress)) message("validate_study: ", n_tasks, " resamples on ", workers, " ", backend, " workers")
    if (backend == "fork") {
      # one fork per resample, handed to the next free worker: resamples differ in cost (a
      # bootstrap sample's duplicates let more features through), so static halves idle a core
      return(parallel::mclapply(seq_len(n_tasks), run_one, mc.cores = workers, mc.preschedule = FALSE))
    }
    cl <- parallel::makePSOCKcluster(workers)
    on.exit(parallel::stopCluster(cl), add = TRUE)
    parallel::clusterCall(cl, function() {
      Sys.setenv(TZ = "UTC")
      suppressPackageStartupMessages(requireNamespace("radnomo", quietly = TRUE))
    })
    # load-balanced chunks (about four per worker): each chunk ships run_one's environment (the
    # feature matrices) once, and a worker that finishes early takes the next chunk
    return(parallel::parLapplyLB(cl, seq_len(n_tasks), run_one,
                                 chunk.size = max(1L, ceiling(n_tasks / (4L * workers)))))
  }
  out <- vector("list", n_tasks)
  step <- max(1L, n_tasks %/% 10L)
  for (i in seq_len(n_tasks)) {
    out[[i]] <- run_one(i)
    if (isTRUE(progress) && (i %% step == 0L || i == n_tasks)) message("validate_study: ", i, "/", n_tasks, " resamples")
  }
  out
}

#' @noRd
metric_names <- function() c("auc", "brier", "scaled_brier", "citl", "recalibration_intercept", "slope", "emax", "e90")

#' @noRd
performance_table <- function(apparent, estimate, models) {
  rows <- lapply(models, function(m) {
    a <- apparent[[m]]
    e <- estimate[[m]]
    data.frame(model = m, metric = metric_names(), apparent = unname(a[metric_names()]),
               optimism = unname(a[metric_names()] - e[metric_names()]),
               corrected = unname(e[metric_names()]), stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  if (is.null(out)) {
    out <- data.frame(model = character(), metric = character(), apparent = numeric(), optimism = numeric(),
                      corrected = numeric(), stringsAsFactors = FALSE)
  }
  rownames(out) <- NULL
  out
}

#' Efron-Gong optimism bootstrap
#' @noRd
aggregate_boot <- function(apparent, results, models) {
  est <- lapply(stats::setNames(models, models), function(m) {
    d <- do.call(rbind, lapply(results, function(r) {
      if (!isTRUE(r$ok) || !m %in% r$models) return(NULL)
      r$fit_metrics[[m]] - r$eval_metrics[[m]]
    }))
    opt <- if (is.null(d)) rep(NA_real_, length(metric_names())) else colMeans(d, na.rm = TRUE)
    apparent[[m]] - opt[metric_names()]
  })
  performance_table(apparent, est, models)
}

#' Repeated CV estimates
#'
#' The AUC is the mean over all folds of each fold model's AUC on its
#' held-out patients: pooling out-of-fold predictions of different fold
#' models before ranking them mixes their scales and biases the AUC
#' downwards. The Brier score and the calibration metrics (intercept, slope,
#' Emax, E90) are computed on the pooled out-of-fold predictions of each
#' repeat (every patient predicted once, by a model fitted without them) and
#' averaged over the repeats.
#' @noRd
aggregate_cv <- function(apparent, results, models, resamples, y) {
  reps <- sort(unique(resamples$repeat_of))
  est <- lapply(stats::setNames(models, models), function(m) {
    per_rep <- do.call(rbind, lapply(reps, function(r) {
      pred <- rep(NA_real_, length(y))
      for (i in which(resamples$repeat_of == r)) {
        res <- results[[i]]
        if (isTRUE(res$ok) && m %in% res$models) pred[resamples$eval[[i]]] <- res$eval_pred[[m]]
      }
      metrics_of(y, pred)
    }))
    out <- colMeans(per_rep, na.rm = TRUE)
    fold_auc <- vapply(results, function(r) if (isTRUE(r$ok) && m %in% r$models) r$eval_metrics[[m]][["auc"]] else NA_real_,
                       numeric(1))
    out["auc"] <- mean(fold_auc, na.rm = TRUE)
    out
  })
  performance_table(apparent, est, models)
}

#' Efron & Tibshirani's .632+ for the AUC and the Brier score
#' @noRd
aggregate_632 <- function(apparent, results, models, y, app_pred) {
  est <- lapply(stats::setNames(models, models), function(m) {
    oob <- do.call(rbind, lapply(results, function(r) if (isTRUE(r$ok) && m %in% r$models) r$eval_metrics[[m]]))
    out <- stats::setNames(rep(NA_real_, length(metric_names())), metric_names())
    if (is.null(oob)) return(out)
    err1 <- colMeans(oob, na.rm = TRUE)
    p <- app_pred[[m]]
    # AUC as the error 1 - AUC; no-information error 0.5
    out["auc"] <- 1 - err632plus(1 - apparent[[m]][["auc"]], 1 - err1[["auc"]], 0.5)
    # Brier: no-information error over all pairs of outcomes and apparent risks
    gamma <- mean(outer(y, p, function(a, b) (a - b)^2))
    out["brier"] <- err632plus(apparent[[m]][["brier"]], err1[["brier"]], gamma)
    prev <- mean(y)
    out["scaled_brier"] <- 1 - out[["brier"]] / (prev * (1 - prev))
    out
  })
  performance_table(apparent, est, models)
}

#' The .632+ combination of apparent and out-of-bag errors (Efron & Tibshirani 1997)
#' @noRd
err632plus <- function(err_app, err_oob, gamma) {
  if (is.na(err_app) || is.na(err_oob)) return(NA_real_)
  err_oob <- min(err_oob, gamma)
  r <- if (err_oob > err_app && gamma > err_app) (err_oob - err_app) / (gamma - err_app) else 0
  r <- min(max(r, 0), 1)
  w <- 0.632 / (1 - 0.368 * r)
  (1 - w) * err_app + w * err_oob
}

#' 95% interval of the corrected AUC: Hanley-McNeil standard error at the corrected value
#'
#' The sampling uncertainty of an AUC of the corrected size with this
#' sample's events and non-events (Hanley & McNeil, Radiology
#' 1982;143:29-36): `SE^2 = (A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)) /
#' (n1 n0)`, `Q1 = A/(2-A)`, `Q2 = 2A^2/(1+A)`; the interval is
#' `A +/- 1.96 SE`, clipped to \[0, 1\]. (The DeLong interval of the
#' apparent AUC cannot be used: it shrinks to nothing as an overfitted model's
#' apparent AUC approaches 1.) It leaves out the uncertainty of the optimism
#' estimate itself (Noma et al., Stat Med 2021;40:5691-701), so it is
#' approximate.
#' @noRd
add_auc_interval <- function(perf, y, app_pred) {
  perf$lower <- rep(NA_real_, nrow(perf))
  perf$upper <- rep(NA_real_, nrow(perf))
  n1 <- sum(y == 1L)
  n0 <- sum(y == 0L)
  for (i in which(perf$metric == "auc" & !is.na(perf$corrected))) {
    a <- min(max(perf$corrected[i], 0), 1)
    q1 <- a / (2 - a)
    q2 <- 2 * a^2 / (1 + a)
    se <- sqrt(max(0, (a * (1 - a) + (n1 - 1) * (q1 - a^2) + (n0 - 1) * (q2 - a^2)) / (n1 * n0)))
    perf$lower[i] <- max(0, a - stats::qnorm(0.975) * se)
    perf$upper[i] <- min(1, a + stats::qnorm(0.975) * se)
  }
  perf
}

#' The nomogram's calibration curve, corrected by the resampling
#' @noRd
validation_curve <- function(method, grid, p_app, y, results, resamples) {
  if (is.null(grid)) return(NULL)
  app <- calibration_curve_at(p_app, y, grid)
  corrected <- rep(NA_real_, length(grid))
  if (method == "boot") {
    d <- do.call(rbind, lapply(results, function(r) if (isTRUE(r$ok) && !is.null(r$curve_fit)) r$curve_fit - r$curve_eval))
    if (!is.null(d)) corrected <- app - colMeans(d, na.rm = TRUE)
  } else if (method == "cv") {
    reps <- sort(unique(resamples$repeat_of))
    curves <- do.call(rbind, lapply(reps, function(r) {
      pred <- rep(NA_real_, length(y))
      for (i in which(resamples$repeat_of == r)) {
        res <- results[[i]]
        if (isTRUE(res$ok) && "nomogram" %in% res$models) pred[resamples$eval[[i]]] <- res$eval_pred$nomogram
      }
      calibration_curve_at(pred, y, grid)
    }))
    corrected <- colMeans(curves, na.rm = TRUE)
  }
  data.frame(predicted = grid, apparent = app, corrected = corrected)
}

#' Feature sets a fitted chain selected, per block
#' @noRd
selection_sets <- function(obj) {
  list(radiomics = obj$selection_rad$selected %||% character(),
       # PCs are not comparable across resamples: the deep block's features
       # kept before the PCA stand for its selection
       deep = if (is.null(obj$dl_score)) character() else obj$selection_dl$kept_correlation %||% character(),
       clinical = obj$clinical$selected %||% character())
}

#' Selection frequencies, counts and mean pairwise Jaccard index per block
#' @noRd
selection_stability <- function(results) {
  ok <- Filter(function(r) isTRUE(r$ok), results)
  freq <- list(); counts <- list(); jac <- list()
  for (b in c("radiomics", "deep", "clinical")) {
    sets <- lapply(ok, function(r) r$selected[[b]])
    if (!length(sets) || !any(lengths(sets) > 0L)) next
    counts[[b]] <- data.frame(block = b, resample = seq_along(sets), n_selected = lengths(sets))
    feats <- unique(unlist(sets))
    if (length(feats)) {
      f <- vapply(feats, function(v) mean(vapply(sets, function(s) v %in% s, logical(1))), numeric(1))
      freq[[b]] <- data.frame(block = b, feature = feats, frequency = unname(f), stringsAsFactors = FALSE)
    }
    if (length(sets) >= 2L) {
      pairs <- utils::combn(length(sets), 2L)
      if (ncol(pairs) > 5000L) pairs <- pairs[, seq_len(5000L), drop = FALSE]
      j <- apply(pairs, 2L, function(ij) {
        a <- sets[[ij[1L]]]; b2 <- sets[[ij[2L]]]
        u <- length(union(a, b2))
        if (u == 0L) 1 else length(intersect(a, b2)) / u
      })
      jac[[b]] <- data.frame(block = b, mean_jaccard = mean(j))
    }
  }
  frequency <- do.call(rbind, freq)
  if (!is.null(frequency)) {
    frequency <- frequency[order(frequency$block, -frequency$frequency, frequency$feature), ]
    rownames(frequency) <- NULL
  }
  list(frequency = frequency, counts = do.call(rbind, counts), jaccard = do.call(rbind, jac))
}

#' How many resamples failed, separated or lacked a model
#' @noRd
resample_report <- function(results) {
  n <- length(results)
  failed <- vapply(results, function(r) !isTRUE(r$ok), logical(1))
  reasons <- vapply(results[failed], function(r) sub(":.*$", "", r$error %||% "error"), "")
  sep <- vapply(results, function(r) "radnomo_separation" %in% r$warnings, logical(1))
  nomodel <- vapply(results, function(r) "radnomo_no_model" %in% r$warnings, logical(1))
  out <- data.frame(reason = c("resamples", "succeeded", "failed", "separation (policy applied)", "no model"),
                    n = c(n, sum(!failed), sum(failed), sum(sep), sum(nomodel)), stringsAsFactors = FALSE)
  nulls <- unlist(lapply(results, function(r) r$null_models))
  if (length(nulls)) {
    tab <- table(nulls)
    out <- rbind(out, data.frame(reason = paste0("no ", names(tab), " model (intercept-only used)"),
                                 n = as.integer(tab), stringsAsFactors = FALSE))
  }
  if (length(reasons)) {
    tab <- table(reasons)
    out <- rbind(out, data.frame(reason = paste("failed:", names(tab)), n = as.integer(tab)))
  }
  out
}

#' @export
print.radnomo_validation <- function(x, ...) {
  cat("radnomo whole-pipeline validation: ", switch(x$method, cv = "repeated cross-validation",
                                                     boot = "Efron-Gong optimism bootstrap", `632plus` = ".632+ bootstrap"),
      ", ", x$n_resamples, " resamples\n", sep = "")
  p <- x$performance[x$performance$metric %in% c("auc", "brier", "citl", "slope"), ]
  num <- vapply(p, is.numeric, logical(1))
  p[num] <- lapply(p[num], round, 3)
  print(p, row.names = FALSE)
  invisible(x)
}
