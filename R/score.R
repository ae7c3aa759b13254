# Score models: an unpenalised logistic regression on selected terms whose
# linear predictor is the Rad score or DL score.

#' Fit a logistic score model on selected terms
#'
#' Fits `stats::glm(y ~ features, family = binomial)`; the linear predictor
#' (log-odds) of this model is the score (e.g. the Rad score on the
#' z-scored selected radiomics features, the DL score on selected principal
#' components). Odds ratios and their 95% confidence intervals are Wald
#' intervals, `exp(beta +/- qnorm(0.975) * SE)`, with Wald p-values — except
#' for a Firth fit (below), whose intervals are profile penalised likelihood
#' intervals and whose p-values are penalised likelihood-ratio tests (Heinze &
#' Schemper, Stat Med 2002;21:2409-19), as in R's logistf: Wald intervals
#' assume a quadratic log-likelihood, which fails exactly where Firth's
#' method is used. The table's `ci_method` and `p_method` columns say which.
#'
#' (Quasi-)complete separation is detected exactly (a linear program, see
#' [fit_study()]'s section on separation) together with non-convergence, and
#' `separation` decides what happens: `"firth"` (default) refits with Firth's
#' bias-reduced logistic regression (`brglm2::brglmFit`), whose estimates are
#' always finite; `"error"` stops with an error of class
#' `radnomo_separation`; `"warn"` keeps the maximum-likelihood fit. Each
#' applied policy gives a warning of class `radnomo_separation`; the returned
#' `separation` element records what was done.
#'
#' @param x data.frame or matrix containing (at least) the columns `features`,
#'   e.g. the output of [transform_features()] on the training data.
#' @param y Binary outcome (0/1, logical or two-level factor, second level = event).
#' @param features Character vector of column names of `x` to use (>= 1).
#' @param separation What to do under separation or non-convergence:
#'   `"firth"`, `"error"` or `"warn"` (see Details).
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @param outcome_name The outcome's name in messages and in the glm's formula (e.g. the outcome
#'   column, `"recurrence"`); by default the expression passed as `y` when it
#'   is a variable or a data-frame column (`d$recurrence`), else `"y"`;
#'   the glm's outcome column is `.y` unless the name is a syntactic R name.
#' @return An object of class `"radnomo_score"`: a list with `coefficients`
#'   (data.frame term, estimate, std_error, z, p_value, odds_ratio, or_lower,
#'   or_upper, ci_method (`"Wald"` or `"profile penalised likelihood"`),
#'   p_method (`"Wald"` or `"penalised likelihood ratio"`), and for a Firth
#'   fit lr_chisq (the penalised likelihood-ratio statistic); intercept
#'   first; `std_error` and `z` are Wald quantities in both cases), `features`, `fit` (the glm; a `brglmFit`
#'   glm when Firth's method was used) and `separation` (one-row data.frame
#'   separation, converged, method `"ml"`/`"firth"`, note).
#' @examples
#' set.seed(1)
#' x <- data.frame(a = rnorm(50), b = rnorm(50))
#' y <- rbinom(50, 1, plogis(x$a))
#' sc <- score_model(x, y, c("a", "b"))
#' head(predict(sc, x))
#' @export
score_model <- function(x, y, features, separation = c("firth", "error", "warn"), event = NULL,
                        outcome_name = NULL) {
  score_fit(x, y, features, match_arg(separation), label = "score model", event = event,
            outcome_name = outcome_label(outcome_name, substitute(y)))
}

#' score_model() with the model's name for messages
#' @noRd
score_fit <- function(x, y, features, separation, label, event = NULL, outcome_name = "y") {
  y <- check_binary(y, outcome_name, event)
  if (!is.character(features) || !length(features) || anyNA(features)) {
    abort("'features' must be a non-empty character vector of column names of 'x'.")
  }
  if (anyDuplicated(features)) abort("'features' has duplicates: ", name_list(unique(features[duplicated(features)])), ".")
  x <- check_newdata(x, "x")
  check_has_columns(x, features, "x")
  check_same_length(length(y), x, "x", ref = outcome_name)
  xm <- check_feature_matrix(x[, features, drop = FALSE], "x")
  df <- as.data.frame(xm, stringsAsFactors = FALSE)
  # the glm's formula names the outcome when its name can be a column name
  ycol <- if (identical(make.names(outcome_name), outcome_name) && !outcome_name %in% features) outcome_name else ".y"
  df[[ycol]] <- y
  res <- fit_logistic(make_formula(ycol, features), df, label = label, separation = separation)
  structure(list(coefficients = glm_wald_table(res$fit, features), features = features, fit = res$fit,
                 separation = res$info),
            class = "radnomo_score")
}

#' Coefficient table of a glm, with term names matching the data's column names
#'
#' Wald intervals and p-values for a maximum-likelihood glm; for a Firth fit
#' (`brglm2::brglmFit`) profile penalised likelihood intervals and penalised
#' likelihood-ratio p-values ([firth_profile_table()]).
#' @noRd
glm_wald_table <- function(fit, features = NULL) {
  cf <- summary(fit)$coefficients
  term <- rownames(cf)
  if (!is.null(features)) {
    # glm back-quotes non-syntactic names; map them back to the column names
    term <- gsub("^`|`$", "", term)
  }
  firth <- inherits(fit, "brglmFit")
  mm <- if (firth) stats::model.matrix(fit)[, rownames(cf), drop = FALSE] else NULL
  coefficient_table(cf[, 1L], cf[, 2L], term, firth = firth, x = mm, y = fit$y)
}

#' Predict the score (linear predictor) or probability of a score model
#'
#' @param object A `"radnomo_score"` from [score_model()].
#' @param newdata data.frame or matrix with the model's `features` columns.
#'   Omitted: the training patients' predictions (not available from a stripped model).
#' @param type `"link"`: the score, i.e. the log-odds linear predictor;
#'   `"response"`: the predicted probability.
#' @param ... Unused.
#' @return Numeric vector, one value per row of `newdata`.
#' @examples
#' bw <- MASS::birthwt
#' sc <- score_model(bw, bw$low, c("lwt", "age"))
#' head(predict(sc, bw))                    # the score (log-odds)
#' head(predict(sc, bw, type = "response")) # probability
#' @export
predict.radnomo_score <- function(object, newdata, type = c("link", "response"), ...) {
  type <- match_arg(type)
  if (missing(newdata)) return(training_prediction(object$fit, type))
  newdata <- check_newdata(newdata)
  check_has_columns(newdata, object$features, "newdata")
  xm <- check_feature_matrix(newdata[, object$features, drop = FALSE], "newdata")
  b <- stats::coef(object$fit)
  lp <- unname(b[1L] + drop(xm %*% b[-1L]))
  if (type == "response") stats::plogis(lp) else lp
}
