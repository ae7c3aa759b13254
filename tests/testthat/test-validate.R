# Whole-pipeline internal validation. References: rms::validate (same
# resample indices, selection switched off), pure-noise data (the truth is
# AUC 0.5), and a known generative model (the fitted model's AUC on a large
# independent sample from the same model).

noise_study <- function(seed, n = 100, p = 2000) {
  set.seed(seed)
  x <- matrix(stats::rnorm(n * p), n, dimnames = list(NULL, sprintf("f%04d", seq_len(p))))
  data.frame(patient_id = seq_len(n), label = rep(0:1, length.out = n), x)
}

# logit P(y = 1) = -0.4 + beta * (sum of the first 5 features) / sqrt(5)
signal_study <- function(seed, n, p = 500, beta = 2) {
  set.seed(seed)
  x <- matrix(stats::rnorm(n * p), n, dimnames = list(NULL, sprintf("f%04d", seq_len(p))))
  lp <- -0.4 + beta * rowSums(x[, 1:5]) / sqrt(5)
  data.frame(patient_id = seq_len(n), label = stats::rbinom(n, 1, stats::plogis(lp)), x)
}

auc_of <- function(v, model = "nomogram") {
  p <- v$performance
  p[p$model == model & p$metric == "auc", , drop = FALSE]
}

test_that("without selection, the bootstrap optimism equals rms::validate with the same resamples (aSAH)", {
  data(aSAH, package = "pROC", envir = environment())
  d <- data.frame(patient_id = seq_len(nrow(aSAH)), label = as.integer(aSAH$outcome == "Poor"),
                  s100b = aSAH$s100b, age = aSAH$age, ndka = aSAH$ndka)
  B <- 30
  set.seed(5)
  idx <- lapply(seq_len(B), function(i) sample(nrow(d), replace = TRUE))
  # clinical_alpha = 1: every candidate enters, so the chain is a plain lrm on fixed predictors
  v <- validate_study(d, clinical = c("s100b", "age", "ndka"), clinical_alpha = 1, method = "boot", indices = idx)
  nm <- fit_nomogram(d, "label", c("s100b", "age", "ndka"))
  set.seed(5)
  r <- unclass(rms::validate(nm$fit, method = "boot", B = B))
  p <- v$performance[v$performance$model == "nomogram", ]
  opt <- stats::setNames(p$optimism, p$metric)
  expect_equal(opt[["auc"]], r["Dxy", "optimism"] / 2, tolerance = 1e-10)
  expect_equal(opt[["brier"]], r["B", "optimism"], tolerance = 1e-10)
  # rms sets the resample's own slope/intercept to exactly 1/0; radnomo refits
  # them (equal up to lrm's convergence tolerance, ~1e-8)
  expect_equal(opt[["slope"]], r["Slope", "optimism"], tolerance = 1e-6)
  expect_equal(opt[["recalibration_intercept"]], r["Intercept", "optimism"], tolerance = 1e-6)
  # without indices, the same seed draws the same resamples as rms
  v2 <- validate_study(d, clinical = c("s100b", "age", "ndka"), clinical_alpha = 1, method = "boot", B = B, seed = 5)
  expect_equal(v2$performance, v$performance)
})

test_that("pure noise: CV and .632+ corrected AUCs are near 0.5 where the optimism bootstrap is not", {
  # Held-out labels are independent of everything a fold's model saw, so the
  # cross-validated AUC has expectation exactly 0.5; one data set's estimate
  # varies (SD about 0.05 here), so the mean over seeds is tested.
  slow <- nzchar(Sys.getenv("RADNOMO_SLOW"))
  p <- if (slow) 2000 else 1000
  seeds <- if (slow) 1:8 else 1:4
  res <- t(vapply(seeds, function(s) {
    d <- noise_study(s, p = p)
    feats <- grep("^f", names(d), value = TRUE)
    cv <- suppressWarnings(validate_study(d, radiomics = feats, method = "cv", folds = 5, repeats = 2, nfolds = 5,
                                          seed = s, workers = 2))
    p632 <- if (s <= 2) suppressWarnings(validate_study(d, radiomics = feats, method = "632plus", B = 10, nfolds = 5,
                                                        seed = s, workers = 2)) else NULL
    c(apparent = auc_of(cv)$apparent, cv = auc_of(cv)$corrected,
      p632 = if (is.null(p632)) NA_real_ else auc_of(p632)$corrected)
  }, numeric(3)))
  expect_true(all(res[, "apparent"] > 0.95))
  expect_lt(abs(mean(res[, "cv"]) - 0.5), 0.1)
  expect_lt(abs(mean(res[, "p632"], na.rm = TRUE) - 0.5), 0.1)
  expect_true(all(res[, "cv"] < 0.75))
  # recorded (tests/benchmarks/validate_simulation.R): the Efron-Gong bootstrap
  # gives ~0.9 on the same data, far from the truth
})

test_that("known generative model: the CV-corrected AUC is near the fitted model's AUC on new patients", {
  # CV estimates the expected performance of the whole procedure, not that of
  # the one model fitted on these data (Hastie, Tibshirani & Friedman, ESL,
  # 2nd ed., 7.12), so single cases deviate (up to about 0.15 here, see
  # tests/benchmarks/validate_simulation.R); the mean deviation over cases is
  # tested.
  cases <- list(c(n = 150, p = 500, seed = 21), c(n = 150, p = 500, seed = 22), c(n = 250, p = 500, seed = 24))
  dev <- vapply(cases, function(cs) {
    d <- signal_study(cs[["seed"]], n = cs[["n"]], p = cs[["p"]])
    feats <- grep("^f", names(d), value = TRUE)
    v <- suppressWarnings(validate_study(d, radiomics = feats, method = "cv", folds = 10, repeats = 2, nfolds = 5,
                                         seed = 2, workers = 2))
    st <- suppressWarnings(fit_study(d, radiomics = feats, nfolds = 5, seed = 2, B = 10))
    new <- signal_study(999, n = 5000, p = cs[["p"]])
    true_auc <- as.numeric(pROC::auc(pROC::roc(new$label, predict(st, new)$nomogram, direction = "<", quiet = TRUE)))
    expect_gt(auc_of(v)$apparent - true_auc, 0.02) # the apparent AUC is optimistic
    auc_of(v)$corrected - true_auc
  }, numeric(1))
  expect_lt(abs(mean(dev)), 0.08)
})

test_that("same seed gives identical results with 1 and 2 workers; stability and calibration are reported", {
  d <- signal_study(8, n = 90, p = 60)
  d$f0001 <- d$f0001 + 1.5 * d$label # one strong marker: the most stable feature
  feats <- grep("^f", names(d), value = TRUE)
  a <- suppressWarnings(validate_study(d, radiomics = feats, method = "cv", folds = 3, repeats = 2, nfolds = 5, seed = 4))
  b <- suppressWarnings(validate_study(d, radiomics = feats, method = "cv", folds = 3, repeats = 2, nfolds = 5, seed = 4,
                                       workers = 2))
  expect_identical(a$performance, b$performance)
  expect_identical(a$stability, b$stability)
  # socket workers (what the Python bridge uses: forking an embedded R can deadlock)
  old <- options(radnomo.parallel = "psock")
  on.exit(options(old), add = TRUE)
  c2 <- suppressWarnings(validate_study(d, radiomics = feats, method = "cv", folds = 3, repeats = 2, nfolds = 5,
                                        seed = 4, workers = 2))
  expect_identical(c2$performance, a$performance)
  expect_equal(a$n_resamples, 6L)
  expect_named(a$performance, c("model", "metric", "apparent", "optimism", "corrected", "lower", "upper"))
  expect_setequal(unique(a$performance$metric), c("auc", "brier", "scaled_brier", "citl", "recalibration_intercept", "slope", "emax", "e90"))
  expect_true(all(a$stability$frequency > 0 & a$stability$frequency <= 1))
  expect_identical(a$stability$feature[1], "f0001")
  expect_equal(a$stability$frequency[1], 1)
  expect_equal(nrow(a$calibration), 50L)
  expect_true(all(c("resamples", "succeeded", "failed") %in% a$resamples$reason))
  ci <- auc_of(a)
  expect_true(ci$lower < ci$corrected && ci$corrected < ci$upper)
  expect_error(validate_study(d, radiomics = feats, indices = list(c(1, 999))), "row numbers")
})

test_that("nothing selected: a named warning and an empty result, not an error", {
  d <- noise_study(2, n = 60, p = 20)
  expect_warning(v <- validate_study(d, radiomics = grep("^f", names(d), value = TRUE), mwu_alpha = 1e-9,
                                     method = "cv", folds = 3, repeats = 1),
                 class = "radnomo_no_model")
  expect_equal(nrow(v$performance), 0L)
})

# Fixed predictors (clinical_alpha = 1: no selection): the chain is one
# logistic model, so each resample's risks come from a plain glm refit.
dca_fixed <- function() {
  data(aSAH, package = "pROC", envir = environment())
  data.frame(patient_id = seq_len(nrow(aSAH)), label = as.integer(aSAH$outcome == "Poor"),
             s100b = aSAH$s100b, age = aSAH$age, ndka = aSAH$ndka)
}
glm_risk <- function(d, rows, new) {
  f <- suppressWarnings(stats::glm(label ~ s100b + age + ndka, data = d[rows, ], family = binomial))
  stats::predict(f, new, type = "response")
}

test_that("the decision curve from the engine's bootstrap is Efron-Gong on net benefit, its band rmda's bootstrap shifted", {
  d <- dca_fixed()
  th <- seq(0.05, 0.6, by = 0.05)
  B <- 12
  set.seed(6)
  idx <- lapply(seq_len(B), function(i) sample(nrow(d), replace = TRUE))
  v <- validate_study(d, clinical = c("s100b", "age", "ndka"), clinical_alpha = 1, method = "boot", indices = idx,
                      thresholds = th)
  nb <- function(y, p) { dc <- decision_curve(y, list(m = p), thresholds = th); dc$net_benefit[dc$model == "m"] }
  app <- glm_risk(d, seq_len(nrow(d)), d)
  opt <- rowMeans(vapply(idx, function(i) nb(d$label[i], glm_risk(d, i, d[i, ])) - nb(d$label, glm_risk(d, i, d)),
                         numeric(length(th))))
  got <- v$decision[v$decision$model == "nomogram", ]
  expect_equal(got$threshold, th)
  expect_equal(got$apparent, nb(d$label, app), tolerance = 1e-10)
  expect_equal(got$optimism, opt, tolerance = 1e-10)
  expect_equal(got$corrected, nb(d$label, app) - opt, tolerance = 1e-10)
  # the band: decision_curve()'s bootstrap of the fixed apparent risks over the same draws, moved by the optimism
  v2 <- validate_study(d, clinical = c("s100b", "age", "ndka"), clinical_alpha = 1, method = "boot", B = B, seed = 9,
                       thresholds = th)
  dc <- decision_curve(d$label, list(m = app), thresholds = th, bootstraps = B, seed = 9)
  dc <- dc[dc$model == "m", ]
  g2 <- v2$decision[v2$decision$model == "nomogram", ]
  expect_equal(g2$lower, g2$corrected - (dc$net_benefit - dc$nb_lower), tolerance = 1e-10)
  expect_equal(g2$upper, g2$corrected + (dc$nb_upper - dc$net_benefit), tolerance = 1e-10)
  # treat all / none: no model, no optimism
  ref <- v$decision[v$decision$model %in% c("all", "none"), ]
  expect_equal(ref$optimism, rep(0, nrow(ref)))
  expect_equal(ref$apparent[ref$model == "all"], mean(d$label) - (1 - mean(d$label)) * th / (1 - th))
})

test_that("the cross-validated decision curve is the net benefit of the pooled out-of-fold risks", {
  d <- dca_fixed()
  th <- seq(0.05, 0.6, by = 0.05)
  set.seed(7)
  fold <- sample(rep(1:5, length.out = nrow(d)))
  idx <- lapply(1:5, function(k) which(fold != k))
  v <- validate_study(d, clinical = c("s100b", "age", "ndka"), clinical_alpha = 1, method = "cv", indices = idx,
                      thresholds = th)
  oof <- numeric(nrow(d))
  for (k in 1:5) oof[fold == k] <- glm_risk(d, which(fold != k), d[fold == k, ])
  dc <- decision_curve(d$label, list(m = oof), thresholds = th)
  got <- v$decision[v$decision$model == "nomogram", ]
  expect_equal(got$corrected, dc$net_benefit[dc$model == "m"], tolerance = 1e-10)
  # the calibration metrics of the same pooled risks (one "repeat")
  p <- v$performance[v$performance$model == "nomogram", ]
  # (lrm and glm agree to their convergence tolerance)
  expect_equal(p$corrected[p$metric == "brier"], mean((d$label - oof)^2), tolerance = 1e-8)
  expect_true(all(is.na(validate_study(d, clinical = c("s100b", "age"), clinical_alpha = 1, method = "632plus",
                                       B = 3, thresholds = th)$decision$corrected[1:length(th)])))
})

test_that("validation_metrics (exported) equals direct computations", {
  set.seed(8)
  p <- runif(150, 0.02, 0.98)
  y <- rbinom(150, 1, p^1.3)
  m <- validation_metrics(y, p)
  expect_named(m, c("auc", "brier", "scaled_brier", "citl", "recalibration_intercept", "slope", "emax", "e90"))
  expect_equal(m[["auc"]], as.numeric(pROC::auc(pROC::roc(y, p, direction = "<", quiet = TRUE))), tolerance = 1e-12)
  expect_equal(m[["brier"]], mean((y - p)^2))
  expect_equal(m[["scaled_brier"]], 1 - mean((y - p)^2) / (mean(y) * (1 - mean(y))))
  g <- stats::glm(y ~ qlogis(p), family = binomial)
  expect_equal(unname(c(m[["recalibration_intercept"]], m[["slope"]])), unname(coef(g)), tolerance = 1e-8)
  gi <- stats::glm(y ~ 1 + offset(qlogis(p)), family = binomial)
  expect_equal(m[["citl"]], unname(coef(gi)), tolerance = 1e-8)
  sm <- stats::lowess(p, y, iter = 0)
  cal <- stats::approx(sm, xout = p, ties = mean)$y
  expect_equal(m[["emax"]], max(abs(p - cal)))
  # missing risks are left out; logical outcomes accepted
  expect_equal(validation_metrics(as.logical(c(y, 1)), c(p, NA)), m)
  expect_error(validation_metrics(y, p * 2), "in \\[0, 1\\]")
  expect_error(validation_metrics(c(y[-1], 2), p), "0/1")
  expect_error(validation_metrics(y, p[-1]), "must match")
})

test_that("the engine (feature blocks as matrices) refits exactly what fit_study fits", {
  set.seed(9)
  n <- 80
  x <- matrix(rnorm(n * 40), n, dimnames = list(NULL, c(sprintf("r%02d", 1:20), sprintf("d%02d", 1:20))))
  d <- data.frame(patient_id = seq_len(n), label = rbinom(n, 1, plogis(x[, 1] + x[, 21])), age = rnorm(n, 60, 8), x)
  args <- list(radiomics = sprintf("r%02d", 1:20), deep = sprintf("d%02d", 1:20), clinical = "age",
               clinical_alpha = 0.5, nfolds = 5, seed = 3)
  st <- suppressWarnings(do.call(fit_study, c(list(d, B = 10), args)))
  v <- suppressWarnings(do.call(validate_study, c(list(d, method = "cv", folds = 3, repeats = 1), args)))
  tr <- st$metrics[st$metrics$set == "train", ]
  for (m in tr$model) {
    expect_equal(v$performance$apparent[v$performance$model == m & v$performance$metric == "auc"],
                 tr$auc[tr$model == m], tolerance = 1e-12, label = m)
  }
  dc <- st$decision[st$decision$set == "train", ]
  expect_equal(v$decision$apparent, dc$net_benefit, tolerance = 1e-12)
  expect_true(all(c("radiomics", "deep", "predict", "evaluate") %in% v$timing$step))
})

test_that("a misspelt choice is a classed input error (as the bridge maps it to InputError)", {
  data(aSAH, package = "pROC", envir = environment())
  d <- data.frame(patient_id = seq_len(nrow(aSAH)), label = as.integer(aSAH$outcome == "Poor"),
                  s100b = aSAH$s100b, age = aSAH$age)
  expect_error(validate_study(d, clinical = "s100b", method = "bootstrap632"), "should be one of",
               class = "radnomo_input_error")
  expect_error(validate_study(d, clinical = "s100b", separation = "none"), class = "radnomo_input_error")
  expect_error(fit_study(d, clinical = "s100b", score = "ridge"), class = "radnomo_input_error")
  expect_error(decision_curve(d$label, list(m = d$s100b / 10), policy = "treat"),
               class = "radnomo_input_error")
})
