# Clinical model: univariable screening then a multivariable logistic model.

#' Univariable and multivariable logistic regression of clinical candidates
#'
#' For each candidate a univariable `glm(outcome ~ candidate, binomial)` is
#' fitted; character, logical and factor candidates — ordered factors
#' included — are expanded into dummy terms against their first level
#' (treatment contrasts; character values are ordered alphabetically, factor
#' levels keep their order), so every term is an odds ratio against the
#' reference level ([fit_nomogram()] codes them the same way). A candidate
#' enters the multivariable model when the **likelihood-ratio test** of its
#' univariable model against the intercept-only model (all of its terms
#' together, df = number of terms) has p below `alpha`. The likelihood-ratio
#' test stays valid under (quasi-)complete separation, where Wald p-values
#' collapse towards 1 (Hauck & Donner 1977); a univariable model that
#' separates also gives a warning of class `radnomo_separation` naming the
#' variable. Odds ratios with 95% Wald confidence intervals,
#' `exp(beta +/- qnorm(0.975) * SE)`, and Wald p-values are reported
#' (identical to `exp(confint.default(fit))`), with the likelihood-ratio
#' statistic, df and p-value of each variable. A multivariable model refitted
#' by Firth's method reports profile penalised likelihood 95% intervals and
#' penalised likelihood-ratio p-values instead (Heinze & Schemper, Stat Med
#' 2002;21:2409-19; the convention of R's logistf), since Wald intervals are
#' unreliable exactly when the data separate; the tables' `ci_method` and
#' `p_method` columns name the method of each row.
#'
#' Variance inflation factors are computed from the multivariable model's
#' design matrix (without the intercept): for each term, `1 / (1 - R^2)` of a
#' least-squares regression of that column on the other columns. This is the
#' classical (unweighted) VIF; it equals `car::vif()` of a linear model with
#' the same terms, not `car::vif()` of the glm (which uses the weighted
#' information matrix). Generalized VIFs for multi-level factors are not
#' computed: each dummy term gets its own VIF. With a single term the VIF is 1.
#'
#' @param data data.frame with the outcome and candidate columns.
#' @param outcome Name of the binary outcome column (0/1, logical, or two-level
#'   factor whose second level is the event).
#' @param candidates Character vector of candidate predictor columns.
#' @param alpha Univariable p-value threshold for entering the multivariable model.
#' @param separation What the multivariable model does under (quasi-)complete
#'   separation or non-convergence: `"firth"` (default; Firth's bias-reduced
#'   refit, `brglm2::brglmFit`, with a warning of class
#'   `radnomo_separation`), `"error"` or `"warn"` (keep the
#'   maximum-likelihood fit); see [score_model()]. The univariable models are
#'   maximum-likelihood fits, with a warning when one separates.
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @return An object of class `"radnomo_clinical"`: a list with `univariable`
#'   (data.frame variable, term, odds_ratio, or_lower, or_upper, p_value
#'   (Wald; for a separated fit the variable's likelihood-ratio p, since its
#'   Wald p is meaningless), estimate, std_error, ci_method, p_method
#'   ("Wald", or "likelihood ratio (separation)"), lr_statistic, lr_df, lr_p_value (the
#'   variable's likelihood-ratio test, used for screening), separation) and
#'   `multivariable` (data.frame variable, term, odds_ratio, or_lower,
#'   or_upper, p_value; also estimate, std_error, ci_method (`"Wald"` or
#'   `"profile penalised likelihood"`) and p_method (`"Wald"` or
#'   `"penalised likelihood ratio"`)), `screening` (the test
#'   used: "likelihood ratio"), `vif` (data.frame term,
#'   vif), `selected` (variables in the multivariable model), `fit` (the
#'   multivariable glm, or NULL with a warning when no candidate passes),
#'   `outcome`, `candidates`, `alpha`, `separation` (one-row data.frame
#'   separation, converged, method, note for the multivariable fit; NULL
#'   without one).
#' @examples
#' set.seed(1)
#' d <- data.frame(age = rnorm(80, 60, 10), sex = sample(c("F", "M"), 80, TRUE))
#' d$label <- rbinom(80, 1, plogis((d$age - 60) / 5))
#' clinical_logistic(d, "label", c("age", "sex"))$multivariable
#' @export
clinical_logistic <- function(data, outcome, candidates, alpha = 0.05,
                              separation = c("firth", "error", "warn"), event = NULL) {
  separation <- match_arg(separation)
  if (!is.data.frame(data)) abort("'data' must be a data.frame, not ", class(data)[1L], ".")
  check_column_name(outcome, data, "outcome")
  if (!is.character(candidates) || !length(candidates) || anyNA(candidates)) {
    abort("'candidates' must be a non-empty character vector of column names.")
  }
  missing <- setdiff(candidates, names(data))
  if (length(missing)) abort("'candidates' names column(s) not in 'data': ", name_list(missing), ".")
  if (outcome %in% candidates) abort("The outcome '", outcome, "' cannot also be a candidate.")
  check_number(alpha, "alpha", 0, 1, lower_open = TRUE)
  check_no_na_columns(data, c(outcome, candidates), "data")
  # a candidate with a single value (e.g. every patient Child-Pugh A) carries
  # no information in these data: left out with a warning, not an error
  const <- candidates[vapply(candidates, function(v) length(unique(data[[v]])) < 2L, logical(1))]
  if (length(const)) {
    warn_classed("radnomo_constant_features", "Clinical candidate(s) ", name_list(const), " take a single value in ",
                 "these data and are left out of the clinical model.")
    candidates <- setdiff(candidates, const)
  }
  if (!length(candidates)) {
    warn_classed("radnomo_nothing_selected", "No clinical candidate varies in these data; there is no clinical model.")
    empty_uni <- data.frame(variable = character(), term = character(), odds_ratio = numeric(), or_lower = numeric(),
                            or_upper = numeric(), p_value = numeric(), estimate = numeric(), std_error = numeric(),
                            ci_method = character(), p_method = character(), lr_statistic = numeric(),
                            lr_df = integer(), lr_p_value = numeric(), separation = logical(),
                            stringsAsFactors = FALSE)
    return(structure(list(univariable = empty_uni, multivariable = empty_uni[, 1:10],
                          vif = data.frame(term = character(), vif = numeric()), selected = character(), fit = NULL,
                          outcome = outcome, candidates = character(), alpha = alpha, screening = "likelihood ratio"),
                     class = "radnomo_clinical"))
  }
  df <- prepare_clinical_data(data, outcome, candidates, event)

  null_dev <- stats::glm(make_formula(outcome, character()), data = df, family = stats::binomial())$deviance
  uni <- do.call(rbind, lapply(candidates, function(v) {
    res <- fit_logistic(make_formula(outcome, v), df, label = paste0("univariable model of '", v, "'"),
                        separation = "warn")
    tab <- term_table(res$fit, v)
    # likelihood-ratio test of the variable (all its terms together) against
    # the intercept-only model: valid under separation, where Wald p-values
    # collapse towards 1 (Hauck & Donner, JASA 1977;72:851-3)
    lr <- max(0, null_dev - res$fit$deviance)
    tab$lr_statistic <- lr
    tab$lr_df <- nrow(tab)
    tab$lr_p_value <- stats::pchisq(lr, nrow(tab), lower.tail = FALSE)
    tab$separation <- res$info$separation
    if (isTRUE(res$info$separation)) {
      # the Wald p of a separated fit is meaningless (near 1): p_value is the likelihood-ratio test
      tab$p_value <- tab$lr_p_value
      tab$p_method <- "likelihood ratio (separation)"
    }
    tab
  }))
  var_p <- tapply(uni$lr_p_value, factor(uni$variable, levels = candidates), min)
  selected <- candidates[!is.na(var_p) & var_p < alpha]
  empty <- uni[0, , drop = FALSE]
  if (!length(selected)) {
    warn_classed("radnomo_nothing_selected", "No clinical candidate reached univariable p < ", alpha,
                 "; there is no multivariable clinical model.")
    return(structure(list(univariable = uni, multivariable = empty,
                          vif = data.frame(term = character(), vif = numeric()),
                          selected = character(), fit = NULL, outcome = outcome,
                          candidates = candidates, alpha = alpha, screening = "likelihood ratio"),
                     class = "radnomo_clinical"))
  }
  res <- fit_logistic(make_formula(outcome, selected), df, label = "multivariable clinical model",
                      separation = separation)
  fit <- res$fit
  multi <- term_table(fit, selected)
  structure(list(univariable = uni, multivariable = multi, vif = design_vif(fit),
                 selected = selected, fit = fit, outcome = outcome,
                 candidates = candidates, alpha = alpha, screening = "likelihood ratio",
                 separation = res$info),
            class = "radnomo_clinical")
}

#' Outcome to 0/1, characters/logicals to factors with unused levels dropped
#' @noRd
prepare_clinical_data <- function(data, outcome, candidates, event = NULL) {
  df <- data[, c(outcome, candidates), drop = FALSE]
  df[[outcome]] <- check_binary(df[[outcome]], outcome, event)
  for (v in candidates) {
    col <- df[[v]]
    if (is.character(col) || is.logical(col)) col <- factor(col)
    if (is.factor(col)) {
      # ordered factors too get treatment contrasts (one dummy per level
      # against the first), never polynomial ones: an odds ratio per level
      col <- factor(as.character(col), levels = levels(droplevels(col)))
      if (nlevels(col) < 2L) abort("Candidate '", v, "' has a single level ('", levels(col), "'); it cannot be a predictor.")
    } else if (!is.numeric(col)) {
      abort("Candidate '", v, "' must be numeric, logical, character or factor, not ", class(col)[1L], ".")
    } else if (stats::var(col) == 0) {
      abort("Candidate '", v, "' is constant; it cannot be a predictor.")
    }
    df[[v]] <- col
  }
  df
}

#' Coefficient table (without intercept) with the variable each term belongs to
#' @noRd
term_table <- function(fit, variables) {
  mm <- stats::model.matrix(fit)
  assign <- attr(mm, "assign")
  labels <- attr(stats::terms(fit), "term.labels")
  cols <- colnames(mm)[assign > 0]
  tab <- glm_wald_table(fit)
  row <- match(cols, rownames(stats::coef(summary(fit))))
  if (anyNA(row)) {
    abort("Term(s) ", name_list(cols[is.na(row)]), " could not be estimated (aliased with other ",
          "terms); remove redundant candidates.")
  }
  tab <- tab[row, , drop = FALSE]
  out <- data.frame(variable = gsub("^`|`$", "", labels[assign[assign > 0]]),
                    term = gsub("`", "", cols), odds_ratio = tab$odds_ratio,
                    or_lower = tab$or_lower, or_upper = tab$or_upper, p_value = tab$p_value,
                    estimate = tab$estimate, std_error = tab$std_error, ci_method = tab$ci_method,
                    p_method = tab$p_method, stringsAsFactors = FALSE)
  rownames(out) <- NULL
  out
}

#' Classical VIF from the design matrix
#' @noRd
design_vif <- function(fit) {
  mm <- stats::model.matrix(fit)
  X <- mm[, colnames(mm) != "(Intercept)", drop = FALSE]
  term <- gsub("`", "", colnames(X))
  if (ncol(X) == 1L) return(data.frame(term = term, vif = 1, stringsAsFactors = FALSE))
  v <- vapply(seq_len(ncol(X)), function(j) {
    res <- stats::lm.fit(cbind(1, X[, -j, drop = FALSE]), X[, j])$residuals
    tss <- sum((X[, j] - mean(X[, j]))^2)
    1 / (sum(res^2) / tss)
  }, numeric(1))
  data.frame(term = term, vif = v, stringsAsFactors = FALSE)
}

#' Predict from the multivariable clinical model
#'
#' @param object A `"radnomo_clinical"` from [clinical_logistic()].
#' @param newdata data.frame with the selected clinical variables.
#'   Omitted: the training patients' predictions (not available from a stripped model).
#' @param type `"response"` (probability, default) or `"link"` (log-odds).
#' @param ... Unused.
#' @return Numeric vector, one value per row of `newdata`.
#' @examples
#' bw <- MASS::birthwt
#' cl <- clinical_logistic(bw[1:150, ], "low", c("lwt", "smoke", "ht"), alpha = 1)
#' predict(cl, bw[151:155, ])
#' head(predict(cl)) # training predictions
#' @export
predict.radnomo_clinical <- function(object, newdata, type = c("response", "link"), ...) {
  type <- match_arg(type)
  if (is.null(object$fit)) abort("The clinical model has no multivariable fit (no candidate passed the univariable step).")
  if (missing(newdata)) return(training_prediction(object$fit, type))
  newdata <- check_newdata(newdata)
  check_has_columns(newdata, object$selected, "newdata")
  check_no_na_columns(newdata, object$selected, "newdata")
  xl <- object$fit$xlevels
  for (v in names(xl)) {
    col <- gsub("^`|`$", "", v)
    unseen <- setdiff(unique(as.character(newdata[[col]])), xl[[v]])
    if (length(unseen)) abort("'newdata' column '", col, "' has level(s) ", name_list(unseen), " not seen in training.")
    # categorical candidates (character, logical or factor in training) are
    # re-coded with the training levels, whatever their type in newdata
    newdata[[col]] <- factor(as.character(newdata[[col]]), levels = xl[[v]])
  }
  unname(stats::predict(object$fit, newdata = newdata, type = type))
}
