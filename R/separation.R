# Separation in logistic regression: detection by linear programming and the
# policy that decides what a fit does when the maximum-likelihood estimates
# do not exist.

#' Detect (quasi-)complete separation in a logistic-regression design
#'
#' Maximum-likelihood estimates of a logistic model are finite if and only if
#' the two outcome classes overlap (Albert & Anderson, Biometrika 1984;71:1-10).
#' Complete or quasi-complete separation exists exactly when some non-zero
#' coefficient vector `b` has `(2 y - 1) * (X b) >= 0` for every patient. This
#' is decided with the linear program of Konis (*Linear programming algorithms
#' for detecting separated data in binary logistic regression models*, DPhil
#' thesis, Oxford, 2007; the method behind `safeBinaryRegression` and
#' `detectseparation`): maximise `sum((2 y - 1) * X b)` subject to
#' `(2 y - 1) * X b >= 0` and `-1 <= b <= 1`. The optimum is 0 when the classes
#' overlap and positive when the data are separated; the coefficients that are
#' non-zero at the optimum are the ones whose maximum-likelihood estimate is
#' infinite. Columns are centred and scaled first (separation does not change
#' under a change of basis of the columns when an intercept is present),
#' which keeps the program well conditioned. Solved with `lpSolve::lp`.
#'
#' @param x Design matrix (with the intercept column, if the model has one).
#' @param y Outcome coded 0/1.
#' @param tol Optimum above which the data count as separated.
#' @return A list: `separated` (logical), `objective` (the optimum),
#'   `infinite` (names of the columns of `x` whose estimates are infinite).
#' @noRd
detect_separation <- function(x, y, tol = 1e-6) {
  x <- as.matrix(x)
  if (is.null(colnames(x))) colnames(x) <- paste0("x", seq_len(ncol(x)))
  y <- as.numeric(y)
  keep <- colSums(abs(x)) > 0
  xs <- x[, keep, drop = FALSE]
  sds <- apply(xs, 2L, stats::sd)
  has_int <- any(sds == 0)
  for (j in which(sds > 0)) {
    xs[, j] <- (xs[, j] - if (has_int) mean(xs[, j]) else 0) / sds[j]
  }
  xb <- xs * (2 * y - 1)
  p <- ncol(xb)
  n <- nrow(xb)
  s <- colSums(xb)
  res <- lpSolve::lp("max", c(s, -s), rbind(cbind(xb, -xb), diag(2L * p)),
                     c(rep(">=", n), rep("<=", 2L * p)), c(rep(0, n), rep(1, 2L * p)))
  if (res$status != 0L) {
    # lpSolve could not solve the program (numerical trouble): be conservative
    return(list(separated = NA, objective = NA_real_, infinite = character()))
  }
  b <- res$solution[seq_len(p)] - res$solution[p + seq_len(p)]
  sep <- res$objval > tol * max(1, sqrt(n))
  inf <- if (sep) colnames(xs)[abs(b) > 1e-8] else character()
  list(separated = sep, objective = res$objval, infinite = inf)
}

#' The separation policies a study can apply
#' @noRd
separation_policies <- c("firth", "lasso", "error")

#' Firth's bias-reduced logistic regression of a model matrix
#'
#' `brglm2::brglmFit` with `type = "AS_mean"` (Firth, Biometrika 1993;80:27-38;
#' Kosmidis & Firth, Biometrika 2021;108:71-82): the estimates are always
#' finite, also under separation.
#' @return list(coefficients (named as `colnames(x)`), var, converged)
#' @noRd
firth_fit_matrix <- function(x, y) {
  x <- as.matrix(x)
  cn <- colnames(x)
  g <- firth_glm(y ~ 0 + x, data = environment())
  b <- stats::coef(g)
  v <- stats::vcov(g)
  names(b) <- cn
  dimnames(v) <- list(cn, cn)
  list(coefficients = b, var = v, converged = isTRUE(g$converged))
}

#' Firth's logistic fit of a formula, with a damped retry
#'
#' brglmFit's default quasi-Fisher scoring (full steps) can overshoot and
#' diverge on separated data with a binary separating column, although the
#' penalised likelihood has a finite maximum (Kosmidis & Firth 2021); when
#' the first fit does not converge, it is refitted with half steps
#' (`slowit = 0.5`) and more iterations, which converges on such data. The
#' returned glm has `converged` as brglmFit reports it.
#' @noRd
firth_glm <- function(formula, data) {
  fit <- function(...) quiet_firth(stats::glm(formula, data = data, family = stats::binomial(),
                                              method = brglm2::brglmFit, type = "AS_mean", ...))
  g <- fit()
  if (isTRUE(g$converged) && all(is.finite(stats::coef(g)))) return(g)
  fit(control = brglm2::brglmControl(type = "AS_mean", maxit = 1000, slowit = 0.5))
}

#' Evaluate a brglm2 fit, muffling its convergence chatter
#'
#' brglmFit's bias-reducing adjustment works with adjusted (non-integer)
#' responses internally, which makes `binomial()$initialize` warn although
#' the data are 0/1; its own "did not converge" / "fitted probabilities 0 or
#' 1" warnings are muffled too because the caller reads `converged` and
#' reports non-convergence in its own words. Other warnings pass through.
#' @noRd
quiet_firth <- function(expr) {
  withCallingHandlers(expr, warning = function(w) {
    if (grepl("non-integer #successes|algorithm did not converge|fitted probabilities numerically 0 or 1",
              conditionMessage(w))) invokeRestart("muffleWarning")
  })
}

#' A separation-aware binomial fit of a formula
#'
#' Fits `glm(formula, binomial)` by maximum likelihood, checks the design for
#' (quasi-)complete separation ([detect_separation()]) and non-convergence,
#' and when either is found applies `separation`:
#' * `"firth"`: refit with Firth's bias-reduced logistic regression
#'   (`glm(..., method = brglm2::brglmFit)`) and warn (class
#'   `radnomo_separation`);
#' * `"error"`: stop with an error of class `radnomo_separation`;
#' * `"warn"`: keep the maximum-likelihood fit and warn (the estimates are not
#'   reliable; used where the caller decides what to do next).
#' @return list(fit, info) where `info` is a one-row data.frame separation,
#'   converged, method ("ml" or "firth"), note.
#' @noRd
fit_logistic <- function(formula, data, label, separation = c("firth", "error", "warn")) {
  separation <- match_arg(separation)
  trouble <- FALSE
  fit <- withCallingHandlers(
    stats::glm(formula, data = data, family = stats::binomial()),
    warning = function(w) {
      if (grepl("fitted probabilities numerically 0 or 1|did not converge", conditionMessage(w))) {
        trouble <<- TRUE
        invokeRestart("muffleWarning")
      }
    })
  converged <- isTRUE(fit$converged) && !trouble
  mm <- stats::model.matrix(fit)
  det <- detect_separation(mm, fit$y)
  separated <- isTRUE(det$separated)
  if (!separated && converged) return(list(fit = fit, info = fit_info(FALSE, TRUE, "ml", "")))
  what <- separation_description(label, separated, converged, det$infinite)
  if (separation == "error") separation_abort(what, study = grepl("score refit", label))
  if (separation == "warn") {
    separation_warning(what, " The maximum-likelihood estimates, odds ratios and p-values are not reliable.")
    return(list(fit = fit, info = fit_info(separated, converged, "ml", what)))
  }
  firth <- firth_glm(formula, data)
  note <- paste0(what, " Refitted with Firth's bias-reduced logistic regression (separation = \"firth\")",
                 if (isTRUE(firth$converged)) "." else "; the Firth fit did not converge either: treat this model with caution.")
  separation_warning(note)
  list(fit = firth, info = fit_info(separated, converged, "firth", note))
}

#' @noRd
fit_info <- function(separation, converged, method, note) {
  data.frame(separation = separation, converged = converged, method = method, note = note,
             stringsAsFactors = FALSE)
}

#' @noRd
separation_description <- function(label, separated, converged, infinite) {
  infinite <- setdiff(gsub("^`|`$", "", infinite), c("(Intercept)", "Intercept"))
  paste0("The ", label, " ",
         if (separated) "shows (quasi-)complete separation" else "did not converge",
         if (length(infinite)) paste0(" (infinite maximum-likelihood estimate for ", name_list(infinite), ")") else "",
         if (separated && !converged) " and its maximum-likelihood fit did not converge" else "",
         ".")
}

#' Signal a warning of class radnomo_separation
#' @noRd
separation_warning <- function(...) {
  msg <- paste0(...)
  warning(structure(class = c("radnomo_separation", "warning", "condition"),
                    list(message = msg, call = NULL)))
}

#' Stop with an error of class radnomo_separation
#' @noRd
separation_abort <- function(what, study = FALSE) {
  stop(structure(class = c("radnomo_separation_error", "radnomo_separation", "error", "condition"),
                 list(message = paste0(what, " With separation = \"error\" the fit stops here; use ",
                                       "separation = \"firth\" (bias-reduced estimates", if (study)
                                         "; or \"lasso\" in fit_study()" else "", ")."),
                      call = NULL)))
}

#' A separation-aware refit for rms' resampling engine
#'
#' A fitter with the interface `rms::predab.resample()` expects (`x` without
#' the intercept column, `y` 0/1): maximum likelihood (`rms::lrm.fit`, as
#' `rms::calibrate` uses) unless the resample is separated or does not
#' converge, then Firth's fit, so that every bootstrap refit repeats the
#' procedure that produced the original model.
#' @noRd
resample_fitter <- function(separation) {
  force(separation)
  function(x, y, ...) {
    x <- as.matrix(x)
    if (is.null(colnames(x))) colnames(x) <- paste0("x", seq_len(ncol(x)))
    y <- as.integer(y)
    x1 <- cbind(Intercept = 1, x)
    f <- tryCatch(suppressWarnings(rms::lrm.fit(x, y, tol = 1e-13)), error = function(e) list(fail = TRUE))
    if (!isTRUE(f$fail) && !any(is.na(f$coefficients))) {
      det <- detect_separation(x1, y)
      if (!isTRUE(det$separated)) return(f)
    }
    if (separation != "firth") return(list(fail = TRUE))
    ff <- tryCatch(firth_fit_matrix(x1, y), error = function(e) NULL)
    if (is.null(ff) || !ff$converged || any(!is.finite(ff$coefficients))) return(list(fail = TRUE))
    list(coefficients = ff$coefficients, var = ff$var, fail = FALSE, radnomo_method = "firth")
  }
}
