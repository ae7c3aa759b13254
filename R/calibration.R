# Calibration of predicted risks: grouped curve, logistic recalibration
# statistics, Brier score, Hosmer-Lemeshow test and optional bootstrap
# (optimism-corrected) calibration of an rms::lrm model.

#' Calibration of predicted risks
#'
#' Conventions (Steyerberg, *Clinical Prediction Models*, 2nd ed., ch. 15):
#' * **Grouped curve**: patients are grouped by quantiles of `risk`
#'   (`groups` groups, `quantile(type = 7)` breaks, lowest included; tied
#'   breaks are merged, so fewer groups can result). For each group the mean
#'   predicted risk, the observed event proportion and its exact
#'   Clopper-Pearson 95% interval (`binom.test`) are reported.
#' * **Calibration slope**: coefficient of `logit(risk)` in
#'   `glm(y ~ logit(risk), binomial)`; **calibration-in-the-large**
#'   (intercept): intercept of `glm(y ~ 1 + offset(logit(risk)), binomial)`.
#'   Both with Wald 95% intervals. Ideal values: slope 1, intercept 0. The
#'   **recalibration intercept** is the intercept of the slope model
#'   `glm(y ~ logit(risk))` itself (slope free) — what `rms::val.prob` prints
#'   as "Intercept"; it differs from calibration-in-the-large unless the
#'   slope is 1. Risks
#'   of exactly 0 or 1 are clamped to `[1e-12, 1 - 1e-12]` before the logit.
#' * **Brier score**: `mean((y - risk)^2)`.
#' * **Hosmer-Lemeshow**: `sum((O_g - E_g)^2 / (E_g (1 - E_g / n_g)))` over
#'   the risk groups above, with `G - 2` degrees of freedom (`G` = number of
#'   groups actually formed) on the data the model was fitted on, or `G`
#'   degrees of freedom when `validation = TRUE` (risks applied unchanged to
#'   independent data; Hosmer, Lemeshow & Sturdivant, Applied Logistic
#'   Regression, 3rd ed., section 5.2.2), and an upper-tail chi-squared p-value.
#' * **Bootstrap** (only when `fit` is given; meant for the training set the
#'   model was fitted on): the computation of `rms::calibrate(fit, method =
#'   "boot", B = B)` after `set.seed(seed)` (caller's RNG state restored),
#'   run through rms' own resampling engine (`rms::predab.resample`) with
#'   one difference: a resample whose refit separates is refitted by Firth's
#'   method (`separation = "firth"`), so the bootstrap repeats the procedure
#'   that [fit_nomogram()] applies; without separation the numbers are those
#'   of `rms::calibrate`. `mean_absolute_error`
#'   is the mean absolute difference between each patient's predicted risk and
#'   the bias-corrected calibration curve at that risk, linearly interpolated
#'   (`approx`, no extrapolation: patients outside the curve's `predy` grid
#'   are left out), exactly as printed by rms' `print` method for
#'   `calibrate.default` objects.
#'
#' @param y Binary outcome (0/1, logical or two-level factor, second level = event).
#' @param risk Predicted probabilities in \[0, 1\], one per patient.
#' @param fit Optional `"radnomo_nomogram"` or `rms::lrm` fit with `x = TRUE,
#'   y = TRUE`, fitted on the same patients as `y`, for bootstrap calibration.
#' @param B Number of bootstrap resamples.
#' @param seed Optional integer seed for the bootstrap.
#' @param groups Number of risk groups for the grouped curve and the
#'   Hosmer-Lemeshow test (>= 3).
#' @param separation How each bootstrap refit handles (quasi-)complete
#'   separation: `"firth"` (default) refits a separated resample with Firth's
#'   method, as [fit_nomogram()] does; `"error"`/`"warn"` drop it as a failed
#'   resample, as rms does for a divergent refit.
#' @param validation `TRUE` when `risk` comes from a model fitted on other
#'   patients (a test or external set): the Hosmer-Lemeshow test then has `G`
#'   degrees of freedom instead of `G - 2`.
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @param outcome_name The outcome's name in messages (e.g. the outcome
#'   column, `"recurrence"`); by default the expression passed as `y` when it
#'   is a variable or a data-frame column (`d$recurrence`), else `"y"`.
#' @return An object of class `"radnomo_calibration"`: a list with `curve`
#'   (data.frame group, n, predicted, observed, lower, upper), `stats`
#'   (one-row data.frame n, intercept, intercept_lower, intercept_upper
#'   (calibration-in-the-large), slope, slope_lower, slope_upper,
#'   recalibration_intercept (+ _lower, _upper), brier, hl_statistic, hl_df, hl_p),
#'   `bootstrap` (data.frame predicted, apparent, bias_corrected, ideal, or
#'   NULL), `mean_absolute_error` (or NA), `bootstrap_resamples` (named
#'   integer: requested, failed (resamples whose refit failed and were left
#'   out, as rms does), firth (refitted with Firth's method); NULL without
#'   bootstrap), `optimism_corrected` (with `fit`: data.frame index (Dxy,
#'   c, recalibration_intercept, slope, brier — the recalibration intercept
#'   is rms::validate's "Intercept", not calibration-in-the-large), apparent, optimism, corrected, n — Efron's
#'   bootstrap optimism correction of the final model, the numbers of
#'   `rms::validate(fit, method = "boot", B = B)`, refitting a separated
#'   resample like the bootstrap curve does; it does not repeat any variable
#'   selection made before the model, so it understates optimism after
#'   selection), `risk` and `y`.
#' @examples
#' set.seed(1)
#' risk <- runif(200)
#' y <- rbinom(200, 1, risk)
#' calibration(y, risk)$stats
#' @export
calibration <- function(y, risk, fit = NULL, B = 1000, seed = NULL, groups = 10, validation = FALSE,
                        separation = c("firth", "error", "warn"), event = NULL, outcome_name = NULL) {
  separation <- match_arg(separation)
  if (!is.logical(validation) || length(validation) != 1L || is.na(validation)) {
    abort("'validation' must be TRUE or FALSE.")
  }
  lab <- outcome_label(outcome_name, substitute(y))
  y <- check_binary(y, lab, event)
  risk <- check_score(risk, length(y), "risk", probability = TRUE)
  check_number(B, "B", 1, 1e6, integer = TRUE)
  check_number(groups, "groups", 3, length(y), integer = TRUE)
  seed <- check_seed(seed)
  curve <- calibration_groups(y, risk, groups)
  stats <- calibration_stats(y, risk, curve, validation)
  boot <- NULL
  mae <- NA_real_
  resamples <- NULL
  corrected <- NULL
  if (!is.null(fit)) {
    if (validation) abort("'fit' (bootstrap on the model's own training set) and 'validation = TRUE' (independent ",
                          "data) exclude each other.")
    check_fit_risks(fit, risk, y, lab)
    res <- bootstrap_calibration(fit, y, B, seed, separation, lab)
    boot <- res$table
    mae <- res$mae
    resamples <- res$resamples
    corrected <- bootstrap_validation(fit, B, seed, separation)
  }
  per_group <- length(y) / nrow(curve)
  if (stats$hl_df < 1) {
    warn_classed("radnomo_small_sample", "Only ", nrow(curve), " risk group(s) could be formed (tied risks are ",
                 "merged): the Hosmer-Lemeshow test has no degrees of freedom and is reported as NA.")
  } else if (per_group < 5) {
    warning(structure(class = c("radnomo_small_sample", "warning", "condition"), list(
      message = paste0("Calibration of ", length(y), " patients in ", nrow(curve), " risk groups: about ",
                       round(per_group, 1), " patients per group, too few for a stable grouped curve or ",
                       "Hosmer-Lemeshow test (use fewer groups, about 10 patients each)."),
      call = NULL)))
  }
  structure(list(curve = curve[, c("group", "n", "predicted", "observed", "lower", "upper")],
                 stats = stats, bootstrap = boot, mean_absolute_error = mae,
                 bootstrap_resamples = resamples, optimism_corrected = corrected, risk = risk, y = y,
                 fit_method = if (is.null(fit)) NULL else fit$fit$radnomo_method %||% "ml"),
            class = "radnomo_calibration")
}

#' Quantile groups of risk with observed proportions and exact CIs
#' @noRd
calibration_groups <- function(y, risk, groups) {
  br <- unique(stats::quantile(risk, probs = seq(0, 1, length.out = groups + 1L), type = 7, names = FALSE))
  g <- if (length(br) < 2L) rep(1L, length(risk)) else
    as.integer(cut(risk, breaks = br, include.lowest = TRUE))
  g <- match(g, sort(unique(g)))
  out <- do.call(rbind, lapply(sort(unique(g)), function(k) {
    yy <- y[g == k]
    ci <- stats::binom.test(sum(yy), length(yy))$conf.int
    data.frame(group = k, n = length(yy), predicted = mean(risk[g == k]), observed = mean(yy),
               lower = ci[1L], upper = ci[2L], events = sum(yy), expected = sum(risk[g == k]))
  }))
  out$group <- as.integer(out$group)
  out$n <- as.integer(out$n)
  out
}

#' Logistic recalibration, Brier and Hosmer-Lemeshow
#' @noRd
calibration_stats <- function(y, risk, curve, validation = FALSE) {
  lg <- stats::qlogis(pmin(pmax(risk, 1e-12), 1 - 1e-12))
  q <- stats::qnorm(0.975)
  slope_fit <- suppressWarnings(stats::glm(y ~ lg, family = stats::binomial()))
  sc <- summary(slope_fit)$coefficients
  # start = 0 (the offset itself): glm's default start (logit of (y + 0.5) / 2
  # minus the offset) diverges when some risks are near 0 or 1 (clamped logits
  # of +-27.6), although the score equation has a finite root
  int_fit <- suppressWarnings(stats::glm(y ~ 1, offset = lg, family = stats::binomial(), start = 0))
  ic <- summary(int_fit)$coefficients
  e <- curve$expected
  hl <- sum((curve$events - e)^2 / (e * (1 - e / curve$n)))
  df <- nrow(curve) - if (isTRUE(validation)) 0L else 2L
  data.frame(n = length(y),
             intercept = ic[1L, 1L], intercept_lower = ic[1L, 1L] - q * ic[1L, 2L],
             intercept_upper = ic[1L, 1L] + q * ic[1L, 2L],
             slope = sc[2L, 1L], slope_lower = sc[2L, 1L] - q * sc[2L, 2L],
             slope_upper = sc[2L, 1L] + q * sc[2L, 2L],
             recalibration_intercept = sc[1L, 1L],
             recalibration_intercept_lower = sc[1L, 1L] - q * sc[1L, 2L],
             recalibration_intercept_upper = sc[1L, 1L] + q * sc[1L, 2L],
             brier = mean((y - risk)^2),
             hl_statistic = hl, hl_df = df,
             hl_p = if (df > 0) stats::pchisq(hl, df, lower.tail = FALSE) else NA_real_)
}

#' Bootstrap calibration of an lrm fit, through rms' resampling engine
#'
#' The same computation as `rms::calibrate(fit, method = "boot", B = B)`
#' (rms 6.5): `rms::predab.resample()` draws the resamples, refits the model
#' on each, and measures the calibration error on a grid of 50 predicted
#' risks (from the 5th smallest to the 5th largest prediction) with a
#' `lowess(iter = 0)` smooth interpolated on the grid; the bias-corrected
#' curve is the apparent curve minus the mean optimism. The refit differs
#' from rms' only under separation: each resample is checked
#' ([detect_separation()]) and, when it is separated (or maximum likelihood
#' fails), refitted with Firth's method (`separation = "firth"`) or dropped
#' as a failed resample (`"error"`, `"warn"`: rms' own behaviour for a
#' divergent refit). Without separation the result equals `rms::calibrate()`
#' with the same seed.
#' @noRd
bootstrap_calibration <- function(fit, y, B, seed, separation = "firth", outcome_name = "y") {
  if (inherits(fit, "radnomo_nomogram")) fit <- fit$fit
  if (!inherits(fit, "lrm")) abort("'fit' must be a radnomo_nomogram or an rms::lrm fit.")
  if (is.null(fit$x) || is.null(fit$y)) abort("'fit' must be fitted with x = TRUE, y = TRUE for bootstrap calibration.")
  if (NROW(fit$y) != length(y)) {
    abort("'fit' was fitted on ", NROW(fit$y), " patients but the outcome '", outcome_name, "' has ", length(y),
          "; bootstrap calibration applies to the model's own training set.")
  }
  n <- length(fit$y)
  if (n < 11L) abort("Bootstrap calibration needs more than 10 patients; the fit has ", n, ".")
  fit$y <- as.integer(factor(fit$y)) - 1L
  predicted <- stats::plogis(fit$linear.predictors)
  p <- sort(predicted)
  predy <- seq(p[5L], p[n - 4L], length.out = 50L)
  refits <- new.env()
  refits$firth <- 0L
  refits$failed <- 0L
  refits$total <- 0L
  base_fitter <- resample_fitter(if (separation == "lasso") "firth" else separation)
  fitter <- function(x, y, ...) {
    f <- base_fitter(x, y, ...)
    refits$total <- refits$total + 1L
    if (isTRUE(f$fail)) refits$failed <- refits$failed + 1L
    if (identical(f$radnomo_method, "firth")) refits$firth <- refits$firth + 1L
    f
  }
  z <- NULL
  # rms prints "Divergence or singularity in k samples"; radnomo warns instead
  utils::capture.output(
    z <- with_seed(seed, rms::predab.resample(fit, method = "boot", fit = fitter, measure = calibration_error,
                                              B = B, bw = FALSE, estimates = FALSE, predy = predy, kint = 1L)))
  if (refits$failed > 0L) {
    warn_classed("radnomo_bootstrap_failures", "Bootstrap calibration: the refit failed in ", refits$failed, " of ", B,
                 " resamples (left out, as rms does); the bias-corrected curve rests on the other ",
                 B - refits$failed, ".")
  }
  orig <- attr(z, "keepinfo")$orig.cal
  corrected <- orig - z[, "optimism"]
  tab <- data.frame(predicted = predy, apparent = orig, bias_corrected = corrected, ideal = predy)
  ok <- !is.na(predy + corrected)
  # as rms:::print.calibrate.default (rms 6.5): linear interpolation without
  # extrapolation; patients outside the predy grid are left out (na.rm)
  err <- predicted - stats::approx(predy[ok], corrected[ok], xout = predicted, ties = mean)$y
  list(table = tab, mae = mean(abs(err), na.rm = TRUE),
       resamples = c(requested = as.integer(B), failed = refits$failed, firth = refits$firth))
}

#' Efron's optimism-corrected Dxy, c, calibration intercept and slope, Brier
#'
#' `rms::predab.resample()` with the same Firth-aware refit as the
#' bootstrap curve and a measure that gives what `rms::validate.lrm` reports
#' for these indexes: Somers' Dxy of the linear predictor, the intercept and
#' slope of a logistic refit of the outcome on it, and the Brier score.
#' Without separation the corrected values equal `rms::validate(fit,
#' method = "boot", B = B)` after the same seed.
#' @noRd
bootstrap_validation <- function(fit, B, seed, separation = "firth") {
  if (inherits(fit, "radnomo_nomogram")) fit <- fit$fit
  fit$y <- as.integer(factor(fit$y)) - 1L
  fitter <- resample_fitter(if (separation == "lasso") "firth" else separation)
  z <- NULL
  utils::capture.output(
    z <- with_seed(seed, rms::predab.resample(fit, method = "boot", fit = fitter, measure = validation_measure,
                                              B = B, bw = FALSE, estimates = FALSE, kint = 1L)))
  z <- unclass(z)
  out <- data.frame(index = rownames(z), apparent = z[, "index.orig"], optimism = z[, "optimism"],
                    corrected = z[, "index.corrected"], n = as.integer(z[, "n"]), stringsAsFactors = FALSE)
  rownames(out) <- NULL
  c_row <- out[out$index == "Dxy", ]
  c_row$index <- "c"
  c_row[c("apparent", "corrected")] <- (c_row[c("apparent", "corrected")] + 1) / 2
  c_row$optimism <- c_row$optimism / 2
  out <- rbind(out[1L, ], c_row, out[-1L, ])
  out$index <- c("Dxy", "c", "recalibration_intercept", "slope", "brier")
  rownames(out) <- NULL
  out
}

#' The validate.lrm indexes radnomo reports, for one linear predictor
#' @noRd
validation_measure <- function(x, y, ...) {
  y <- as.integer(y)
  n1 <- sum(y == 1L)
  n0 <- sum(y == 0L)
  r <- rank(x)
  dxy <- 2 * (sum(r[y == 1L]) - n1 * (n1 + 1) / 2) / (n1 * n0) - 1
  g <- suppressWarnings(stats::glm.fit(cbind(1, x), y, family = stats::binomial()))
  b <- stats::coef(g)
  c(Dxy = dxy, Intercept = unname(b[1L]), Slope = unname(b[2L]), B = mean((y - stats::plogis(x))^2))
}

#' calibration(fit =): the risks must be the fit's own training predictions
#' @noRd
check_fit_risks <- function(fit, risk, y = NULL, outcome_name = "y") {
  f <- if (inherits(fit, "radnomo_nomogram")) fit$fit else fit
  if (inherits(f, "lrm") && (is.null(f$x) || is.null(f$y))) {
    abort("'fit' holds no training data (a stripped model, or fitted without x = TRUE, y = TRUE); bootstrap ",
          "calibration needs the model's training set.")
  }
  if (!is.null(y) && !is.null(f$y) && length(f$y) == length(y) &&
      !all(as.integer(factor(f$y)) - 1L == y)) {
    abort("The outcome '", outcome_name, "' is not the one 'fit' was fitted on; bootstrap calibration applies to ",
          "the model's own training set.")
  }
  lp <- f$linear.predictors
  if (is.null(lp) || length(lp) != length(risk)) return(invisible(TRUE))
  d <- max(abs(stats::plogis(unname(lp)) - risk))
  if (d > 1e-6) {
    abort("'risk' is not the predicted risk of 'fit' on its training patients (largest difference ",
          signif(d, 3), "); bootstrap calibration needs the fit's own predictions, e.g. predict(fit).")
  }
  invisible(TRUE)
}

#' Calibration error of a logistic linear predictor on a grid of risks
#'
#' The measure `rms::calibrate` hands to `rms::predab.resample` for a binary
#' `lrm`: the observed-risk curve is a `lowess(iter = 0)` smooth of the
#' outcome on the predicted risk, read at `predy` by linear interpolation
#' (first value at tied risks); the error is that curve minus `predy`.
#' @noRd
calibration_error <- function(x, y, iter, predy, kint = 1L, ...) {
  risk <- stats::plogis(x)
  smooth <- stats::lowess(risk, y >= kint, iter = 0)
  curve <- stats::approx(smooth, xout = predy, ties = function(v) v[1L])$y
  if (iter == 0) structure(curve - predy, keepinfo = list(orig.cal = curve)) else curve - predy
}

#' Plot a calibration curve
#'
#' Observed proportion vs predicted probability: the ideal diagonal, the
#' grouped points with their 95% intervals, the bootstrap apparent and
#' bias-corrected curves when present, and a histogram of the predicted
#' risks along the bottom. `plot()` draws on the current device;
#' `plot_calibration()` writes the same figure to a file.
#'
#' @param x,object A `"radnomo_calibration"` from [calibration()].
#' @param title Optional plot title.
#' @param ... Unused.
#' @param file Output path ending in `.png`, `.pdf` or `.svg`.
#' @param width,height Figure size in inches.
#' @return `plot()`: `x`, invisibly; `plot_calibration()`: `file`, invisibly.
#' @examples
#' set.seed(1)
#' risk <- runif(200)
#' cal <- calibration(rbinom(200, 1, risk), risk)
#' plot(cal, title = "Simulated")
#' f <- plot_calibration(cal, tempfile(fileext = ".png"))
#' @export
plot_calibration <- function(object, file, title = NULL, width = 6, height = 6) {
  if (!inherits(object, "radnomo_calibration")) abort("'object' must be a radnomo_calibration from calibration().")
  open_device(file, width, height)
  on.exit(grDevices::dev.off(), add = TRUE)
  plot(object, title = title)
  invisible(file)
}

#' @rdname plot_calibration
#' @export
plot.radnomo_calibration <- function(x, title = NULL, ...) {
  object <- x
  old <- graphics::par(no.readonly = TRUE)[c("mar", "las")]
  on.exit(graphics::par(old), add = TRUE)
  cv <- object$curve
  graphics::par(mar = c(4.5, 4.5, if (is.null(title)) 1.5 else 3, 1))
  graphics::plot(NA, xlim = c(0, 1), ylim = c(-0.08, 1), xlab = "Predicted probability",
                 ylab = "Observed proportion", main = if (is.null(title)) "" else title, las = 1)
  graphics::abline(0, 1, lty = 2, col = "grey40")
  h <- graphics::hist(if (length(object$risk)) object$risk else numeric(), breaks = seq(0, 1, by = 0.02), plot = FALSE)
  if (length(object$risk) && max(h$counts) > 0) {
    hh <- h$counts / max(h$counts) * 0.07
    graphics::rect(h$breaks[-length(h$breaks)], -0.08, h$breaks[-1L], -0.08 + hh, col = "grey70", border = NA)
  }
  leg <- c("Ideal", "Grouped observed (95% CI)")
  col <- c("grey40", "black"); lty <- c(2, NA); pch <- c(NA, 16)
  if (!is.null(object$bootstrap)) {
    b <- object$bootstrap
    graphics::lines(b$predicted, b$apparent, col = "steelblue", lwd = 2)
    graphics::lines(b$predicted, b$bias_corrected, col = "firebrick", lwd = 2)
    leg <- c(leg, "Apparent", "Bias-corrected (bootstrap)")
    col <- c(col, "steelblue", "firebrick"); lty <- c(lty, 1, 1); pch <- c(pch, NA, NA)
  }
  graphics::arrows(cv$predicted, cv$lower, cv$predicted, cv$upper, angle = 90, code = 3, length = 0.03)
  graphics::points(cv$predicted, cv$observed, pch = 16)
  s <- object$stats
  graphics::legend("topleft", legend = leg, col = col, lty = lty, pch = pch, bty = "n", cex = 0.85)
  oc <- object$optimism_corrected
  slope_txt <- if (is.null(oc)) sprintf("Slope %.2f", s$slope) else
    sprintf("Slope %.2f (optimism-corrected %.2f)", s$slope, oc$corrected[oc$index == "slope"])
  graphics::legend("bottomright", bty = "n", cex = 0.8,
                   legend = c(slope_txt, sprintf("Calibration-in-the-large %.2f", round(s$intercept, 2) + 0),
                              sprintf("Brier %.3f", s$brier), sprintf("HL p = %.3f", s$hl_p)))
  invisible(x)
}
