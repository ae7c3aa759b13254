# Evaluation of a frozen study on any labelled data: one implementation used
# by fit_study() for its test set and by radnomo's `evaluate` command (through
# the bridge) for external cohorts.

#' Evaluate a fitted study on labelled data (external validation)
#'
#' Applies the frozen models of a [fit_study()] result unchanged to `data`
#' and reports, per model: [roc_metrics()] at the **training cut-offs**
#' (Youden thresholds chosen on the training set, stored in the study);
#' paired [delong_test()]s between the models; the nomogram's
#' [calibration()] as validation on independent data (Hosmer-Lemeshow with G
#' degrees of freedom, about 10 patients per risk group, 3 to 10 groups); and
#' [decision_curve()]s at the study's thresholds. Works on a stripped study
#' ([strip_study()]). Patients the models cannot score (a category not seen
#' in training) are left out with a warning; a set with a single outcome
#' class gives scores only, with a warning of class `radnomo_degenerate_set`.
#'
#' @param object A `"radnomo_study"`.
#' @param data data.frame with the outcome, the feature and the clinical
#'   columns the frozen models use.
#' @param outcome Name of the outcome column (default: the study's).
#' @param event The outcome value that is the event (default: the study's).
#' @param thresholds Decision-curve thresholds (default: the study's).
#' @param set Label of this set in the returned tables.
#' @return An object of class `"radnomo_evaluation"`: `scores` (data.frame
#'   id, set, outcome and each model's risk), `metrics` (set, model +
#'   [roc_metrics()] columns), `delong` (or NULL), `calibration` (a
#'   `"radnomo_calibration"` of the nomogram, or NULL), `decision`.
#' @examples
#' set.seed(3)
#' d <- data.frame(patient_id = 1:150, label = rbinom(150, 1, 0.4), age = rnorm(150, 60, 8))
#' d$marker <- d$label + rnorm(150)
#' st <- fit_study(d[1:100, ], clinical = c("age", "marker"), clinical_alpha = 0.5, B = 10)
#' ev <- evaluate_study(strip_study(st), d[101:150, ], set = "external")
#' ev$metrics[, c("model", "auc", "auc_lower", "auc_upper", "sensitivity", "specificity")]
#' @export
evaluate_study <- function(object, data, outcome = object$settings$outcome, event = object$settings$event_level,
                           thresholds = object$settings$thresholds, set = "external") {
  if (!inherits(object, "radnomo_study")) abort("'object' must be a radnomo_study from fit_study().")
  if (!is.data.frame(data)) abort("'data' must be a data.frame, not ", class(data)[1L], ".")
  check_column_name(outcome, data, "outcome")
  if (!is.character(set) || length(set) != 1L || is.na(set)) abort("'set' must be a single label.")
  if (is.null(thresholds) || !length(thresholds)) thresholds <- seq(0, 0.99, by = 0.01)
  y <- study_outcome(data[[outcome]], outcome, event, object$settings$outcome_levels)
  p <- predict.radnomo_study(object, data)
  scores <- data.frame(id = p$id, set = set, outcome = y, clinical = p$clinical, rad_score = p$rad_score,
                       dl_score = p$dl_score, nomogram = p$nomogram, stringsAsFactors = FALSE)
  models <- study_models(object)
  cutoffs <- study_cutoffs(object, models)
  ev <- evaluate_scores_set(scores, models, cutoffs, thresholds, set, outcome_name = outcome)
  structure(c(list(scores = scores), ev), class = "radnomo_evaluation")
}

#' Outcome of evaluation data coded with the study's event level
#'
#' A study fitted on a two-level outcome (e.g. "Good"/"Poor") codes the
#' evaluation outcome with the same levels; values outside them are an error.
#' 0/1 data for such a study are taken as 1 = the study's event, announced
#' with a message (class `radnomo_event_level`).
#' @noRd
study_outcome <- function(y, outcome, event, levels = NULL) {
  if (anyNA(y)) abort("The outcome '", outcome, "' has ", sum(is.na(y)), " missing value(s); remove those patients first.")
  vals <- unique(as.character(y))
  binary <- (is.numeric(y) && all(y %in% c(0, 1))) || is.logical(y)
  if (!is.null(event) && !binary) {
    known <- if (is.null(levels)) event else levels
    bad <- setdiff(vals, known)
    if (length(bad)) {
      abort("The outcome '", outcome, "' has value(s) ", name_list(bad), " that the study's outcome does not have (",
            name_list(known), "; event '", event, "').")
    }
    return(as.integer(as.character(y) == event))
  }
  if (!binary) abort("The outcome '", outcome, "' must be 0/1 (or the study's outcome levels).")
  if (!is.null(event)) {
    message(structure(class = c("radnomo_event_level", "message", "condition"), list(
      message = paste0("Outcome '", outcome, "' is coded 0/1 here: 1 is taken as the study's event '", event, "'.\n"),
      call = NULL)))
  }
  as.integer(y)
}

#' The models a fitted study has
#' @noRd
study_models <- function(object) {
  models <- c("clinical", "rad_score", "dl_score", "nomogram")
  models[vapply(models, function(m) !is.null(object[[m]]), logical(1))]
}

#' Training cut-offs (Youden) of each model, from the study's training metrics
#' @noRd
study_cutoffs <- function(object, models) {
  m <- object$metrics
  out <- stats::setNames(rep(NA_real_, length(models)), models)
  if (is.null(m)) return(out)
  tr <- m[m$set == "train", , drop = FALSE]
  out[intersect(models, tr$model)] <- tr$threshold[match(intersect(models, tr$model), tr$model)]
  out
}

#' Metrics, DeLong tests, calibration and decision curves of one evaluation set
#'
#' `cutoffs`: named thresholds per model (NA: Youden on this set — only for
#' the training set itself).
#' @noRd
evaluate_scores_set <- function(scores, models, cutoffs, thresholds, set, calibration_fit = NULL, B = 0,
                                seed = NULL, separation = "firth", outcome_name = "y") {
  empty <- list(metrics = NULL, delong = NULL, calibration = NULL, decision = NULL)
  if (!length(models)) return(empty)
  unscored <- !stats::complete.cases(scores[models])
  if (any(unscored)) {
    warn_classed("radnomo_unscored", sum(unscored), " patient(s) of the ", set, " set could not be scored by every ",
                 "model and are left out of its metrics, DeLong tests, calibration and decision curves.")
    scores <- scores[!unscored, , drop = FALSE]
  }
  y <- scores$outcome
  if (length(unique(y)) < 2L) {
    warn_classed("radnomo_degenerate_set", "The ", set, " set has a single outcome class (", length(y),
                 " patient(s)", if (length(y)) paste0(", all ", y[1L]) else "", "); it cannot be ",
                 "evaluated: its metrics, DeLong tests, calibration and decision curves are left out ",
                 "(its predicted risks are kept).")
    return(empty)
  }
  metrics <- do.call(rbind, lapply(models, function(m) {
    thr <- cutoffs[[m]]
    cbind(set = set, model = m,
          roc_metrics(y, scores[[m]], threshold = if (is.na(thr)) NULL else thr, outcome_name = outcome_name),
          stringsAsFactors = FALSE)
  }))
  rownames(metrics) <- NULL
  delong <- if (length(models) >= 2L) {
    cbind(set = set, delong_test(y, as.list(scores[models]), outcome_name = outcome_name), stringsAsFactors = FALSE)
  }
  cal <- NULL
  if ("nomogram" %in% models) {
    # about 10 patients per risk group, 3 to 10 groups; independent data:
    # Hosmer-Lemeshow with G df; the training set: with the bootstrap curve
    g <- calibration_group_count(nrow(scores))
    if (nrow(scores) >= g) {
      cal <- with_warning_context(paste0("Calibration of the nomogram on the ", set_words(set), ": "), {
        if (!is.null(calibration_fit)) {
          calibration(y, scores$nomogram, fit = calibration_fit, B = B, seed = seed, groups = g,
                      separation = separation, outcome_name = outcome_name)
        } else {
          calibration(y, scores$nomogram, groups = g, validation = TRUE, outcome_name = outcome_name)
        }
      })
    }
  }
  decision <- cbind(set = set,
                    decision_curve(y, as.list(scores[models]), thresholds = thresholds, outcome_name = outcome_name),
                    stringsAsFactors = FALSE)
  list(metrics = metrics, delong = delong, calibration = cal, decision = decision)
}

#' @export
print.radnomo_evaluation <- function(x, ...) {
  cat("radnomo evaluation of a frozen study: ", nrow(x$scores), " patients\n", sep = "")
  if (is.null(x$metrics)) {
    cat("Not evaluated (see the warnings).\n")
  } else {
    m <- x$metrics[, c("model", "auc", "auc_lower", "auc_upper", "sensitivity", "specificity")]
    num <- vapply(m, is.numeric, logical(1))
    m[num] <- lapply(m[num], round, 3)
    print(m, row.names = FALSE)
  }
  invisible(x)
}

#' Evaluate `expr`, prefixing radnomo's own warnings with where they arose (their classes kept)
#' @noRd
with_warning_context <- function(prefix, expr) {
  withCallingHandlers(expr, warning = function(w) {
    if (any(startsWith(class(w), "radnomo_"))) {
      warning(structure(class = class(w), list(message = paste0(prefix, conditionMessage(w)), call = NULL)))
      invokeRestart("muffleWarning")
    }
  })
}

#' "train" -> "training set", "test" -> "test set"; other names as given
#' @noRd
set_words <- function(set) {
  switch(as.character(set), train = "training set", test = "test set", as.character(set))
}
