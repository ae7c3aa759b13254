# The statistics half of a study in one call: Rad score, DL score, clinical
# model and nomogram fitted on the training set, evaluated on train and test.

#' Fit and evaluate a radiomics + deep-learning + clinical nomogram study
#'
#' Everything is fitted on `train` only; `test` is used only for evaluation
#' with the frozen models (no refitting, no re-scaling, no threshold tuning).
#' 1. **Rad score**: [select_features()] (`pca = FALSE`) on the `radiomics`
#'    columns, then [score_model()] on the selected z-scored features; the
#'    score is its linear predictor.
#' 2. **DL score**: [select_features()] (`pca = TRUE`) on the `deep` columns,
#'    then [score_model()] on the selected principal components.
#' 3. **Clinical model**: [clinical_logistic()] on the `clinical` candidates
#'    (univariable p < `clinical_alpha`).
#' 4. **Nomogram**: [fit_nomogram()] on `rad_score`, `dl_score` (linear
#'    predictors) and the clinical model's selected variables.
#' An empty `radiomics`/`deep`/`clinical` block, or one in which nothing is
#' selected (with a warning), is left out of the nomogram and its columns in
#' `scores` are `NA`.
#'
#' Evaluation per set (train, test): [roc_metrics()] of each model's risk
#' with the Youden threshold chosen on the training set and reused on the
#' test set; paired [delong_test()] between the available models;
#' [calibration()] of the nomogram with about 10 patients per risk group (3 to
#' 10 groups; on the test set as validation, Hosmer-Lemeshow with G df; training set also with the `rms`
#' bootstrap, `B` resamples); [decision_curve()] of all models.
#'
#' @section Separation:
#' Small training sets, strong markers and scores refitted after a LASSO
#' often separate the outcome classes, and then maximum-likelihood logistic
#' estimates do not exist (they diverge). Every logistic fit of the study —
#' the Rad and DL score refits, the multivariable clinical model, the
#' nomogram and the refits inside the nomogram's bootstrap calibration — is
#' checked for (quasi-)complete separation with an exact linear program
#' (Konis 2007) and for non-convergence. `separation` then decides:
#' * `"firth"` (default): refit with Firth's bias-reduced logistic
#'   regression (`brglm2::brglmFit`, `type = "AS_mean"`), whose estimates are
#'   always finite (Heinze & Schemper, Stat Med 2002;21:2409-19). The
#'   nomogram stays an `rms::lrm` carrying the Firth coefficients, so rms
#'   draws it; bootstrap refits that separate are refitted the same way.
#' * `"lasso"`: a separated Rad/DL score refit is replaced by the LASSO
#'   linear predictor of its block (as `score = "lasso"`); the clinical model
#'   and the nomogram, which have no LASSO step, use Firth's method.
#' * `"error"`: stop with an error of class `radnomo_separation`.
#'
#' Each applied policy gives a warning of class `radnomo_separation` that
#' names the model, and the result's `fits` table records, per model,
#' whether separation was found, whether maximum likelihood converged, the
#' method used (`"ml"`, `"firth"`, `"lasso"`) and the note. Predictions of the
#' returned (and saved) study use the fitted coefficients, so they reproduce
#' the penalised fits.
#'
#' A set (train or test) whose outcome has a single class cannot be
#' evaluated: its scores are kept, its metrics, DeLong tests, calibration and
#' decision curves are left out, with a warning of class
#' `radnomo_degenerate_set`.
#'
#' @param train,test data.frames with the `id`, `outcome`, feature and
#'   clinical columns (`test` optional).
#' @param outcome Name of the binary outcome column (0/1, logical, or factor /
#'   character whose event level is `event`, by default the training set's
#'   second level, announced with a message).
#' @param event The outcome value that is the event (coded 1), e.g. `"Poor"`.
#' @param radiomics,deep Character vectors of radiomics and deep feature columns.
#' @param clinical Character vector of clinical candidate columns.
#' @param id Name of the patient identifier column.
#' @param mwu_alpha,cor_threshold,pca_variance,nfolds,lambda Passed to [select_features()].
#' @param clinical_alpha Passed to [clinical_logistic()] as `alpha`.
#' @param B Bootstrap resamples of the training-set calibration curve
#'   (`rms::calibrate` on the final nomogram). 200, as [validate_study()]'s
#'   `B` (and `rms`' own default is 40); the study configuration asks for 1000.
#' @param seed Integer seed (feature-selection folds and calibration
#'   bootstrap); 1 by default in R, the bridge and [validate_study()].
#' @param thresholds Decision-curve thresholds, in \[0, 1\]. The default, 0 to
#'   0.99 by 0.01, is that of [evaluate_study()], [validate_study()] and the
#'   pipeline's configuration (`stats.dca_max_threshold`, `stats.dca_step`);
#'   at 1 the opt-in net benefit is undefined. ([decision_curve()] keeps
#'   rmda's 0 to 1.)
#' @param score How the Rad and DL scores are formed from the selected terms:
#'   `"logistic"` (the study's: an unpenalised logistic refit by
#'   [score_model()], whose linear predictor is the score) or `"lasso"` (the
#'   LASSO linear predictor itself, no refit — the usual radiomics Rad-score,
#'   shrunken and therefore more stable in small training sets, where a
#'   refit can separate completely).
#' @param separation What every logistic fit of the study does when its data
#'   are (quasi-)completely separated or its maximum-likelihood fit does not
#'   converge (see the section Separation): `"firth"` (default), `"lasso"`
#'   or `"error"`.
#' @param labels Optional display labels of the nomogram's axes, a named
#'   character vector (term -> label), e.g. `c(rad_score = "Rad score",
#'   dl_score = "DL score", afp = "AFP (ng/mL)")`; see [fit_nomogram()].
#'   Names that are not nomogram predictors are ignored, so a study's whole
#'   label map can be given. Only the drawing changes.
#' @return An object of class `"radnomo_study"`: a list with
#'   `selection_rad`, `selection_dl`, `rad_score`, `dl_score`, `clinical`,
#'   `nomogram` (each NULL when its block is absent), `scores`
#'   (data.frame id, set, outcome, clinical, rad_score, dl_score, nomogram:
#'   predicted risks), `metrics` (set, model + [roc_metrics()] columns),
#'   `delong` (set + [delong_test()] columns), `calibration` (list train,
#'   test), `fits` (data.frame model, separation, converged, method, note: one
#'   row per logistic model, see the section Separation), `decision` (set + [decision_curve()] columns), `steps`
#'   (data.frame block, step, n_features), `settings`.
#' @examples
#' # A small study on simulated radiomics and deep features plus two clinical
#' # variables; everything is fitted on the training set only.
#' set.seed(2)
#' n <- 160
#' r <- rnorm(n)
#' rad <- matrix(rnorm(n * 20), n, dimnames = list(NULL, sprintf("rad%02d", 1:20)))
#' rad[, 1:2] <- rad[, 1:2] + r
#' deep <- matrix(rnorm(n * 20), n, dimnames = list(NULL, sprintf("dl%02d", 1:20)))
#' deep[, 1:3] <- deep[, 1:3] + r
#' d <- data.frame(patient_id = sprintf("P%03d", 1:n), age = round(rnorm(n, 60, 9)),
#'                 sex = sample(c("F", "M"), n, TRUE), rad, deep)
#' d$label <- rbinom(n, 1, plogis(-0.5 + 1.5 * r + 0.03 * (d$age - 60)))
#' train <- d[1:112, ]
#' test <- d[113:160, ]
#' st <- fit_study(train, test, radiomics = colnames(rad), deep = colnames(deep),
#'                 clinical = c("age", "sex"), clinical_alpha = 0.2, B = 20)
#' st
#' st$fits
#' head(predict(st, test))
#' @export
fit_study <- function(train, test = NULL, outcome = "label", radiomics = character(), deep = character(),
                      clinical = character(), id = "patient_id", mwu_alpha = 0.05, cor_threshold = 0.9,
                      pca_variance = 0.95, nfolds = 10, lambda = "min", clinical_alpha = 0.05, B = 200,
                      seed = 1, thresholds = seq(0, 0.99, by = 0.01), score = c("logistic", "lasso"),
                      separation = c("firth", "lasso", "error"), event = NULL, labels = NULL) {
  score <- match_arg(score)
  separation <- match_arg(separation)
  check_labels(labels, character())
  prep <- study_inputs(train, test, outcome, radiomics, deep, clinical, id, mwu_alpha, cor_threshold,
                       pca_variance, nfolds, lambda, clinical_alpha, B, seed, thresholds, score, separation, event)
  settings <- prep$settings
  code_y <- prep$code_y
  y <- prep$y
  seed <- settings$seed
  clinical <- settings$clinical

  obj <- study_fit_chain(train, y, settings)
  if (!is.null(obj$nomogram)) obj$nomogram <- set_nomogram_labels(obj$nomogram, labels)
  predictors <- obj$nomogram$predictors %||% character()
  fit_policy <- if (separation == "error") "error" else "firth"

  sets <- list(train = train)
  if (!is.null(test)) sets$test <- test
  ys <- list(train = y)
  if (!is.null(test)) ys$test <- code_y(test[[outcome]], "test", single_class_ok = TRUE)
  scores <- do.call(rbind, lapply(names(sets), function(s) {
    p <- predict.radnomo_study(obj, sets[[s]])
    data.frame(id = p$id, set = s, outcome = ys[[s]], clinical = p$clinical, rad_score = p$rad_score,
               dl_score = p$dl_score, nomogram = p$nomogram, stringsAsFactors = FALSE)
  }))
  rownames(scores) <- NULL
  models <- c("clinical", "rad_score", "dl_score", "nomogram")
  models <- models[vapply(models, function(m) !all(is.na(scores[[m]])), logical(1))]
  obj$scores <- scores
  # one implementation for every set (evaluate_study() uses it too): the
  # training set picks the Youden cut-offs and gets the bootstrap calibration;
  # other sets reuse the training cut-offs, unchanged
  evals <- list()
  if (length(models)) {
    evals$train <- evaluate_scores_set(scores[scores$set == "train", , drop = FALSE], models,
                                       stats::setNames(rep(NA_real_, length(models)), models), thresholds, "train",
                                       calibration_fit = obj$nomogram, B = B, seed = seed, separation = fit_policy,
                                       outcome_name = outcome)
    cutoffs <- stats::setNames(evals$train$metrics$threshold, evals$train$metrics$model)
    for (s in setdiff(names(sets), "train")) {
      evals[[s]] <- evaluate_scores_set(scores[scores$set == s, , drop = FALSE], models, cutoffs, thresholds, s,
                                        outcome_name = outcome)
    }
  }
  stack <- function(part) {
    out <- do.call(rbind, lapply(evals, function(e) e[[part]]))
    if (!is.null(out)) rownames(out) <- NULL
    out
  }
  obj$metrics <- stack("metrics")
  obj$delong <- stack("delong")
  obj$calibration <- Filter(Negate(is.null), lapply(evals, function(e) e$calibration))
  obj$decision <- stack("decision")
  steps <- list()
  rad_steps <- obj$selection_rad$steps
  dl_steps <- obj$selection_dl$steps
  if (!is.null(rad_steps)) steps$rad <- cbind(block = "radiomics", rad_steps, stringsAsFactors = FALSE)
  if (!is.null(dl_steps)) steps$dl <- cbind(block = "deep", dl_steps, stringsAsFactors = FALSE)
  if (length(clinical)) {
    steps$clin <- data.frame(block = "clinical", step = c("input", "univariable"),
                             n_features = c(length(clinical), length(obj$clinical$selected)),
                             stringsAsFactors = FALSE)
  }
  steps$nom <- data.frame(block = "nomogram", step = "predictors", n_features = length(predictors))
  obj$steps <- do.call(rbind, steps)
  rownames(obj$steps) <- NULL
  obj$steps$n_features <- as.integer(obj$steps$n_features)
  parts <- c("selection_rad", "selection_dl", "rad_score", "dl_score", "clinical", "nomogram", "fits", "scores",
             "metrics", "delong", "calibration", "decision", "steps", "settings")
  structure(unclass(obj)[parts], class = "radnomo_study")
}

#' Fit every model of a study on one training set (no evaluation)
#'
#' The chain that [fit_study()] fits and [validate_study()] refits on every
#' resample: Rad and DL selection + scores, clinical model, nomogram, and
#' the `fits` table. `y` is the training outcome coded 0/1; `settings` as
#' stored in a fitted study. `blocks` (optional; validate_study()'s engine):
#' list(radiomics =, deep =) of numeric matrices of the feature columns, rows
#' as `train`'s, used instead of converting `train`'s columns (then `train`
#' may hold only the id, outcome and clinical columns). Same results.
#' @noRd
study_fit_chain <- function(train, y, settings, blocks = NULL) {
  st <- settings
  sel_args <- list(mwu_alpha = st$mwu_alpha, cor_threshold = st$cor_threshold, pca_variance = st$pca_variance,
                   nfolds = st$nfolds, lambda = st$lambda, seed = st$seed, outcome_name = st$outcome)
  separation <- st$separation
  score <- st$score
  # the clinical model and the nomogram have no LASSO step: under
  # separation = "lasso" they fall back to Firth's method
  fit_policy <- if (separation == "error") "error" else "firth"
  timing <- c(radiomics = 0, deep = 0, clinical = 0, nomogram = 0)
  t0 <- proc.time()[["elapsed"]]
  rad <- fit_score_block(train, y, st$radiomics, pca = FALSE, sel_args, "radiomics", score, separation,
                         x = blocks$radiomics)
  t1 <- proc.time()[["elapsed"]]
  dl <- fit_score_block(train, y, st$deep, pca = TRUE, sel_args, "deep", score, separation, x = blocks$deep)
  t2 <- proc.time()[["elapsed"]]
  timing[c("radiomics", "deep")] <- c(t1 - t0, t2 - t1)
  clin <- NULL
  if (length(st$clinical)) {
    clin <- clinical_logistic(train, st$outcome, st$clinical, alpha = st$clinical_alpha, separation = fit_policy,
                              event = st$event_level)
    if (is.null(clin$fit)) clin <- NULL
  }
  t3 <- proc.time()[["elapsed"]]
  timing[["clinical"]] <- t3 - t2
  obj <- structure(list(selection_rad = rad$selection, selection_dl = dl$selection,
                        rad_score = rad$score, dl_score = dl$score, clinical = clin, nomogram = NULL,
                        settings = settings), class = "radnomo_study")
  # the nomogram's lrm names the study's outcome (its printout and formula);
  # ".y" only if the outcome's name is one of the nomogram's predictors
  ycol <- st$outcome %||% ".y"
  if (ycol %in% c("rad_score", "dl_score", clin$selected)) ycol <- ".y"
  nom_data <- data.frame(y, stringsAsFactors = FALSE)
  names(nom_data) <- ycol
  lin <- study_linear_scores(obj, with_block_columns(train, blocks, obj))
  predictors <- character()
  if (!is.null(obj$rad_score)) { nom_data$rad_score <- lin$rad_score_lp; predictors <- "rad_score" }
  if (!is.null(obj$dl_score)) { nom_data$dl_score <- lin$dl_score_lp; predictors <- c(predictors, "dl_score") }
  if (!is.null(clin)) {
    for (v in clin$selected) nom_data[[v]] <- train[[v]]
    predictors <- c(predictors, clin$selected)
  }
  if (length(predictors)) {
    obj$nomogram <- fit_nomogram(nom_data, ycol, predictors, separation = fit_policy)
  } else {
    warning(structure(class = c("radnomo_no_model", "warning", "condition"), list(
      message = paste0("No block produced a model: nothing was selected in the radiomics, deep or clinical ",
                       "candidates, so there is no Rad score, DL score, clinical model or nomogram. The study ",
                       "reports the selection steps only; its risks are NA and there are no metrics."),
      call = NULL)))
  }
  obj$fits <- study_fits(obj)
  timing[["nomogram"]] <- proc.time()[["elapsed"]] - t3
  attr(obj, "timing") <- timing
  obj
}

#' Number of calibration risk groups for a set of n patients (about 10 per group, 3 to 10)
#' @noRd
calibration_group_count <- function(n) as.integer(min(10L, max(3L, floor(n / 10))))

#' @noRd
check_study_data <- function(data, needed, arg) {
  if (!is.data.frame(data)) abort("'", arg, "' must be a data.frame, not ", class(data)[1L], ".")
  missing <- setdiff(needed, names(data))
  if (length(missing)) abort("'", arg, "' lacks column(s) ", name_list(missing), ".")
  check_no_na_columns(data, needed, arg)
  invisible(TRUE)
}

#' Patient identifiers must be unique within a set
#' @noRd
check_unique_ids <- function(ids, id, arg) {
  dup <- unique(as.character(ids[duplicated(ids)]))
  if (length(dup)) {
    abort("'", arg, "' has ", length(dup), " duplicated patient id(s) in column '", id, "': ", name_list(dup),
          ". Each patient must have one row.")
  }
  invisible(TRUE)
}

#' The columns of a feature block must be numeric (named by block and data set)
#' @noRd
check_numeric_block <- function(data, cols, block, arg) {
  if (!length(cols)) return(invisible(TRUE))
  ok <- vapply(cols, function(v) is.numeric(data[[v]]) || is.logical(data[[v]]), logical(1))
  if (!all(ok)) {
    abort("'", arg, "': the ", block, " column(s) ", name_list(cols[!ok]), " are not numeric (",
          class(data[[cols[!ok][1L]]])[1L], "); feature columns must be numeric.")
  }
  invisible(TRUE)
}

#' Outcome coding fixed on the training set
#' @noRd
outcome_coder <- function(y_train, outcome, event = NULL) {
  if (!is.null(event) && !(is.factor(y_train) || is.character(y_train))) {
    # numeric / logical outcome with an explicit event value: code it as text
    y_train <- as.character(y_train)
  }
  if (is.factor(y_train) || is.character(y_train)) {
    lev <- levels(droplevels(as.factor(y_train)))
    if (length(lev) != 2L) abort("Training outcome '", outcome, "' must have exactly two classes; found ", name_list(lev), ".")
    if (is.null(event)) {
      announce_event(outcome, lev)
      event <- lev[2L]
    } else {
      event <- as.character(event)
      if (length(event) != 1L || !event %in% lev) {
        abort("'event' = '", event[1L], "' is not a value of the training outcome '", outcome, "' (", name_list(lev), ").")
      }
      lev <- c(setdiff(lev, event), event)
    }
  }
  f <- function(y, set, single_class_ok = FALSE) {
    if (!is.null(event)) {
      bad <- setdiff(unique(as.character(y)), lev)
      if (length(bad)) abort("The ", set, " outcome '", outcome, "' has value(s) ", name_list(bad), " not in training (", name_list(lev), ").")
      y <- as.integer(as.character(y) == event)
    }
    if (single_class_ok && length(y) && !anyNA(y) && length(unique(y)) == 1L) {
      if (is.logical(y)) y <- as.integer(y)
      if (is.numeric(y) && all(y %in% c(0, 1))) return(as.integer(y))
    }
    check_binary(y, paste0(set, "$", outcome))
  }
  attr(f, "event") <- event
  attr(f, "levels") <- if (exists("lev", inherits = FALSE)) lev else NULL
  f
}

#' The data with the feature columns a fitted chain reads, taken from block matrices
#'
#' `blocks` NULL: `data` unchanged (it holds the feature columns).
#' @noRd
with_block_columns <- function(data, blocks, obj) {
  if (is.null(blocks)) return(data)
  for (b in c("radiomics", "deep")) {
    sel <- if (b == "radiomics") obj$selection_rad else obj$selection_dl
    x <- blocks[[b]]
    if (is.null(sel) || is.null(x)) next
    cols <- setdiff(sel$kept_correlation, names(data))
    if (length(cols)) data <- cbind(data, as.data.frame(x[, cols, drop = FALSE], stringsAsFactors = FALSE))
  }
  data
}

#' Selection + score model for one feature block
#'
#' `x`: optional numeric matrix of the block's columns (rows as `train`'s).
#' @noRd
fit_score_block <- function(train, y, cols, pca, sel_args, block, score = "logistic", separation = "firth",
                            x = NULL) {
  if (!length(cols)) return(list(selection = NULL, score = NULL, steps = NULL))
  if (is.null(x)) x <- train[, cols, drop = FALSE]
  sel <- tryCatch(
    withCallingHandlers(
      do.call(select_features, c(list(x = x, y = y, pca = pca), sel_args)),
      radnomo_small_sample = function(w) {  # name the block the small-sample warning is about
        warn_classed("radnomo_small_sample", "The ", block, " block: ", conditionMessage(w))
        invokeRestart("muffleWarning")
      }),
    radnomo_nothing_selected = function(e) {
      warn_classed("radnomo_nothing_selected", "The ", block, " block: ", conditionMessage(e),
                   " It is left out of the study models.")
      NULL
    })
  if (is.null(sel)) return(list(selection = NULL, score = NULL, steps = NULL))
  if (!length(sel$selected)) {
    warn_classed("radnomo_nothing_selected", "The ", block, " block selected no term; it is left out of the study models.")
    return(list(selection = sel, score = NULL, steps = sel$steps))
  }
  if (score == "lasso") return(list(selection = sel, score = lasso_score(sel), steps = sel$steps))
  z <- transform_features(sel, x[, sel$kept_correlation, drop = FALSE])
  label <- paste0(if (block == "radiomics") "Rad" else "DL", " score refit")
  if (separation == "lasso") {
    sc <- tryCatch(score_fit(z, y, sel$selected, separation = "error", label = label,
                             outcome_name = sel_args$outcome_name %||% "y"),
                   radnomo_separation = function(e) {
                     note <- paste0(sub(" With separation = .*$", "", conditionMessage(e)),
                                    " The LASSO linear predictor is used as the score (separation = \"lasso\").")
                     separation_warning(note)
                     ls <- lasso_score(sel)
                     ls$separation <- fit_info(TRUE, NA, "lasso", note)
                     ls
                   })
    return(list(selection = sel, score = sc, steps = sel$steps))
  }
  list(selection = sel, score = score_fit(z, y, sel$selected, separation = separation, label = label,
                                          outcome_name = sel_args$outcome_name %||% "y"),
       steps = sel$steps)
}

#' One row per logistic model of a study: separation, convergence, method used
#' @noRd
study_fits <- function(obj) {
  rows <- list()
  for (m in c("rad_score", "dl_score", "clinical", "nomogram")) {
    part <- obj[[m]]
    if (is.null(part)) next
    info <- part$separation
    if (is.null(info)) {
      # score = "lasso": the LASSO linear predictor, no logistic refit
      info <- fit_info(FALSE, NA, if (inherits(part, "radnomo_lasso_score")) "lasso" else "ml", "")
    }
    rows[[m]] <- cbind(model = m, info, stringsAsFactors = FALSE)
  }
  if (!length(rows)) {
    return(data.frame(model = character(), separation = logical(), converged = logical(), method = character(),
                      note = character(), stringsAsFactors = FALSE))
  }
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out
}

#' The LASSO linear predictor as a score model (internal)
#'
#' Rad score = LASSO intercept + sum of the selected terms' LASSO coefficients
#' times their z-scored values (or PC scores): the usual radiomics "Rad-score"
#' (e.g. Huang et al., J Clin Oncol 2016;34:2157), with no unpenalised refit.
#' Same interface as a "radnomo_score": `coefficients` (term, estimate),
#' `features`, and a predict method on [transform_features()] output.
#' @noRd
lasso_score <- function(sel) {
  cf <- sel$coefficients
  b <- stats::setNames(cf$coefficient, cf$term)
  structure(list(coefficients = data.frame(term = names(b), estimate = unname(b), stringsAsFactors = FALSE),
                 features = sel$selected, intercept = unname(b[["(Intercept)"]]),
                 beta = b[sel$selected], method = "lasso"),
            class = c("radnomo_lasso_score", "radnomo_score"))
}

#' @export
predict.radnomo_lasso_score <- function(object, newdata, type = c("link", "response"), ...) {
  type <- match_arg(type)
  check_has_columns(newdata, object$features, "newdata")
  z <- as.matrix(as.data.frame(newdata)[, object$features, drop = FALSE])
  lp <- object$intercept + drop(z %*% object$beta)
  if (type == "response") stats::plogis(lp) else lp
}

#' Linear scores of the frozen Rad and DL models
#' @noRd
study_linear_scores <- function(object, newdata) {
  n <- nrow(newdata)
  lp <- function(sel, sc) if (is.null(sc)) rep(NA_real_, n) else stats::predict(sc, transform_features(sel, newdata))
  list(rad_score_lp = lp(object$selection_rad, object$rad_score),
       dl_score_lp = lp(object$selection_dl, object$dl_score))
}

#' Predict every frozen study model for new patients
#'
#' @param object A `"radnomo_study"` from [fit_study()].
#' @param newdata data.frame (omitted: the training scores of an unstripped study) with the feature and clinical columns the fitted
#'   models use (and the `id` column, if present).
#' @param ... Unused.
#' @return data.frame id, clinical, rad_score, dl_score, nomogram (predicted
#'   risks; NA for absent models), rad_score_lp, dl_score_lp (the linear
#'   Rad and DL scores).
#' @examples
#' # see fit_study(); predicted risks of every frozen model for new patients:
#' # predict(study, newdata)
#' @export
predict.radnomo_study <- function(object, newdata, ...) {
  if (missing(newdata)) {
    if (is.null(object$scores)) abort("This study holds no training scores (stripped); give 'newdata'.")
    return(object$scores[object$scores$set == "train", , drop = FALSE])
  }
  newdata <- check_newdata(newdata)
  n <- nrow(newdata)
  idc <- object$settings$id
  ids <- if (!is.null(idc) && idc %in% names(newdata)) newdata[[idc]] else seq_len(n)
  lin <- study_linear_scores(object, newdata)
  prob <- function(sc, lp) if (is.null(sc)) rep(NA_real_, n) else stats::plogis(lp)
  # a patient whose categorical clinical value was never seen in training
  # cannot be scored by the models that use it: NA, with a warning
  unseen <- unseen_level_rows(object, newdata)
  ok <- !unseen
  clin <- rep(NA_real_, n)
  if (!is.null(object$clinical) && any(ok)) clin[ok] <- stats::predict(object$clinical, newdata[ok, , drop = FALSE])
  nd <- newdata
  nd$rad_score <- lin$rad_score_lp
  nd$dl_score <- lin$dl_score_lp
  nom <- rep(NA_real_, n)
  if (!is.null(object$nomogram) && any(ok)) nom[ok] <- stats::predict(object$nomogram, nd[ok, , drop = FALSE], type = "response")
  data.frame(id = ids, clinical = clin, rad_score = prob(object$rad_score, lin$rad_score_lp),
             dl_score = prob(object$dl_score, lin$dl_score_lp),
             nomogram = nom,
             rad_score_lp = lin$rad_score_lp, dl_score_lp = lin$dl_score_lp, stringsAsFactors = FALSE)
}

#' Rows whose categorical clinical values were not seen in training (warns)
#' @noRd
unseen_level_rows <- function(object, newdata) {
  bad <- rep(FALSE, nrow(newdata))
  levels_of <- list()
  if (!is.null(object$clinical$fit$xlevels)) {
    for (v in names(object$clinical$fit$xlevels)) levels_of[[gsub("^`|`$", "", v)]] <- object$clinical$fit$xlevels[[v]]
  }
  des <- object$nomogram$fit$Design
  if (!is.null(des)) {
    for (v in intersect(object$nomogram$predictors, des$name)) {
      if (des$assume[match(v, des$name)] %in% c("category", "strata")) levels_of[[v]] <- des$parms[[v]]
    }
  }
  for (v in intersect(names(levels_of), names(newdata))) {
    vals <- as.character(newdata[[v]])
    miss <- !is.na(vals) & !vals %in% levels_of[[v]]
    if (any(miss)) {
      warn_classed("radnomo_unseen_level", sum(miss), " patient(s) have '", v, "' = ", name_list(unique(vals[miss])),
                   ", a level not seen in training; the clinical model and the nomogram cannot score them (NA).")
      bad <- bad | miss
    }
  }
  bad
}

#' @export
print.radnomo_study <- function(x, ...) {
  cat("radnomo study\n")
  print(x$steps, row.names = FALSE)
  if (is.null(x$metrics)) cat("No model was fitted (nothing selected).\n")
  else print(x$metrics[, c("set", "model", "auc", "auc_lower", "auc_upper")], row.names = FALSE)
  invisible(x)
}
