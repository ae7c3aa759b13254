# The S3 interface R users expect of fitted models: print, summary, coef,
# nobs and predictions for the training data (predict without newdata).

#' Training-set predictions of a glm (NULL-safe for stripped fits)
#' @noRd
training_prediction <- function(fit, type) {
  lp <- fit$linear.predictors
  if (is.null(lp)) abort("This model holds no training data (stripped); give 'newdata'.")
  lp <- unname(lp)
  if (type == "response") stats::plogis(lp) else lp
}

#' @noRd
fit_method_label <- function(info) {
  if (is.null(info) || !nrow(info)) return("maximum likelihood")
  switch(info$method[1L], firth = "Firth's bias-reduced (separation found)",
         lasso = "LASSO linear predictor (separation found)", "maximum likelihood")
}

#' @noRd
print_or_table <- function(tab, digits = 3) {
  show <- tab[, intersect(c("variable", "term", "estimate", "std_error", "odds_ratio", "or_lower", "or_upper",
                            "p_value", "lr_p_value"), names(tab)), drop = FALSE]
  num <- vapply(show, is.numeric, logical(1))
  show[num] <- lapply(show[num], signif, digits = digits)
  print(show, row.names = FALSE)
  if (!is.null(tab$ci_method) && nrow(tab)) {
    cat("Odds-ratio 95% CIs: ", paste(unique(tab$ci_method), collapse = ", "), "; p-values: ",
        paste(unique(tab$p_method), collapse = ", "), ".\n", sep = "")
  }
}

#' Methods for radnomo's fitted models
#'
#' `print()` shows a compact summary; `summary()` returns the main table
#' (coefficients with odds ratios and 95% CIs — Wald for maximum-likelihood
#' fits, profile penalised likelihood for Firth fits, named in the table's
#' `ci_method` column; for a clinical model the
#' univariable and multivariable tables and the VIFs; for a calibration its
#' statistics); `coef()` the named coefficient vector (intercept first);
#' `nobs()` the number of patients the model was fitted on (NA once
#' stripped).
#'
#' @param x,object A fitted radnomo object: `"radnomo_score"`,
#'   `"radnomo_clinical"`, `"radnomo_nomogram"`, `"radnomo_calibration"` or
#'   `"radnomo_study"`.
#' @param ... Unused.
#' @return `print()`: `x`, invisibly. `summary()`: a data.frame (a list of
#'   data.frames for a clinical model). `coef()`: named numeric vector.
#'   `nobs()`: integer.
#' @examples
#' bw <- MASS::birthwt
#' cl <- clinical_logistic(bw, "low", c("lwt", "smoke", "age"), alpha = 0.2)
#' cl
#' coef(cl)
#' nobs(cl)
#' summary(cl)$multivariable
#' nm <- fit_nomogram(bw, "low", cl$selected)
#' nm
#' coef(nm)
#' head(predict(nm)) # training predictions
#' @name radnomo-methods
#' @importFrom stats coef nobs predict
NULL

#' @rdname radnomo-methods
#' @export
print.radnomo_score <- function(x, ...) {
  cat("radnomo score model: logistic regression on ", length(x$features), " term(s), ",
      fit_method_label(x$separation), "\n", sep = "")
  if (!is.null(x$separation) && nzchar(x$separation$note[1L])) cat("Note:", x$separation$note[1L], "\n")
  print_or_table(x$coefficients)
  invisible(x)
}

#' @rdname radnomo-methods
#' @export
summary.radnomo_score <- function(object, ...) object$coefficients

#' @rdname radnomo-methods
#' @export
coef.radnomo_score <- function(object, ...) {
  stats::setNames(object$coefficients$estimate, object$coefficients$term)
}

#' @rdname radnomo-methods
#' @export
nobs.radnomo_score <- function(object, ...) {
  if (is.null(object$fit$y)) NA_integer_ else length(object$fit$y)
}

#' @rdname radnomo-methods
#' @export
print.radnomo_clinical <- function(x, ...) {
  cat("radnomo clinical model: ", length(x$candidates), " candidate(s) screened by univariable ",
      if (is.null(x$screening)) "Wald" else x$screening, " test at p < ", x$alpha, "\n", sep = "")
  if (is.null(x$fit)) {
    cat("No candidate passed; there is no multivariable model.\n")
  } else {
    cat("Multivariable model (", fit_method_label(x$separation), ") on: ",
        paste(x$selected, collapse = ", "), "\n", sep = "")
    print_or_table(x$multivariable)
  }
  invisible(x)
}

#' @rdname radnomo-methods
#' @export
summary.radnomo_clinical <- function(object, ...) {
  list(univariable = object$univariable, multivariable = object$multivariable, vif = object$vif)
}

#' @rdname radnomo-methods
#' @export
coef.radnomo_clinical <- function(object, ...) {
  if (is.null(object$fit)) return(stats::setNames(numeric(), character()))
  b <- stats::coef(object$fit)
  stats::setNames(unname(b), gsub("`", "", names(b)))
}

#' @rdname radnomo-methods
#' @export
nobs.radnomo_clinical <- function(object, ...) {
  if (is.null(object$fit) || is.null(object$fit$y)) NA_integer_ else length(object$fit$y)
}

#' @rdname radnomo-methods
#' @export
print.radnomo_nomogram <- function(x, ...) {
  n <- nobs.radnomo_nomogram(x)
  cat("radnomo nomogram: rms::lrm of '", x$outcome, "' on ", paste(x$predictors, collapse = ", "),
      if (!is.na(n)) paste0(" (", n, " patients)") else "", ", ", fit_method_label(x$separation), "\n", sep = "")
  if (!is.null(x$separation) && nzchar(x$separation$note[1L])) cat("Note:", x$separation$note[1L], "\n")
  print_or_table(x$coefficients)
  cat("Points: total points T map to risk plogis(", signif(x$points_intercept, 4), " + T / ",
      signif(x$points_scale, 4), "); plot() draws the nomogram.\n", sep = "")
  invisible(x)
}

#' @rdname radnomo-methods
#' @export
summary.radnomo_nomogram <- function(object, ...) object$coefficients

#' @rdname radnomo-methods
#' @export
coef.radnomo_nomogram <- function(object, ...) {
  stats::setNames(object$coefficients$estimate, object$coefficients$term)
}

#' @rdname radnomo-methods
#' @export
nobs.radnomo_nomogram <- function(object, ...) {
  if (is.null(object$fit$y)) {
    n <- object$fit$stats[["Obs"]]
    if (is.null(n) || !object$fit$stats[["Obs"]] > 0) NA_integer_ else as.integer(n)
  } else {
    length(object$fit$y)
  }
}

#' @rdname radnomo-methods
#' @export
print.radnomo_calibration <- function(x, ...) {
  s <- x$stats
  cat("radnomo calibration: ", s$n, " patients, ", nrow(x$curve), " risk groups\n", sep = "")
  f <- function(v, lo, hi) sprintf("%.3f (95%% CI %.3f to %.3f)", v, lo, hi)
  cat("  Calibration slope:                ", f(s$slope, s$slope_lower, s$slope_upper), "\n", sep = "")
  cat("  Calibration-in-the-large (offset):", " ", f(s$intercept, s$intercept_lower, s$intercept_upper), "\n", sep = "")
  if (!is.null(s$recalibration_intercept)) {
    cat("  Recalibration intercept (slope free, as rms::val.prob's Intercept): ",
        sprintf("%.3f", s$recalibration_intercept), "\n", sep = "")
  }
  cat("  Brier score:                      ", sprintf("%.4f", s$brier), "\n", sep = "")
  cat("  Hosmer-Lemeshow:                  ", sprintf("%.2f on %d df, p = %.3f", s$hl_statistic, as.integer(s$hl_df), s$hl_p),
      "\n", sep = "")
  oc <- x$optimism_corrected
  if (!is.null(oc)) {
    g <- function(i) oc$corrected[oc$index == i]
    own <- if (identical(x$fit_method, "firth")) {
      "apparent (not 1 and 0: Firth's penalised estimates are shrunk towards 0)"
    } else {
      "apparent (1 and 0 by construction for a maximum-likelihood fit)"
    }
    cat("  On its own training data the slope and intercepts above are ", own, ";\n",
        "  optimism-corrected (bootstrap): slope ", sprintf("%.3f", g("slope")), ", recalibration intercept ",
        sprintf("%.3f", g("recalibration_intercept")), ", c ", sprintf("%.3f", g("c")), ", Brier ",
        sprintf("%.4f", g("brier")), "\n", sep = "")
  }
  if (!is.null(x$bootstrap)) {
    cat("  Bootstrap: mean absolute calibration error ", sprintf("%.3f", x$mean_absolute_error), sep = "")
    r <- x$bootstrap_resamples
    if (!is.null(r)) cat(" (", r[["requested"]], " resamples, ", r[["failed"]], " failed, ", r[["firth"]],
                         " refitted with Firth)", sep = "")
    cat("\n")
  }
  invisible(x)
}

#' @rdname radnomo-methods
#' @export
summary.radnomo_calibration <- function(object, ...) object$stats

#' @rdname radnomo-methods
#' @export
nobs.radnomo_calibration <- function(object, ...) as.integer(object$stats$n)

#' @rdname radnomo-methods
#' @export
summary.radnomo_study <- function(object, ...) object$metrics

#' @rdname radnomo-methods
#' @export
coef.radnomo_study <- function(object, ...) {
  if (is.null(object$nomogram)) return(stats::setNames(numeric(), character()))
  coef.radnomo_nomogram(object$nomogram)
}

#' @rdname radnomo-methods
#' @export
nobs.radnomo_study <- function(object, ...) {
  if (!is.null(object$scores)) return(sum(object$scores$set == "train"))
  if (!is.null(object$nomogram)) nobs.radnomo_nomogram(object$nomogram) else NA_integer_
}

#' @rdname radnomo-methods
#' @export
coef.radnomo_selection <- function(object, ...) {
  stats::setNames(object$coefficients$coefficient, object$coefficients$term)
}
