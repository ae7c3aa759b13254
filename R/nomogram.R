# Nomogram: a logistic model fitted with rms::lrm and drawn with rms::nomogram.

#' Fit a logistic nomogram
#'
#' Fits `rms::lrm(outcome ~ predictors, x = TRUE, y = TRUE)` and builds
#' `rms::nomogram(fit, fun = plogis, funlabel = "Risk")`. The `datadist` that
#' rms needs is set only for the duration of the call (the caller's
#' `options(datadist)` is restored). Character and logical predictors are
#' turned into factors (first level = reference).
#'
#' Points convention (rms): each predictor's contribution `beta * x` is scaled
#' so that the predictor with the widest range of contributions spans 0-100
#' points; total points `T` map back to the linear predictor by
#' `lp = a + T / sc`, where `a` and `sc` are `attr(nomogram, "info")$Intercept`
#' and `$sc`, and to the risk by `plogis(lp)`.
#'
#' @param data data.frame with the outcome and predictor columns.
#' @param outcome Name of the binary outcome column.
#' @param predictors Character vector of predictor columns (e.g. Rad score,
#'   DL score and clinical variables).
#' @return An object of class `"radnomo_nomogram"`: a list with `points`
#'   (data.frame variable, value (character), value_numeric, points: each
#'   predictor's axis values and their points), `total_points` (data.frame
#'   total_points, risk: the total-points axis and the predicted risk it
#'   maps to), `coefficients` (data.frame term, estimate, std_error, z,
#'   p_value, odds_ratio, or_lower, or_upper; Wald 95%), `fit` (the lrm),
#'   `nomogram` (the rms nomogram object), `outcome`, `predictors`,
#'   `points_scale` (sc) and `points_intercept` (a).
#' @examples
#' set.seed(1)
#' d <- data.frame(a = rnorm(100), b = rnorm(100))
#' d$y <- rbinom(100, 1, plogis(d$a - d$b))
#' nom <- fit_nomogram(d, "y", c("a", "b"))
#' head(nom$points)
#' @export
fit_nomogram <- function(data, outcome, predictors) {
  if (!is.data.frame(data)) abort("'data' must be a data.frame, not ", class(data)[1L], ".")
  check_column_name(outcome, data, "outcome")
  if (!is.character(predictors) || !length(predictors) || anyNA(predictors)) {
    abort("'predictors' must be a non-empty character vector of column names.")
  }
  missing <- setdiff(predictors, names(data))
  if (length(missing)) abort("'predictors' names column(s) not in 'data': ", name_list(missing), ".")
  if (outcome %in% predictors) abort("The outcome '", outcome, "' cannot also be a predictor.")
  check_no_na_columns(data, c(outcome, predictors), "data")
  df <- prepare_clinical_data(data, outcome, predictors)

  dd <- rms::datadist(df[, predictors, drop = FALSE])
  old <- options(datadist = dd)
  on.exit(options(old), add = TRUE)
  fit <- fit_lrm(make_formula(outcome, predictors), df)
  nom <- rms::nomogram(fit, fun = stats::plogis, funlabel = "Risk")
  info <- attr(nom, "info")

  pts <- do.call(rbind, lapply(predictors, function(v) {
    axis <- nom[[v]]
    val <- axis[[v]]
    data.frame(variable = v, value = as.character(val),
               value_numeric = if (is.numeric(val)) as.numeric(val) else NA_real_,
               points = unname(axis$points), stringsAsFactors = FALSE)
  }))
  tp <- nom$total.points$x
  total <- data.frame(total_points = tp, risk = stats::plogis(unname(info$Intercept) + tp / info$sc))
  cf <- stats::coef(fit)
  se <- sqrt(diag(stats::vcov(fit)))
  coefs <- wald_table(cf, se[names(cf)], term = names(cf))
  structure(list(points = pts, total_points = total, coefficients = coefs, fit = fit,
                 nomogram = nom, outcome = outcome, predictors = predictors,
                 points_scale = info$sc, points_intercept = unname(info$Intercept)),
            class = "radnomo_nomogram")
}

#' rms::lrm with separation turned into a clear warning or error
#' @noRd
fit_lrm <- function(formula, data) {
  fit <- tryCatch(
    withCallingHandlers(rms::lrm(formula, data = data, x = TRUE, y = TRUE),
                        warning = function(w) {
                          warning("Nomogram model (rms::lrm): ", conditionMessage(w),
                                  " - this often means (quasi-)complete separation.", call. = FALSE)
                          invokeRestart("muffleWarning")
                        }),
    error = function(e) abort("The nomogram model could not be fitted by rms::lrm (",
                              conditionMessage(e), "); check for (quasi-)complete separation ",
                              "or collinear predictors.")
  )
  if (isTRUE(fit$fail)) {
    abort("rms::lrm did not converge for the nomogram model; check for (quasi-)complete separation.")
  }
  fit
}

#' Predict from a nomogram
#'
#' @param object A `"radnomo_nomogram"` from [fit_nomogram()].
#' @param newdata data.frame with the predictor columns.
#' @param type `"response"` (risk), `"link"` (linear predictor, log-odds) or
#'   `"points"` (total nomogram points, `sc * (lp - a)`).
#' @param ... Unused.
#' @return Numeric vector, one value per row of `newdata`.
#' @export
predict.radnomo_nomogram <- function(object, newdata, type = c("response", "link", "points"), ...) {
  type <- match.arg(type)
  newdata <- check_newdata(newdata)
  check_has_columns(newdata, object$predictors, "newdata")
  check_no_na_columns(newdata, object$predictors, "newdata")
  nd <- newdata[, object$predictors, drop = FALSE]
  for (v in object$predictors) {
    lev <- object$fit$Design$parms[[v]]
    if (!is.null(lev)) {
      unseen <- setdiff(unique(as.character(nd[[v]])), lev)
      if (length(unseen)) abort("'newdata' column '", v, "' has level(s) ", name_list(unseen), " not seen in training.")
      nd[[v]] <- factor(as.character(nd[[v]]), levels = lev)
    }
  }
  lp <- unname(stats::predict(object$fit, newdata = nd, type = "lp"))
  switch(type,
         response = stats::plogis(lp),
         link = lp,
         points = object$points_scale * (lp - object$points_intercept))
}

#' Open a graphics device chosen by the file extension (png, pdf, svg)
#' @noRd
open_device <- function(file, width, height) {
  if (!is.character(file) || length(file) != 1L || is.na(file)) abort("'file' must be a single file path.")
  check_number(width, "width", 0, 100, lower_open = TRUE)
  check_number(height, "height", 0, 100, lower_open = TRUE)
  ext <- tolower(tools::file_ext(file))
  dir <- dirname(file)
  if (!dir.exists(dir)) abort("The folder of 'file' does not exist: ", dir, ".")
  switch(ext,
         png = grDevices::png(file, width = width, height = height, units = "in", res = 150),
         pdf = grDevices::pdf(file, width = width, height = height),
         svg = grDevices::svg(file, width = width, height = height),
         abort("'file' must end in .png, .pdf or .svg; got '", basename(file), "'."))
  invisible(file)
}

#' Draw a nomogram to a file
#'
#' Uses rms' plot method for nomograms (points axis, one axis per predictor,
#' total points and the risk axis).
#'
#' @param object A `"radnomo_nomogram"`.
#' @param file Output path ending in `.png`, `.pdf` or `.svg`.
#' @param width,height Figure size in inches.
#' @return `file`, invisibly.
#' @export
plot_nomogram <- function(object, file, width = 9, height = 6) {
  if (!inherits(object, "radnomo_nomogram")) abort("'object' must be a radnomo_nomogram from fit_nomogram().")
  open_device(file, width, height)
  on.exit(grDevices::dev.off(), add = TRUE)
  graphics::par(mar = c(2, 1, 2, 1))
  plot(object$nomogram, xfrac = 0.3, cex.axis = 0.8, cex.var = 1, lmgp = 0.2)
  graphics::title("Nomogram")
  invisible(file)
}
