# Score models: an unpenalised logistic regression on selected terms whose
# linear predictor is the Rad score or DL score.

#' Fit a logistic score model on selected terms
#'
#' Fits `stats::glm(y ~ features, family = binomial)`; the linear predictor
#' (log-odds) of this model is the score (e.g. the Rad score on the
#' z-scored selected radiomics features, the DL score on selected principal
#' components). Odds ratios and their 95% confidence intervals are Wald
#' intervals, `exp(beta +/- qnorm(0.975) * SE)`.
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
#' @return An object of class `"radnomo_score"`: a list with `coefficients`
#'   (data.frame term, estimate, std_error, z, p_value, odds_ratio, or_lower,
#'   or_upper; intercept first), `features`, `fit` (the glm; a `brglmFit`
#'   glm when Firth's method was used) and `separation` (one-row data.frame
#'   separation, converged, method `"ml"`/`"firth"`, note).
#' @examples
#' set.seed(1)
#' x <- data.frame(a = rnorm(50), b = rnorm(50))
#' y <- rbinom(50, 1, plogis(x$a))
#' sc <- score_model(x, y, c("a", "b"))
#' head(predict(sc, x))
#' @export
score_model <- function(x, y, features, separation = c("firth", "error", "warn"), event = NULL) {
  score_fit(x, y, features, match_arg(separation), label = "score model", event = event)
}

#' score_model() with the model's name for messages
#' @noRd
score_fit <- function(x, y, features, separation, label, event = NULL) {
  y <- check_binary(y, "y", event)
  if (!is.character(features) || !length(features) || anyNA(features)) {
    abort("'features' must be a non-empty character vector of column names of 'x'.")
  }
  if (anyDuplicated(features)) abort("'features' has duplicates: ", name_list(unique(features[duplicated(features)])), ".")
  x <- check_newdata(x, "x")
  check_has_columns(x, features, "x")
  check_same_length(length(y), x, "x")
  xm <- check_feature_matrix(x[, features, drop = FALSE], "x")
  df <- as.data.frame(xm, stringsAsFactors = FALSE)
  df$.y <- y
  res <- fit_logistic(make_formula(".y", features), df, label = label, separation = separation)
  structure(list(coefficients = glm_wald_table(res$fit, features), features = features, fit = res$fit,
                 separation = res$info),
            class = "radnomo_score")
}

#' Wald table for a glm, with term names matching the data's column names
#' @noRd
glm_wald_table <- function(fit, features = NULL) {
  cf <- summary(fit)$coefficients
  term <- rownames(cf)
  if (!is.null(features)) {
    # glm back-quotes non-syntactic names; map them back to the column names
    term <- gsub("^`|`$", "", term)
  }
  tab <- wald_table(cf[, 1L], cf[, 2L], term)
  tab
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
