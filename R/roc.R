# ROC analysis: AUC with DeLong confidence interval, threshold metrics, and
# paired DeLong tests between models.

#' Build a pROC curve with radnomo's fixed conventions
#' @noRd
make_roc <- function(y, score) {
  pROC::roc(response = y, predictor = score, levels = c(0L, 1L), direction = "<", quiet = TRUE)
}

#' ROC metrics of one score
#'
#' AUC from `pROC::roc(direction = "<", levels = c(0, 1))`, i.e. higher scores
#' mean higher risk; an AUC below 0.5 is reported as is (never flipped). The
#' AUC confidence interval is DeLong's, 95% (`pROC::ci.auc(method =
#' "delong")`). When `threshold` is `NULL` the Youden-optimal threshold is
#' used (`pROC::coords(x = "best", best.method = "youden")`; thresholds are
#' midpoints between consecutive distinct scores; when several thresholds tie,
#' the first, i.e. the lowest, is taken). A patient is test-positive when
#' `score >= threshold`. Sensitivity, specificity, PPV, NPV and accuracy come
#' from that 2x2 table; a ratio whose denominator is zero is `NA` with a
#' warning.
#'
#' @param y Binary outcome (0/1, logical or two-level factor, second level = event).
#' @param score Numeric score or predicted risk (higher = more likely event).
#' @param threshold Optional fixed threshold (e.g. chosen on the training set
#'   and reused on a test set).
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @param outcome_name The outcome's name in messages (e.g. the outcome
#'   column, `"recurrence"`); by default the expression passed as `y` when it
#'   is a variable or a data-frame column (`d$recurrence`), else `"y"`.
#' @return One-row data.frame: n, n_events, auc, auc_lower, auc_upper,
#'   threshold, sensitivity, specificity, ppv, npv, accuracy.
#' @examples
#' set.seed(1)
#' y <- rbinom(100, 1, 0.4)
#' roc_metrics(y, y + rnorm(100))
#' @export
roc_metrics <- function(y, score, threshold = NULL, event = NULL, outcome_name = NULL) {
  y <- check_binary(y, outcome_label(outcome_name, substitute(y)), event)
  score <- check_score(score, length(y), "score")
  r <- make_roc(y, score)
  ci <- as.numeric(pROC::ci.auc(r, method = "delong", conf.level = 0.95))
  if (min(sum(y == 1L), sum(y == 0L)) < 2L || anyNA(ci)) {
    warn_classed("radnomo_undefined_metric", "The DeLong confidence interval of the AUC is undefined with ",
                 sum(y == 1L), " event(s) and ", sum(y == 0L), " non-event(s); reported as NA.")
    ci[c(1L, 3L)] <- NA_real_
  }
  if (is.null(threshold)) {
    best <- pROC::coords(r, x = "best", best.method = "youden", ret = "threshold", transpose = FALSE)
    threshold <- best$threshold[1L]
  } else {
    check_number(threshold, "threshold")
  }
  pos <- score >= threshold
  tp <- sum(pos & y == 1L); fp <- sum(pos & y == 0L)
  fn <- sum(!pos & y == 1L); tn <- sum(!pos & y == 0L)
  ratio <- function(a, b, what) {
    if (b == 0) {
      warn_classed("radnomo_undefined_metric", what, " is undefined at threshold ", format(threshold),
                   " (zero denominator); reported as NA.")
      return(NA_real_)
    }
    a / b
  }
  data.frame(n = length(y), n_events = sum(y), auc = as.numeric(r$auc),
             auc_lower = ci[1L], auc_upper = ci[3L], threshold = threshold,
             sensitivity = tp / (tp + fn), specificity = tn / (tn + fp),
             ppv = ratio(tp, tp + fp, "PPV"), npv = ratio(tn, tn + fn, "NPV"),
             accuracy = (tp + tn) / length(y))
}

#' Paired DeLong tests between every pair of models
#'
#' For every pair of scores, in the order 1-2, 1-3, ..., 2-3, ..., a paired
#' DeLong test of the difference in AUC (`pROC::roc.test(method = "delong",
#' paired = TRUE)`), two-sided. `difference = auc_1 - auc_2` with its DeLong
#' 95% confidence interval.
#'
#' @param y Binary outcome (0/1, logical or two-level factor, second level = event).
#' @param scores Named list or data.frame of >= 2 numeric score vectors, all
#'   measured on the same patients as `y`.
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @param outcome_name The outcome's name in messages (e.g. the outcome
#'   column, `"recurrence"`); by default the expression passed as `y` when it
#'   is a variable or a data-frame column (`d$recurrence`), else `"y"`.
#' @return data.frame model_1, model_2, auc_1, auc_2, difference, lower,
#'   upper, z, p (one row per pair).
#' @examples
#' set.seed(1)
#' y <- rbinom(100, 1, 0.4)
#' delong_test(y, list(a = y + rnorm(100), b = rnorm(100)))
#' @export
delong_test <- function(y, scores, event = NULL, outcome_name = NULL) {
  y <- check_binary(y, outcome_label(outcome_name, substitute(y)), event)
  scores <- check_score_list(scores, length(y), "scores", min_models = 2L)
  rocs <- lapply(scores, function(s) make_roc(y, s))
  nm <- names(scores)
  pairs <- utils::combn(length(nm), 2L)
  out <- lapply(seq_len(ncol(pairs)), function(k) {
    i <- pairs[1L, k]; j <- pairs[2L, k]
    a1 <- as.numeric(rocs[[i]]$auc); a2 <- as.numeric(rocs[[j]]$auc)
    t <- tryCatch(pROC::roc.test(rocs[[i]], rocs[[j]], method = "delong", paired = TRUE), error = function(e) {
      # DeLong's variance needs at least two patients of each class (pROC
      # fails with one); the difference is reported without a test
      warn_classed("radnomo_undefined_metric", "The DeLong test of '", nm[i], "' vs '", nm[j], "' is undefined (",
                   sum(y == 1L), " event(s), ", sum(y == 0L), " non-event(s)); reported as NA.")
      list(conf.int = c(NA_real_, NA_real_), statistic = NA_real_, p.value = NA_real_)
    })
    data.frame(model_1 = nm[i], model_2 = nm[j], auc_1 = a1, auc_2 = a2, difference = a1 - a2,
               lower = t$conf.int[1L], upper = t$conf.int[2L], z = unname(t$statistic),
               p = t$p.value, stringsAsFactors = FALSE)
  })
  do.call(rbind, out)
}
