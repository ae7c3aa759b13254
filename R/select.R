# Feature selection: Mann-Whitney U -> correlation pruning -> z-score ->
# (optional PCA) -> binomial LASSO, fitted on training data only and frozen
# for application to new data.

#' Select features with MWU, correlation pruning, z-scoring, optional PCA and LASSO
#'
#' The selection chain used for radiomics (Rad score) and deep-learning (DL
#' score) features. Everything is estimated on the training data passed here;
#' [predict.radnomo_selection()] and [transform_features()] apply the frozen
#' chain (training centre, scale and rotation) to new data.
#'
#' Steps and conventions:
#' 1. **Mann-Whitney U** per feature: `stats::wilcox.test(x[y == 1], x[y == 0],
#'    exact = FALSE, correct = TRUE)` (two-sided, normal approximation with
#'    continuity correction; the statistic W is that of the cases, `y == 1`).
#'    Features with `p < mwu_alpha` are kept.
#' 2. **Correlation pruning**: features are visited in order of increasing MWU
#'    p-value (ties broken by column order); a feature is kept unless its
#'    absolute Pearson correlation with an already kept feature exceeds
#'    `cor_threshold`. The kept features are reported in input column order.
#' 3. **z-score** with the training mean and standard deviation (`sd`, n - 1
#'    denominator).
#' 4. **PCA** (only when `pca = TRUE`): `stats::prcomp` of the z-scored matrix
#'    without further centring or scaling; the fewest components whose
#'    cumulative proportion of variance is `>= pca_variance` are kept, named
#'    `PC1..PCk`.
#' 5. **LASSO**: `glmnet::cv.glmnet(family = "binomial", alpha = 1, nfolds,
#'    type.measure = "deviance", standardize = FALSE)` (`standardize = FALSE`
#'    because the inputs are already z-scored or PC scores). Fold membership is
#'    stratified by outcome and drawn from `seed`, so the same seed gives an
#'    identical result; the caller's random-number state is left untouched.
#'    Coefficients are taken at `lambda.min` or `lambda.1se`.
#'
#' When a single term survives before the LASSO, an unpenalised logistic
#' regression on it is fitted instead (with a warning; `lambda_*` are then
#' `NA`). When no feature survives a step, an error names the step.
#'
#' @param x Numeric matrix or data.frame of training features, with column names.
#' @param y Binary outcome (0/1, logical, or two-level factor whose second level is the event).
#' @param mwu_alpha Significance level of the Mann-Whitney U filter, in (0, 1].
#' @param cor_threshold Absolute Pearson correlation above which a feature is pruned, in (0, 1].
#' @param pca Logical; replace the z-scored features by principal components before the LASSO.
#' @param pca_variance Cumulative proportion of variance the kept components must explain, in (0, 1].
#' @param nfolds Number of cross-validation folds for `cv.glmnet` (>= 3).
#' @param lambda Which penalty to report: `"min"` (lambda.min) or `"1se"` (lambda.1se).
#' @param seed Optional integer seed for the fold assignment (and glmnet).
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @param outcome_name The outcome's name in messages (e.g. the outcome
#'   column, `"recurrence"`); by default the expression passed as `y` when it
#'   is a variable or a data-frame column (`d$recurrence`), else `"y"`.
#' @return An object of class `"radnomo_selection"`: a list with `steps`
#'   (data.frame step, n_features), `mwu` (data.frame feature, statistic,
#'   p_value for every input feature), `kept_mwu`, `kept_correlation`,
#'   `center`, `scale`, `rotation` (or NULL), `pca_variance_explained`
#'   (cumulative, or NULL), `lambda_min`, `lambda_1se`, `lambda_used`,
#'   `coefficients` (data.frame term, coefficient; intercept first, then the
#'   non-zero terms), `selected` (non-zero terms), `settings`, and `cv` (the
#'   `cv.glmnet` fit or NULL).
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(60 * 5), 60, dimnames = list(NULL, paste0("f", 1:5)))
#' y <- rbinom(60, 1, plogis(2 * x[, 1]))
#' sel <- select_features(x, y, seed = 1)
#' sel$selected
#' @export
select_features <- function(x, y, mwu_alpha = 0.05, cor_threshold = 0.9, pca = FALSE,
                            pca_variance = 0.95, nfolds = 10, lambda = c("min", "1se"),
                            seed = NULL, event = NULL, outcome_name = NULL) {
  lambda <- match_arg(lambda)
  x <- check_feature_matrix(x, "x")
  lab <- outcome_label(outcome_name, substitute(y))
  y <- check_binary(y, lab, event)
  check_same_length(length(y), x, "x", ref = lab)
  check_number(mwu_alpha, "mwu_alpha", 0, 1, lower_open = TRUE)
  check_number(cor_threshold, "cor_threshold", 0, 1, lower_open = TRUE)
  if (!is.logical(pca) || length(pca) != 1L || is.na(pca)) abort("'pca' must be TRUE or FALSE.")
  check_number(pca_variance, "pca_variance", 0, 1, lower_open = TRUE)
  check_number(nfolds, "nfolds", 3, length(y), integer = TRUE)
  seed <- check_seed(seed)
  # constant columns: every value equals the first (what sd(x) > 0 tests,
  # without a call per column)
  varies <- colSums(x != rep(x[1L, ], each = nrow(x))) > 0L
  const <- colnames(x)[!varies]
  n_input <- ncol(x)
  if (length(const)) {
    # a column constant in the training set carries no information: it is
    # left out (and never reaches the test set's transform)
    warning(structure(class = c("radnomo_constant_features", "warning", "condition"), list(
      message = paste0(length(const), " constant (zero-variance) feature column(s) in the training set are ",
                       "left out of the selection: ", name_list(const), "."), call = NULL)))
    x <- x[, varies, drop = FALSE]
    if (!ncol(x)) {
      stop(structure(class = c("radnomo_nothing_selected", "radnomo_error", "error", "condition"), list(
        message = "Every feature column is constant in the training set; nothing to select.", call = NULL)))
    }
  }
  settings <- list(mwu_alpha = mwu_alpha, cor_threshold = cor_threshold, pca = pca,
                   pca_variance = pca_variance, nfolds = as.integer(nfolds), lambda = lambda,
                   seed = seed)

  mwu <- mwu_filter(x, y)
  kept_mwu <- mwu$feature[mwu$p_value < mwu_alpha]
  if (!length(kept_mwu)) {
    stop(structure(class = c("radnomo_nothing_selected", "radnomo_error", "error", "condition"), list(
      message = paste0("No feature passed the Mann-Whitney U step (p < ", mwu_alpha, ") among ", ncol(x),
                       " features; nothing to select."), call = NULL)))
  }
  kept_cor <- correlation_prune(x[, kept_mwu, drop = FALSE], mwu$p_value[match(kept_mwu, mwu$feature)],
                                cor_threshold)
  xs <- x[, kept_cor, drop = FALSE]
  center <- colMeans(xs)
  scale <- apply(xs, 2L, stats::sd)
  z <- sweep(sweep(xs, 2L, center, "-"), 2L, scale, "/")

  rotation <- NULL
  var_explained <- NULL
  steps <- data.frame(step = c("input", "mwu", "correlation"),
                      n_features = c(n_input, length(kept_mwu), length(kept_cor)),
                      stringsAsFactors = FALSE)
  if (pca) {
    pc <- pca_fit(z, pca_variance)
    rotation <- pc$rotation
    var_explained <- pc$cumulative
    z <- z %*% rotation
    steps <- rbind(steps, data.frame(step = "pca", n_features = ncol(z)))
  }
  minority <- min(sum(y == 1L), sum(y == 0L))
  if (minority < 3L && ncol(z) > 1L) {
    # cv.glmnet needs at least two patients of each class in every fold's
    # training part; with fewer than 3 of a class no fold split allows it
    stop(structure(class = c("radnomo_nothing_selected", "radnomo_error", "error", "condition"), list(
      message = paste0("The training set has only ", minority, " patient(s) in its smaller outcome class; ",
                       "the cross-validated LASSO needs at least 3. Nothing is selected."), call = NULL)))
  }
  las <- lasso_fit(z, y, nfolds = nfolds, lambda = lambda, seed = seed)
  steps <- rbind(steps, data.frame(step = "lasso", n_features = length(las$selected)))
  steps$n_features <- as.integer(steps$n_features)
  if (!length(las$selected)) {
    warn_classed("radnomo_nothing_selected", "The LASSO (lambda.", lambda, ") kept no term: the selection's ",
                 "linear predictor is constant. Consider lambda = \"min\", a larger training set or a looser mwu_alpha.")
  }
  structure(list(
    steps = steps,
    mwu = mwu,
    kept_mwu = kept_mwu,
    kept_correlation = kept_cor,
    center = center,
    scale = scale,
    rotation = rotation,
    pca_variance_explained = var_explained,
    lambda_min = las$lambda_min,
    lambda_1se = las$lambda_1se,
    lambda_used = las$lambda_used,
    coefficients = las$coefficients,
    selected = las$selected,
    settings = settings,
    cv = las$cv
  ), class = "radnomo_selection")
}

#' Mann-Whitney U test per column (cases vs controls)
#'
#' All columns at once, with the formulas of `stats::wilcox.test(x1, x0,
#' exact = FALSE, correct = TRUE)`: W = rank sum of the events minus
#' n1 (n1 + 1) / 2; normal approximation with the tie correction of the
#' variance and a continuity correction of 0.5 towards the mean; two-sided.
#' The mid-ranks and the tie counts of every column come from one radix sort
#' of the whole matrix (columns kept as blocks), not a `rank()` and a `sort()`
#' per column; the ranks are exact (integers and halves), so W and the
#' p-values are identical to the per-column computation (tested against
#' `wilcox.test`).
#' @noRd
mwu_filter <- function(x, y) {
  n <- nrow(x)
  p <- ncol(x)
  n1 <- sum(y == 1L)
  n0 <- n - n1
  N <- n * p
  col_id <- rep.int(seq_len(p), rep.int(n, p))
  o <- order(col_id, as.vector(x), method = "radix")
  s <- x[o]
  # runs of equal values within a column (ties)
  starts <- which(c(TRUE, s[-1L] != s[-N] | col_id[-1L] != col_id[-N]))
  len <- diff(c(starts, N + 1L))
  pos <- rep.int(seq_len(n), p)
  r <- numeric(N)
  r[o] <- rep.int(pos[starts] + (len - 1) / 2, len) # mid-rank of each run
  dim(r) <- c(n, p)
  w <- colSums(r[y == 1L, , drop = FALSE]) - n1 * (n1 + 1) / 2
  ties <- numeric(p)
  tied <- len > 1L
  if (any(tied)) {
    tl <- len[tied]
    tc <- col_id[starts[tied]]
    agg <- rowsum(tl^3 - tl, tc)
    ties[as.integer(rownames(agg))] <- agg[, 1L]
  }
  z <- w - n1 * n0 / 2
  sigma <- sqrt((n1 * n0 / 12) * ((n + 1) - ties / (n * (n - 1))))
  z <- (z - sign(z) * 0.5) / sigma
  pv <- 2 * pmin(stats::pnorm(z), stats::pnorm(z, lower.tail = FALSE))
  data.frame(feature = colnames(x), statistic = unname(w), p_value = unname(pv), stringsAsFactors = FALSE)
}

#' Greedy correlation pruning in order of increasing p-value
#'
#' Absolute Pearson correlations of the (MWU-passing) columns from one
#' `crossprod` of the centred, unit-length columns (about twice as fast as
#' `stats::cor`, equal to it within ~1e-15, clipped to 1 as `cor` is); the
#' greedy pass then reads only the kept features' columns.
#' @noRd
correlation_prune <- function(x, p_value, threshold) {
  m <- ncol(x)
  if (m == 1L) return(colnames(x))
  n <- nrow(x)
  xc <- x - rep(colMeans(x), each = n)
  z <- xc * rep(1 / sqrt(colSums(xc^2)), each = n)
  r <- abs(crossprod(z))
  ord <- order(p_value, seq_along(p_value))
  kept <- integer(0)
  for (j in ord) {
    if (!length(kept) || all(pmin(r[kept, j], 1) <= threshold)) kept <- c(kept, j)
  }
  colnames(x)[sort(kept)]
}

#' PCA on an already z-scored matrix
#' @noRd
pca_fit <- function(z, pca_variance) {
  pc <- stats::prcomp(z, center = FALSE, scale. = FALSE)
  prop <- pc$sdev^2 / sum(pc$sdev^2)
  cum <- cumsum(prop)
  k <- which(cum >= pca_variance - 1e-12)[1L]
  if (is.na(k)) k <- length(cum)
  rot <- pc$rotation[, seq_len(k), drop = FALSE]
  colnames(rot) <- paste0("PC", seq_len(k))
  list(rotation = rot, cumulative = stats::setNames(cum[seq_len(k)], colnames(rot)))
}

#' Stratified fold assignment
#' @noRd
stratified_folds <- function(y, nfolds) {
  ord <- c(sample_index(which(y == 0L)), sample_index(which(y == 1L)))
  foldid <- integer(length(y))
  foldid[ord] <- rep_len(seq_len(nfolds), length(y))
  foldid
}

#' Random permutation of a vector of indices (safe for length 1)
#' @noRd
sample_index <- function(idx) idx[sample.int(length(idx))]

#' Binomial LASSO via cv.glmnet, or a plain logistic fit on a single term
#' @noRd
lasso_fit <- function(z, y, nfolds, lambda, seed) {
  terms <- colnames(z)
  if (ncol(z) == 1L) {
    warn_classed("radnomo_single_term", "Only one term ('", terms, "') survived before the LASSO, which needs at ",
                 "least two; an unpenalised logistic regression on it is used instead.")
    df <- data.frame(z, .y = y, check.names = FALSE)
    fit <- fit_logistic(make_formula(".y", terms), df, label = "single-term logistic model")$fit
    b <- stats::coef(fit)
    return(list(cv = NULL, lambda_min = NA_real_, lambda_1se = NA_real_, lambda_used = NA_real_,
                coefficients = data.frame(term = c("(Intercept)", terms), coefficient = unname(b),
                                          stringsAsFactors = FALSE),
                selected = terms))
  }
  small <- 0L
  cv <- with_seed(seed, {
    foldid <- stratified_folds(y, nfolds)
    withCallingHandlers(
      glmnet::cv.glmnet(z, y, family = "binomial", alpha = 1, foldid = foldid,
                        type.measure = "deviance", standardize = FALSE),
      # glmnet's own "one multinomial or binomial class has fewer than 8 observations; dangerous
      # ground", once per fit: counted, and said once below in radnomo's words
      warning = function(w) {
        if (grepl("fewer than 8 +observations", conditionMessage(w))) {
          small <<- small + 1L
          invokeRestart("muffleWarning")
        }
      })
  })
  if (small > 0L) {
    warn_classed("radnomo_small_sample", "LASSO: the smaller outcome class has ", min(table(y)), " patient(s), ",
                 "fewer than 8 in ", small, " of the ", nfolds + 1L, " cross-validation fits (glmnet: ",
                 "'dangerous ground'); the cross-validated lambda and the selected features are unstable. ",
                 "More patients, or fewer folds (nfolds), help.")
  }
  s <- if (lambda == "min") cv$lambda.min else cv$lambda.1se
  b <- as.matrix(stats::coef(cv, s = s))[, 1L]
  nz <- terms[b[terms] != 0]
  list(cv = cv, lambda_min = cv$lambda.min, lambda_1se = cv$lambda.1se, lambda_used = s,
       coefficients = data.frame(term = c("(Intercept)", nz), coefficient = unname(b[c("(Intercept)", nz)]),
                                 stringsAsFactors = FALSE),
       selected = nz)
}

#' Apply a fitted selection's frozen transforms to new data
#'
#' Centres and scales the correlation-pruned features with the *training*
#' mean and SD, rotates them onto the training principal components when the
#' selection used PCA, and returns the terms the LASSO selected: the inputs
#' of [score_model()].
#'
#' @param object A `"radnomo_selection"` from [select_features()].
#' @param newdata data.frame or matrix with (at least) the columns in
#'   `object$kept_correlation`.
#' @return A data.frame with one column per selected term (z-scored features,
#'   or PC scores named PC1..PCk), one row per row of `newdata`.
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(100 * 30), 100, dimnames = list(NULL, paste0("f", 1:30)))
#' y <- rbinom(100, 1, plogis(x[, 1] - x[, 2]))
#' sel <- select_features(x[1:70, ], y[1:70], seed = 1)
#' head(transform_features(sel, x[71:100, ])) # test set, training centres and scales
#' @export
transform_features <- function(object, newdata) {
  if (!inherits(object, "radnomo_selection")) abort("'object' must be a radnomo_selection from select_features().")
  all_terms <- transform_all_terms(object, newdata)
  as.data.frame(all_terms[, object$selected, drop = FALSE])
}

#' z-scored (and rotated) matrix of every pre-LASSO term
#' @noRd
transform_all_terms <- function(object, newdata) {
  newdata <- check_newdata(newdata)
  check_has_columns(newdata, object$kept_correlation, "newdata")
  x <- check_feature_matrix(newdata[, object$kept_correlation, drop = FALSE], "newdata")
  z <- sweep(sweep(x, 2L, object$center, "-"), 2L, object$scale, "/")
  if (!is.null(object$rotation)) z <- z %*% object$rotation
  z
}

#' Predict from a fitted feature selection
#'
#' @param object A `"radnomo_selection"`.
#' @param newdata data.frame or matrix with the columns in `object$kept_correlation`.
#' @param type `"link"` (LASSO linear predictor, log-odds) or `"response"` (probability).
#' @param ... Unused.
#' @return Numeric vector, one value per row of `newdata`.
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(100 * 30), 100, dimnames = list(NULL, paste0("f", 1:30)))
#' y <- rbinom(100, 1, plogis(x[, 1] - x[, 2]))
#' sel <- select_features(x[1:70, ], y[1:70], seed = 1)
#' head(predict(sel, x[71:100, ], type = "response"))
#' @export
predict.radnomo_selection <- function(object, newdata, type = c("link", "response"), ...) {
  type <- match_arg(type)
  if (missing(newdata)) abort("A selection keeps no training data; give 'newdata' (e.g. the training features).")
  z <- transform_features(object, newdata)
  b <- object$coefficients
  lp <- rep(b$coefficient[1L], nrow(z))
  if (length(object$selected)) lp <- lp + drop(as.matrix(z[, b$term[-1L], drop = FALSE]) %*% b$coefficient[-1L])
  lp <- unname(lp)
  if (type == "response") stats::plogis(lp) else lp
}

#' @export
print.radnomo_selection <- function(x, ...) {
  cat("radnomo feature selection\n")
  print(x$steps, row.names = FALSE)
  cat("Selected terms:", if (length(x$selected)) paste(x$selected, collapse = ", ") else "(none)", "\n")
  invisible(x)
}
