# Saving a fitted study as a reusable model without patient-level data.

#' Remove patient-level data from a fitted study
#'
#' A fitted `"radnomo_study"` keeps, inside its `glm`/`lrm` fits and its
#' `scores` table, the training patients' identifiers, outcomes and feature
#' values. Before a model is shared or saved as an artifact, `strip_study()`
#' removes them: the per-patient `scores`, the calibration inputs (`risk`,
#' `y`), and from every `glm` its `data`, `model`, `y`, residuals, fitted
#' values, weights and the QR matrix (the pivot is kept), and from the
#' nomogram's `lrm` its `x`, `y` and linear predictors. Everything needed by
#' [predict()] — coefficients, terms, factor levels, centres, scales, PCA
#' rotations — and all aggregate results (metrics, DeLong tests, decision and
#' calibration curves, coefficient tables) are kept, so predictions are
#' unchanged. Bootstrap calibration cannot be re-run on a stripped study.
#'
#' @param object A `"radnomo_study"` from [fit_study()].
#' @return The stripped `"radnomo_study"` (with `settings$stripped = TRUE`).
#' @examples
#' set.seed(3)
#' d <- data.frame(patient_id = 1:120, label = rbinom(120, 1, 0.4), age = rnorm(120, 60, 8))
#' d$marker <- d$label + rnorm(120)
#' st <- fit_study(d[1:80, ], d[81:120, ], clinical = c("age", "marker"), clinical_alpha = 0.5, B = 10)
#' small <- strip_study(st)
#' is.null(small$scores) # no patient-level data left
#' all.equal(predict(small, d[81:120, ])$nomogram, predict(st, d[81:120, ])$nomogram)
#' f <- tempfile(fileext = ".rds")
#' saveRDS(small, f)
#' @export
strip_study <- function(object) {
  if (!inherits(object, "radnomo_study")) abort("'object' must be a radnomo_study (from fit_study()).")
  object$scores <- NULL
  object$calibration <- lapply(object$calibration, function(cal) {
    if (is.null(cal)) return(cal)
    cal$risk <- NULL
    cal$y <- NULL
    cal
  })
  strip_fit <- function(m) {
    if (is.null(m)) return(m)
    if (!is.null(m$fit)) m$fit <- strip_model(m$fit)
    m
  }
  for (part in c("rad_score", "dl_score", "clinical", "nomogram")) {
    if (!is.null(object[[part]])) object[[part]] <- strip_fit(object[[part]])
  }
  object$settings$stripped <- TRUE
  object
}

#' @noRd
strip_model <- function(fit) {
  if (inherits(fit, "glm")) {
    for (f in c("data", "model", "y", "residuals", "fitted.values", "effects", "linear.predictors",
                "weights", "prior.weights", "offset")) {
      fit[[f]] <- NULL
    }
    if (!is.null(fit$qr)) fit$qr$qr <- NULL
  }
  if (inherits(fit, "lrm")) {
    for (f in c("x", "y", "linear.predictors", "fitted.values")) fit[[f]] <- NULL
  }
  fit
}
