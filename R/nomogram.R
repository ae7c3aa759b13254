# Nomogram: a logistic model fitted with rms::lrm and drawn with rms::nomogram.

#' Fit a logistic nomogram
#'
#' `fit_nomogram(data, "y", c("a", "b"))` fits main effects; a formula
#' (`fit_nomogram(data, y ~ rcs(age, 3) + sex)`) allows rms' transformations
#' (`rcs`, `pol`, `lsp`, `catg`, `scored`) and interactions, with the rms
#' functions found whether or not rms is attached.
#'
#' Fits `rms::lrm(outcome ~ predictors, x = TRUE, y = TRUE)` and builds
#' `rms::nomogram(fit, fun = plogis, funlabel = "Risk")`, with the risk axis'
#' ticks chosen by radnomo (see `risk_ticks` below) so that they lie within
#' the risks the nomogram can reach and their labels do not collide. The `datadist` that
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
#' @param outcome Name of the binary outcome column, or a model formula
#'   `outcome ~ terms` (then `predictors` is not given).
#' @param predictors Character vector of predictor columns (e.g. Rad score,
#'   DL score and clinical variables).
#' @param title Default title of the drawn nomogram (`plot()`), or NULL for "Nomogram".
#' @param labels Optional display labels of the predictors for the drawn
#'   nomogram: a named character vector (or named list of strings), term name
#'   -> label, e.g. `c(dl_score = "DL score", afp = "AFP (ng/mL)")`. Names that
#'   are not predictors are ignored; predictors without a label keep their
#'   name. They become the variables' labels in the lrm's `Design` (what
#'   `Hmisc::label()` attributes on the data would give) and rms draws them
#'   (`rms::nomogram(vnames = "labels")`); the `points` table keeps the term
#'   names. Labels must differ from each other.
#' @param separation What to do under (quasi-)complete separation or
#'   non-convergence (detected exactly, see [score_model()]): `"firth"`
#'   (default) keeps the `rms::lrm` object (so rms draws the nomogram and
#'   runs its bootstrap) but replaces its coefficients, covariance and linear
#'   predictors by Firth's bias-reduced estimates (`brglm2::brglmFit`) on the
#'   same design matrix, with a warning of class `radnomo_separation`;
#'   `"error"` stops with an error of that class; `"warn"` keeps the
#'   maximum-likelihood fit with a warning.
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @return An object of class `"radnomo_nomogram"`: a list with `points`
#'   (data.frame variable, value (character), value_numeric, points: each
#'   predictor's axis values and their points), `total_points` (data.frame
#'   total_points, risk: the total-points axis and the predicted risk it
#'   maps to), `coefficients` (data.frame term, estimate, std_error, z,
#'   p_value, odds_ratio, or_lower, or_upper, ci_method, p_method: Wald 95%
#'   intervals and Wald p-values for a maximum-likelihood fit; for a Firth
#'   fit profile penalised likelihood 95% intervals and penalised
#'   likelihood-ratio p-values (Heinze & Schemper, Stat Med 2002;21:2409-19),
#'   with lr_chisq; `std_error` and `z` are Wald quantities in both cases),
#'   `fit` (the lrm),
#'   `nomogram` (the rms nomogram object), `outcome`, `predictors`,
#'   `points_scale` (sc), `points_intercept` (a), `labels` (named character
#'   vector, predictor -> display label), `risk_ticks` (the risks marked on
#'   the risk axis: from the candidates 0.5, 0.1, 0.9, 0.3, 0.7, then 0.2,
#'   0.4, 0.6, 0.8, 0.05, 0.95, then 0.01, 0.99, 0.02, 0.98, 0.001, 0.999,
#'   0.005, 0.995, in that order of preference, those within the reachable
#'   risks — total points from the sum of the axes' smallest to the sum of
#'   their largest points — are kept when at least 8% of that total-points
#'   range from every tick kept before; when fewer than two remain, `pretty()`
#'   values of the reachable range are tried the same way) and `separation`
#'   (one-row data.frame separation, converged, method `"ml"`/`"firth"`, note).
#' @examples
#' set.seed(1)
#' d <- data.frame(a = rnorm(100), b = rnorm(100))
#' d$y <- rbinom(100, 1, plogis(d$a - d$b))
#' nom <- fit_nomogram(d, "y", c("a", "b"))
#' head(nom$points)
#' # rms terms: a restricted cubic spline of age (MASS::birthwt)
#' bw <- MASS::birthwt
#' nom2 <- fit_nomogram(bw, low ~ rcs(age, 3) + lwt + smoke)
#' nom2$coefficients
#' @export
fit_nomogram <- function(data, outcome, predictors, separation = c("firth", "error", "warn"), event = NULL,
                         title = NULL, labels = NULL) {
  separation <- match_arg(separation)
  if (!is.data.frame(data)) abort("'data' must be a data.frame, not ", class(data)[1L], ".")
  formula <- NULL
  if (inherits(outcome, "formula")) {
    if (!missing(predictors)) abort("Give either a formula or 'outcome' and 'predictors', not both.")
    formula <- outcome
    if (length(formula) != 3L) abort("The formula must have an outcome: outcome ~ terms.")
    outcome <- all.vars(formula[[2L]])
    if (length(outcome) != 1L) abort("The formula's left-hand side must be one outcome column.")
    predictors <- all.vars(formula[[3L]])
    if (!length(predictors)) abort("The formula has no predictor.")
  }
  check_column_name(outcome, data, "outcome")
  if (!is.character(predictors) || !length(predictors) || anyNA(predictors)) {
    abort("'predictors' must be a non-empty character vector of column names.")
  }
  missing <- setdiff(predictors, names(data))
  if (length(missing)) abort("'predictors' names column(s) not in 'data': ", name_list(missing), ".")
  if (outcome %in% predictors) abort("The outcome '", outcome, "' cannot also be a predictor.")
  check_no_na_columns(data, c(outcome, predictors), "data")
  labels <- check_labels(labels, predictors)
  df <- prepare_clinical_data(data, outcome, predictors, event)

  dd <- rms::datadist(df[, predictors, drop = FALSE])
  old <- options(datadist = dd)
  on.exit(options(old), add = TRUE)
  lfit <- fit_lrm(if (is.null(formula)) make_formula(outcome, predictors) else rms_formula(formula), df,
                  separation = separation)
  fit <- label_design(lfit$fit, labels)
  # the table's nomogram names its axes by the terms; plot() draws the labels
  nom0 <- rms::nomogram(fit, fun = stats::plogis, funlabel = "Risk", vnames = "names")
  ticks <- risk_ticks(nom0)
  nom <- cover_reachable(rms::nomogram(fit, fun = stats::plogis, funlabel = "Risk", vnames = "names",
                                       lp.at = lp_axis(nom0), fun.lp.at = list(stats::qlogis(ticks))))
  info <- attr(nom, "info")

  # one axis per predictor (an interaction gives axes named after the
  # variable and the level it is drawn for)
  axes <- setdiff(names(nom), c("total.points", "lp", "Risk"))
  pts <- do.call(rbind, lapply(axes, function(a) {
    axis <- nom[[a]]
    v <- intersect(names(axis), predictors)[1L]
    val <- axis[[v]]
    data.frame(variable = a, value = as.character(val),
               value_numeric = if (is.numeric(val)) as.numeric(val) else NA_real_,
               points = unname(axis$points), stringsAsFactors = FALSE)
  }))
  tp <- nom$total.points$x
  total <- data.frame(total_points = tp, risk = stats::plogis(unname(info$Intercept) + tp / info$sc))
  coefs <- lrm_coefficient_table(fit)
  structure(list(points = pts, total_points = total, coefficients = coefs, fit = fit,
                 nomogram = nom, outcome = outcome, predictors = predictors, formula = formula, title = title,
                 points_scale = info$sc, points_intercept = unname(info$Intercept),
                 labels = labels, risk_ticks = ticks, separation = lfit$info),
            class = "radnomo_nomogram")
}

#' Coefficient table of a nomogram's lrm: Wald, or profile penalised
#' likelihood when it carries Firth's estimates
#' @noRd
lrm_coefficient_table <- function(fit) {
  cf <- stats::coef(fit)
  se <- sqrt(diag(stats::vcov(fit)))[names(cf)]
  firth <- identical(fit$radnomo_method, "firth")
  x1 <- if (firth && !is.null(fit$x)) cbind(Intercept = 1, fit$x) else NULL
  coefficient_table(cf, se, names(cf), firth = firth, x = x1, y = if (firth) as.integer(fit$y) else NULL)
}

#' Check nomogram display labels; return one label per predictor
#'
#' `labels`: NULL, or a named character vector / named list of single
#' strings (term -> label). Names that are not predictors are ignored (so a
#' study's whole label map can be passed); predictors without one keep their
#' name.
#' @noRd
check_labels <- function(labels, predictors) {
  out <- stats::setNames(predictors, predictors)
  if (is.null(labels) || !length(labels)) return(out)
  if (is.list(labels)) {
    ok <- vapply(labels, function(v) (is.character(v) || is.factor(v)) && length(v) == 1L, logical(1))
    if (!all(ok)) abort("'labels' must be a named character vector (term name -> display label).")
    labels <- vapply(labels, as.character, character(1))
  }
  if (!is.character(labels) || is.null(names(labels)) || any(is.na(names(labels)) | names(labels) == "")) {
    abort("'labels' must be a named character vector (term name -> display label), with a name for every label.")
  }
  if (anyDuplicated(names(labels))) {
    abort("'labels' names the term(s) ", name_list(unique(names(labels)[duplicated(names(labels))])), " twice.")
  }
  use <- intersect(names(labels), predictors)
  bad <- use[is.na(labels[use]) | !nzchar(trimws(labels[use]))]
  if (length(bad)) abort("'labels' has an empty or missing label for ", name_list(bad), ".")
  out[use] <- unname(labels[use])
  dup <- unique(out[duplicated(out)])
  if (length(dup)) {
    abort("The nomogram's axis labels must differ; ", name_list(dup), " would label ",
          name_list(names(out)[out %in% dup]), ".")
  }
  out
}

#' A fitted nomogram with (new) display labels; nothing else changes
#' @noRd
set_nomogram_labels <- function(nom, labels) {
  if (is.null(labels)) return(nom)
  nom$labels <- check_labels(labels, nom$predictors)
  nom$fit <- label_design(nom$fit, nom$labels)
  nom
}

#' Set the display labels of an lrm's variables (rms' `Design$label`, which
#' `Hmisc::label()` attributes on the data would set; drawn with vnames = "labels")
#' @noRd
label_design <- function(fit, labels) {
  des <- fit$Design
  if (is.null(des) || is.null(labels)) return(fit)
  i <- match(names(labels), des$name)
  des$label[i[!is.na(i)]] <- unname(labels[!is.na(i)])
  fit$Design <- des
  fit
}

#' Reachable total points of a nomogram: the sums of every predictor axis'
#' smallest and largest points (an interaction's axes can overstate the upper end)
#' @noRd
reachable_points <- function(nom) {
  axes <- Filter(function(a) is.list(a) && !is.null(a$points), unclass(nom))
  c(sum(vapply(axes, function(a) min(a$points), numeric(1))),
    sum(vapply(axes, function(a) max(a$points), numeric(1))))
}

#' Linear-predictor values for a nomogram's lp axis, and its Total Points axis
#'
#' rms ends the Total Points axis at the largest *observed* total (from the
#' fitted linear predictors), so totals a patient can reach, and risk ticks
#' placed there, fall off the drawing. `lp_axis()` gives `pretty()` values of
#' the reachable linear predictors that lie within them (at least two);
#' `cover_reachable()` sets the Total Points axis to `pretty(0, reachable
#' maximum)`, which rms' plot uses to scale the axes below it.
#' @noRd
lp_axis <- function(nom) {
  info <- attr(nom, "info")
  a <- unname(info$Intercept)[1L]
  lp <- a + reachable_points(nom) / info$sc
  if (!(lp[2L] > lp[1L])) return(NULL)
  tol <- 1e-9 * max(abs(lp))
  for (n in c(5L, 8L, 12L)) {
    pr <- pretty(lp, n = n)
    inside <- pr[pr >= lp[1L] - tol & pr <= lp[2L] + tol]
    if (length(inside) >= 2L) return(inside)
  }
  signif(lp, 3L)
}

#' @rdname lp_axis
#' @noRd
cover_reachable <- function(nom) {
  hi <- reachable_points(nom)[2L]
  nom$total.points$x <- pretty(c(0, max(hi, 1e-8)))
  nom
}

#' Risks to mark on a nomogram's risk axis
#'
#' Reachable total points run from the sum of every predictor axis' smallest
#' points to the sum of their largest (an interaction's axes can overstate
#' the upper end); a risk `r` sits at total points `sc * (qlogis(r) - a)`.
#' Candidate risks, in order of preference (0.5, 0.1, 0.9, 0.3, 0.7; 0.2,
#' 0.4, 0.6, 0.8, 0.05, 0.95; 0.01, 0.99, 0.02, 0.98; 0.001, 0.999, 0.005,
#' 0.995), are kept when within the reachable risks and at least `min_gap`
#' of the total-points range away from every tick kept before; with fewer
#' than two ticks, `pretty()` values of the reachable risks are tried the
#' same way. rms' default (`pretty()` of the whole risk range, 0.1 to 0.9)
#' crowds its labels into a sliver of the axis when one predictor dominates.
#' @param nom An rms nomogram object (its axes carry `points`; its `info` sc
#'   and Intercept).
#' @return Sorted numeric vector of risks.
#' @noRd
risk_ticks <- function(nom, min_gap = 0.08) {
  info <- attr(nom, "info")
  rp <- reachable_points(nom)
  lo <- rp[1L]
  hi <- rp[2L]
  a <- unname(info$Intercept)[1L]
  sc <- info$sc
  r_lo <- stats::plogis(a + lo / sc)
  r_hi <- stats::plogis(a + hi / sc)
  gap <- min_gap * (hi - lo)
  pos <- function(r) sc * (stats::qlogis(r) - a)
  pick <- function(cand, kept = numeric()) {
    for (r in cand) {
      if (r < r_lo || r > r_hi || r %in% kept) next
      if (!length(kept) || all(abs(pos(r) - pos(kept)) >= gap)) kept <- c(kept, r)
    }
    kept
  }
  preferred <- c(0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.4, 0.6, 0.8, 0.05, 0.95, 0.01, 0.99, 0.02, 0.98,
                 0.001, 0.999, 0.005, 0.995)
  kept <- if (hi > lo) pick(preferred) else numeric()
  if (length(kept) < 2L && hi > lo) {
    pr <- pretty(c(r_lo, r_hi), n = 5L)
    kept <- pick(pr[pr > 0 & pr < 1], kept)
  }
  if (!length(kept)) kept <- signif((r_lo + r_hi) / 2, 2)
  sort(kept)
}

#' A model formula whose rms transformations resolve without rms attached
#'
#' rms evaluates the model frame in the caller of `lrm()` (here radnomo's
#' namespace, which imports these functions) and the formula's own
#' environment gets them too, for R's `terms()`.
#' @importFrom rms rcs pol lsp catg scored strat matrx
#' @noRd
rms_formula <- function(formula) {
  env <- new.env(parent = environment(formula) %||% baseenv())
  for (f in c("rcs", "pol", "lsp", "catg", "scored", "strat", "matrx", "gTrans")) {
    if (exists(f, envir = asNamespace("rms"), inherits = FALSE)) assign(f, get(f, envir = asNamespace("rms")), envir = env)
  }
  environment(formula) <- env
  formula
}

#' @noRd
`%||%` <- function(a, b) if (is.null(a)) b else a

#' rms::lrm with separation detected and the policy applied
#'
#' The nomogram is always an `rms::lrm` object, so that rms draws it and its
#' bootstrap calibration runs through rms' own resampling engine. Under
#' separation with `separation = "firth"` the lrm's coefficients, covariance
#' and linear predictors are replaced by Firth's estimates computed on the
#' lrm's own design matrix (same columns, same coding), so the nomogram, its
#' predictions and its points are those of the Firth fit; the likelihood-based
#' `stats` of the maximum-likelihood fit are set to NA where they no longer
#' apply, and `fit$radnomo_method` records "firth".
#' @noRd
fit_lrm <- function(formula, data, separation = "firth", label = "nomogram model") {
  lrm_quiet <- function(...) {
    out <- NULL
    # rms prints "Unable to fit model using lrm.fit" when maximum likelihood fails
    utils::capture.output(out <- tryCatch(
      withCallingHandlers(rms::lrm(formula, data = data, x = TRUE, y = TRUE, ...),
                          warning = function(w) invokeRestart("muffleWarning")),
      error = function(e) abort("The ", label, " could not be fitted by rms::lrm (",
                                conditionMessage(e), "); check for collinear predictors.")))
    out
  }
  fit <- lrm_quiet()
  converged <- !isTRUE(fit$fail) && !is.null(fit$x) && all(is.finite(stats::coef(fit)))
  if (is.null(fit$x) || is.null(fit$Design)) {
    # maximum likelihood failed outright (typically complete separation): one
    # iteration gives the lrm's design (x, y, Design) for the policy below
    fit <- lrm_quiet(maxit = 1)
    fit$fail <- TRUE
  }
  x1 <- cbind(Intercept = 1, fit$x)
  det <- detect_separation(x1, fit$y)
  separated <- isTRUE(det$separated)
  fit$radnomo_method <- "ml"
  if (!separated && converged) return(list(fit = fit, info = fit_info(FALSE, TRUE, "ml", "")))
  what <- separation_description(label, separated, converged, det$infinite)
  if (separation == "error") separation_abort(what)
  if (separation == "warn") {
    if (!converged) abort("rms::lrm did not converge for the ", label, "; check for (quasi-)complete separation.")
    separation_warning(what, " The maximum-likelihood estimates, odds ratios and points are not reliable.")
    return(list(fit = fit, info = fit_info(separated, converged, "ml", what)))
  }
  ff <- firth_fit_matrix(x1, fit$y)
  b <- stats::setNames(ff$coefficients, names(stats::coef(fit)))
  fit$coefficients <- b
  fit$var <- ff$var
  dimnames(fit$var) <- list(names(b), names(b))
  fit$linear.predictors <- drop(x1 %*% b)
  names(fit$linear.predictors) <- NULL
  fit$fail <- FALSE
  fit$radnomo_method <- "firth"
  class(fit) <- c("radnomo_firth_lrm", class(fit))
  lik <- intersect(names(fit$stats), c("Model L.R.", "d.f.", "P", "R2", "g", "gr", "gp", "Max Deriv"))
  fit$stats[lik] <- NA_real_
  fit$stats[c("C", "Dxy", "Brier")] <- firth_discrimination(fit$linear.predictors, fit$y)
  fit$info.matrix <- tryCatch(solve(ff$var), error = function(e) NULL)
  note <- paste0(what, " Refitted with Firth's bias-reduced logistic regression (separation = \"firth\"); ",
                 "the nomogram draws the Firth coefficients",
                 if (ff$converged) "." else " (the Firth fit did not converge either: treat this model with caution).")
  separation_warning(note)
  list(fit = fit, info = fit_info(separated, converged, "firth", note))
}

#' Print an lrm whose coefficients are Firth's (rms' printer needs the
#' likelihood statistics of a maximum-likelihood fit, which do not apply)
#' @param x An rms::lrm refitted by [fit_nomogram()] with Firth's method.
#' @param ... Unused.
#' @return `x`, invisibly.
#' @export
#' @keywords internal
print.radnomo_firth_lrm <- function(x, ...) {
  cat("Logistic regression model (rms::lrm) carrying Firth's bias-reduced estimates (separation found);\n",
      "likelihood-ratio statistics do not apply. rms::validate()/calibrate() on this object would refit by\n",
      "maximum likelihood: use radnomo's calibration(fit = ) / validate_study() instead.\n", sep = "")
  tab <- lrm_coefficient_table(x)
  print(tab[, c("term", "estimate", "std_error", "p_value", "odds_ratio", "or_lower", "or_upper")],
        row.names = FALSE)
  cat("Odds-ratio 95% CIs: ", tab$ci_method[1L], "; p-values: ", tab$p_method[1L], ".\n", sep = "")
  st <- x$stats[c("Obs", "C", "Dxy", "Brier")]
  print(round(st, 4))
  invisible(x)
}

#' C index, Somers' Dxy and Brier score of a linear predictor (as lrm reports them)
#' @noRd
firth_discrimination <- function(lp, y) {
  y <- as.integer(y)
  r <- rank(lp)
  n1 <- sum(y == 1L)
  n0 <- sum(y == 0L)
  c_index <- (sum(r[y == 1L]) - n1 * (n1 + 1) / 2) / (n1 * n0)
  c(C = c_index, Dxy = 2 * c_index - 1, Brier = mean((stats::plogis(lp) - y)^2))
}

#' Predict from a nomogram
#'
#' @param object A `"radnomo_nomogram"` from [fit_nomogram()].
#' @param newdata data.frame with the predictor columns.
#'   Omitted: the training patients' predictions (not available from a stripped model).
#' @param type `"response"` (risk), `"link"` (linear predictor, log-odds) or
#'   `"points"` (total nomogram points, `sc * (lp - a)`).
#' @param ... Unused.
#' @return Numeric vector, one value per row of `newdata`.
#' @examples
#' bw <- MASS::birthwt
#' nm <- fit_nomogram(bw[1:150, ], "low", c("lwt", "smoke"))
#' predict(nm, bw[151:155, ])                  # risk
#' predict(nm, bw[151:155, ], type = "points") # total points on the nomogram
#' @export
predict.radnomo_nomogram <- function(object, newdata, type = c("response", "link", "points"), ...) {
  type <- match_arg(type)
  if (missing(newdata)) {
    lp <- object$fit$linear.predictors
    if (is.null(lp)) abort("This nomogram holds no training data (stripped); give 'newdata'.")
    lp <- unname(lp)
    return(switch(type, response = stats::plogis(lp), link = lp,
                  points = object$points_scale * (lp - object$points_intercept)))
  }
  newdata <- check_newdata(newdata)
  check_has_columns(newdata, object$predictors, "newdata")
  check_no_na_columns(newdata, object$predictors, "newdata")
  nd <- newdata[, object$predictors, drop = FALSE]
  des <- object$fit$Design
  for (v in object$predictors) {
    # factor levels are kept for categorical terms only (a spline's parms are its knots)
    categorical <- des$assume[match(v, des$name)] %in% c("category", "strata")
    lev <- if (categorical) des$parms[[v]] else NULL
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

#' Draw a nomogram
#'
#' `plot()` draws on the current graphics device (so it works in knitr
#' chunks) with rms' plot method for nomograms: the points axis, one axis per
#' predictor, total points and the risk axis. rms lays the axes out over the
#' whole device, so a nomogram takes a page of its own rather than one panel
#' of a `par(mfrow = ...)` layout (the calibration and decision-curve plots
#' do fit in panels). `plot_nomogram()` writes the same drawing to a file.
#'
#' @param x,object A `"radnomo_nomogram"`.
#' @param title Plot title (`NULL` for none).
#' @param labels Display labels of the predictor axes: a named character
#'   vector, term name -> label (e.g. `c(rad_score = "Rad score")`); names
#'   that are not predictors are ignored and unlabelled predictors keep their
#'   name. `NULL` (default): the labels given to [fit_nomogram()] (or
#'   [fit_study()]), if any. A named list of single strings (what the Python
#'   bridge sends for a dict) is accepted too. rms draws them with
#'   `vnames = "labels"`.
#' @param level_labels Optional display names of a categorical predictor's
#'   values on its axis: a named list, predictor -> named character vector
#'   value -> name (e.g. `list(ht = c("0" = "No", "1" = "Yes"))`); values
#'   not named keep their own text. Only the drawing changes.
#' @param ... Passed to rms' `plot.nomogram` (e.g. `cex.axis`).
#' @param file Output path ending in `.png`, `.pdf` or `.svg`.
#' @param width,height Figure size in inches.
#' @return `plot()`: `x`, invisibly; `plot_nomogram()`: `file`, invisibly.
#' @examples
#' set.seed(1)
#' d <- data.frame(a = rnorm(100), b = rnorm(100))
#' d$y <- rbinom(100, 1, plogis(d$a - d$b))
#' nom <- fit_nomogram(d, "y", c("a", "b"))
#' plot(nom)
#' f <- plot_nomogram(nom, tempfile(fileext = ".png"))
#' @export
plot.radnomo_nomogram <- function(x, title = x$title %||% "Nomogram", labels = NULL, level_labels = NULL, ...) {
  args <- utils::modifyList(list(xfrac = 0.3, cex.axis = 0.8, cex.var = 1, lmgp = 0.2), list(...))
  nom <- name_axis_values(nomogram_drawing(x, labels), check_level_labels(level_labels, x$predictors))
  old <- graphics::par(mar = c(2, 1, if (is.null(title)) 1 else 2, 1))
  on.exit(graphics::par(old), add = TRUE)
  do.call(plot, c(list(nom), args))
  if (!is.null(title)) graphics::title(title)
  invisible(x)
}

#' The rms nomogram object plot() draws: axes named by the display labels,
#' risk ticks from [risk_ticks()]
#' @noRd
nomogram_drawing <- function(x, labels = NULL) {
  labels <- check_labels(labels %||% x$labels, x$predictors)
  ticks <- x$risk_ticks %||% risk_ticks(x$nomogram)
  if (all(labels == names(labels)) && !is.null(x$risk_ticks)) return(x$nomogram)
  # the stored nomogram's linear-predictor ticks and axis values: the same axes (rms would otherwise
  # choose other values without the fit's datadist), and no need of the fit's linear predictors
  # (strip_study() removes them from a shared model)
  lp_at <- x$nomogram$lp$x.real
  values <- axis_values(x$nomogram, x$predictors)
  cover_reachable(do.call(rms::nomogram, c(list(label_design(x$fit, labels)), values,
                                           list(fun = stats::plogis, funlabel = "Risk", vnames = "labels",
                                                lp.at = lp_at, fun.lp.at = list(stats::qlogis(ticks))))))
}

#' The values each predictor axis of a stored rms nomogram was drawn at (predictor -> values);
#' predictors drawn on several axes (interactions) are left to rms
#' @noRd
axis_values <- function(nom, predictors) {
  out <- list()
  for (p in predictors) {
    axis <- unclass(nom)[[p]]
    if (is.list(axis) && !is.null(axis[[p]])) out[[p]] <- axis[[p]]
  }
  out
}

#' @rdname plot.radnomo_nomogram
#' @export
plot_nomogram <- function(object, file, width = 9, height = 6, title = object$title %||% "Nomogram",
                          labels = NULL, level_labels = NULL) {
  if (!inherits(object, "radnomo_nomogram")) abort("'object' must be a radnomo_nomogram from fit_nomogram().")
  check_labels(labels, object$predictors)
  check_level_labels(level_labels, object$predictors)
  open_device(file, width, height)
  on.exit(grDevices::dev.off(), add = TRUE)
  plot(object, title = title, labels = labels, level_labels = level_labels)
  invisible(file)
}

#' Check level display names: NULL or a named list predictor -> named character vector
#' (a named list of strings, what the Python bridge sends for a dict, is accepted); other
#' predictors are ignored
#' @noRd
check_level_labels <- function(level_labels, predictors) {
  if (is.null(level_labels)) return(list())
  if (!is.list(level_labels) || is.null(names(level_labels)) || any(names(level_labels) == "")) {
    abort("'level_labels' must be a named list: predictor -> named character vector (value -> name).")
  }
  out <- list()
  for (p in intersect(names(level_labels), predictors)) {
    m <- level_labels[[p]]
    if (is.list(m)) m <- unlist(m)
    if (!is.character(m) || is.null(names(m)) || anyNA(m)) {
      abort("'level_labels$", p, "' must be a named character vector (value -> name).")
    }
    out[[p]] <- m
  }
  out
}

#' Replace the drawn values of categorical axes by their display names (positions unchanged)
#' @noRd
name_axis_values <- function(nom, level_labels) {
  if (!length(level_labels)) return(nom)
  for (i in seq_along(nom)) {
    S <- nom[[i]]
    if (!is.list(S) || is.null(S$points) || !length(names(S))) next
    p <- names(S)[1L]
    if (!p %in% names(level_labels)) next
    key <- if (is.numeric(S[[1L]])) format(S[[1L]], trim = TRUE, drop0trailing = TRUE) else as.character(S[[1L]])
    m <- level_labels[[p]]
    shown <- ifelse(key %in% names(m), unname(m[key]), key)
    attrs <- attributes(S)
    S[[1L]] <- shown
    attributes(S) <- attrs
    nom[[i]] <- S
  }
  nom
}
