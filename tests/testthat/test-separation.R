# Separation: exact detection, the policy (firth / lasso / error / warn) in
# every logistic fit, and fit_study completing on data where maximum
# likelihood diverges. References: brglm2::brglmFit fitted directly (Firth's
# estimates), rms::calibrate (the bootstrap when nothing separates), and
# data whose separation status is known by construction.

# MASS::birthwt with a quasi-separating marker: qsep = 1 only in events.
birthwt_qsep <- function() {
  bw <- MASS::birthwt
  set.seed(7)
  bw$qsep <- as.integer(bw$low == 1 & stats::runif(nrow(bw)) < 0.3)
  bw
}

# Run expr, collecting warnings by class; return list(value, warnings)
collect_warnings <- function(expr) {
  ws <- list()
  value <- withCallingHandlers(expr, warning = function(w) {
    ws[[length(ws) + 1L]] <<- w
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = ws)
}
separation_warnings <- function(ws) Filter(function(w) inherits(w, "radnomo_separation"), ws)

test_that("detect_separation: complete, quasi-complete and overlapping data", {
  # complete: x = 1..10, y switches between 5 and 6
  d <- radnomo:::detect_separation(cbind(1, x = 1:10), rep(0:1, each = 5))
  expect_true(d$separated)
  expect_equal(d$infinite, "x")
  # quasi-complete: a binary marker present only in events
  bw <- birthwt_qsep()
  d <- radnomo:::detect_separation(cbind("(Intercept)" = 1, lwt = bw$lwt, qsep = bw$qsep), bw$low)
  expect_true(d$separated)
  expect_true("qsep" %in% d$infinite)
  expect_false("lwt" %in% d$infinite)
  # overlap: glm converges with finite estimates
  d <- radnomo:::detect_separation(cbind(1, lwt = bw$lwt, age = bw$age), bw$low)
  expect_false(d$separated)
  expect_equal(d$objective, 0)
  # overlap at a single point (x = 5 in both classes) is not separation
  d <- radnomo:::detect_separation(cbind(1, x = c(1:5, 5:9)), rep(0:1, each = 5))
  expect_true(d$separated) # x = 5 tied: quasi-complete separation, MLE infinite
  d <- radnomo:::detect_separation(cbind(1, x = c(1:5, 4:8)), rep(0:1, each = 5))
  expect_false(d$separated)
})

test_that("score_model, clinical_logistic and fit_nomogram give Firth's estimates under separation", {
  bw <- birthwt_qsep()
  ref <- stats::glm(low ~ lwt + qsep, data = bw, family = stats::binomial(), method = brglm2::brglmFit,
                    type = "AS_mean")
  b_ref <- unname(stats::coef(ref))
  se_ref <- unname(sqrt(diag(stats::vcov(ref))))

  r <- collect_warnings(score_model(bw, bw$low, c("lwt", "qsep")))
  expect_length(separation_warnings(r$warnings), 1L)
  expect_match(conditionMessage(separation_warnings(r$warnings)[[1]]), "score model.*'qsep'.*Firth")
  expect_equal(r$value$coefficients$estimate, b_ref, tolerance = 1e-8)
  expect_equal(r$value$coefficients$std_error, se_ref, tolerance = 1e-8)
  expect_equal(r$value$separation$method, "firth")
  expect_true(r$value$separation$separation)

  r <- collect_warnings(clinical_logistic(bw, "low", c("lwt", "qsep"), alpha = 1))
  # one for the univariable screen of qsep, one for the multivariable Firth refit
  expect_length(separation_warnings(r$warnings), 2L)
  expect_equal(r$value$multivariable$estimate, b_ref[-1], tolerance = 1e-8)
  expect_equal(r$value$separation$method, "firth")
  expect_equal(unname(predict(r$value, bw, type = "link")), unname(stats::predict(ref, bw)), tolerance = 1e-8)

  r <- collect_warnings(fit_nomogram(bw, "low", c("lwt", "qsep")))
  expect_length(separation_warnings(r$warnings), 1L)
  nm <- r$value
  expect_equal(nm$coefficients$estimate, b_ref, tolerance = 1e-8)
  expect_equal(nm$coefficients$std_error, se_ref, tolerance = 1e-8)
  expect_equal(unname(predict(nm, bw, type = "link")), unname(stats::predict(ref, bw)), tolerance = 1e-8)
  expect_equal(nm$fit$radnomo_method, "firth")
  # the drawn nomogram is the Firth model: points map back to its linear predictor
  pts <- predict(nm, bw, type = "points")
  expect_equal(nm$points_intercept + pts / nm$points_scale, unname(stats::predict(ref, bw)), tolerance = 1e-8)
  # qsep = 1 is no longer worth 100 points of a 10.7 coefficient
  expect_lt(max(nm$coefficients$estimate), 5)
})

test_that("Firth fits that overshoot with full steps are refitted with half steps and converge", {
  # a bootstrap resample of birthwt_qsep on which brglmFit's default full
  # steps diverge (qsep coefficient ~5e14) although Firth's estimate is finite
  bw <- birthwt_qsep()
  set.seed(1)
  j <- sample(nrow(bw), replace = TRUE)
  x <- cbind(Intercept = 1, lwt = bw$lwt[j], qsep = bw$qsep[j])
  y <- bw$low[j]
  naive <- suppressWarnings(stats::glm(y ~ 0 + x, family = stats::binomial(), method = brglm2::brglmFit))
  expect_false(naive$converged)
  ref <- suppressWarnings(stats::glm(y ~ 0 + x, family = stats::binomial(), method = brglm2::brglmFit,
                                     control = brglm2::brglmControl(maxit = 1000, slowit = 0.5)))
  expect_true(ref$converged)
  ff <- radnomo:::firth_fit_matrix(x, y)
  expect_true(ff$converged)
  expect_equal(unname(ff$coefficients), unname(stats::coef(ref)), tolerance = 1e-8)
  expect_lt(max(abs(ff$coefficients)), 10)
})

test_that("separation = 'error' stops with a classed error; 'warn' keeps maximum likelihood", {
  bw <- birthwt_qsep()
  expect_error(score_model(bw, bw$low, c("lwt", "qsep"), separation = "error"), class = "radnomo_separation")
  expect_error(fit_nomogram(bw, "low", c("lwt", "qsep"), separation = "error"), class = "radnomo_separation")
  expect_error(suppressWarnings(clinical_logistic(bw, "low", c("lwt", "qsep"), alpha = 1, separation = "error")),
               class = "radnomo_separation")
  r <- collect_warnings(score_model(bw, bw$low, c("lwt", "qsep"), separation = "warn"))
  expect_length(separation_warnings(r$warnings), 1L)
  ml <- suppressWarnings(stats::glm(low ~ lwt + qsep, data = bw, family = stats::binomial()))
  expect_equal(r$value$coefficients$estimate, unname(stats::coef(ml)), tolerance = 1e-8)
  expect_equal(r$value$separation$method, "ml")
})

test_that("no separation: maximum likelihood unchanged, no warning, method 'ml'", {
  bw <- MASS::birthwt
  expect_silent(sc <- score_model(bw, bw$low, c("lwt", "age")))
  ml <- stats::glm(low ~ lwt + age, data = bw, family = stats::binomial())
  expect_equal(sc$coefficients$estimate, unname(stats::coef(ml)), tolerance = 1e-10)
  expect_identical(sc$separation$method, "ml")
  expect_silent(nm <- fit_nomogram(bw, "low", c("lwt", "age")))
  expect_identical(nm$separation$method, "ml")
})

test_that("bootstrap calibration equals rms::calibrate without separation, and refits Firth under it", {
  data(aSAH, package = "pROC", envir = environment())
  d <- data.frame(y = as.integer(aSAH$outcome == "Poor"), s100b = aSAH$s100b, age = aSAH$age)
  nm <- fit_nomogram(d, "y", c("s100b", "age"))
  cal <- calibration(d$y, predict(nm, d), fit = nm, B = 40, seed = 3)
  set.seed(3)
  ref <- unclass(rms::calibrate(nm$fit, method = "boot", B = 40))
  expect_equal(cal$bootstrap$predicted, unname(ref[, "predy"]), tolerance = 1e-12)
  expect_equal(cal$bootstrap$apparent, unname(ref[, "calibrated.orig"]), tolerance = 1e-12)
  expect_equal(cal$bootstrap$bias_corrected, unname(ref[, "calibrated.corrected"]), tolerance = 1e-10)
  expect_equal(unname(cal$bootstrap_resamples[c("requested", "firth")]), c(40L, 0L))

  bw <- birthwt_qsep()
  nm2 <- suppressWarnings(fit_nomogram(bw, "low", c("lwt", "qsep")))
  cal2 <- calibration(bw$low, predict(nm2, bw), fit = nm2, B = 30, seed = 1)
  # qsep = 1 has no non-events, so every resample separates and is refitted with Firth
  expect_equal(unname(cal2$bootstrap_resamples["firth"]), 30L)
  expect_equal(unname(cal2$bootstrap_resamples["failed"]), 0L)
  expect_true(all(is.finite(cal2$bootstrap$bias_corrected[-c(1, 50)])))
  expect_true(all(cal2$bootstrap$bias_corrected > -0.2 & cal2$bootstrap$bias_corrected < 1.2, na.rm = TRUE))
})

test_that("fit_study completes on data that separate, with each policy, and records what it did", {
  d <- separating_study()
  tr <- d[1:30, ]
  te <- d[31:42, ]
  args <- list(train = tr, test = te, radiomics = grep("^rad", names(d), value = TRUE),
               deep = grep("^dl", names(d), value = TRUE), clinical = c("age", "sex"),
               clinical_alpha = 0.5, B = 20)
  # precondition: the plain refit of the DL score diverges on these data
  expect_error(suppressWarnings(do.call(fit_study, c(args, separation = "error"))),
               class = "radnomo_separation")

  r <- collect_warnings(do.call(fit_study, c(args, separation = "firth")))
  st <- r$value
  sw <- vapply(separation_warnings(r$warnings), conditionMessage, "")
  expect_true(any(grepl("^The DL score refit .*Firth", sw)))
  expect_true(any(grepl("^The nomogram model .*Firth", sw)))
  expect_identical(st$fits$model, c("rad_score", "dl_score", "clinical", "nomogram"))
  expect_identical(st$fits$method[st$fits$model == "dl_score"], "firth")
  expect_true(all(st$fits$note[st$fits$method == "firth"] != ""))
  expect_true(all(is.finite(st$nomogram$coefficients$estimate)))
  expect_lt(max(abs(st$nomogram$coefficients$estimate)), 30)
  expect_true(all(c("train", "test") %in% st$metrics$set))
  # the DL score is the Firth fit on the selected principal components
  z <- transform_features(st$selection_dl, tr)
  ref <- stats::glm(stats::reformulate(st$selection_dl$selected, ".y"),
                    data = cbind(as.data.frame(z), .y = tr$label), family = stats::binomial(),
                    method = brglm2::brglmFit, type = "AS_mean")
  expect_equal(st$dl_score$coefficients$estimate, unname(stats::coef(ref)), tolerance = 1e-8)
  # predictions of the saved (stripped) study reproduce the penalised fits
  p <- predict(strip_study(st), te)
  expect_equal(p$nomogram, st$scores$nomogram[st$scores$set == "test"], tolerance = 1e-12)

  r <- collect_warnings(do.call(fit_study, c(args, separation = "lasso")))
  st2 <- r$value
  expect_identical(st2$fits$method[st2$fits$model == "dl_score"], "lasso")
  expect_s3_class(st2$dl_score, "radnomo_lasso_score")
  sw <- vapply(separation_warnings(r$warnings), conditionMessage, "")
  expect_true(any(grepl("^The DL score refit .*LASSO linear predictor", sw)))
  expect_equal(st2$dl_score$beta, stats::setNames(st2$selection_dl$coefficients$coefficient[-1],
                                                  st2$selection_dl$selected))
})

test_that("a test set with a single outcome class is kept but not evaluated, with a named warning", {
  s <- simulate_study(n = 120, seed = 3)
  tr <- s[1:100, ]
  te <- s[101:120, ]
  te <- te[te$label == 0, ]
  r <- collect_warnings(fit_study(tr, te, radiomics = grep("^rad", names(s), value = TRUE),
                                  clinical = "age", clinical_alpha = 0.2, B = 20))
  st <- r$value
  expect_true(any(vapply(r$warnings, inherits, TRUE, "radnomo_degenerate_set")))
  expect_setequal(unique(st$metrics$set), "train")
  expect_equal(sum(st$scores$set == "test"), nrow(te))
  expect_null(st$calibration$test)
})

test_that("nothing selected in any block: a study without models, a named warning, no error", {
  set.seed(12)
  n <- 60
  d <- data.frame(patient_id = sprintf("N%02d", seq_len(n)), label = rep(0:1, length.out = n),
                  age = stats::rnorm(n, 60, 8))
  x <- matrix(stats::rnorm(n * 15), n, dimnames = list(NULL, sprintf("rad%02d", 1:15)))
  d <- cbind(d, x)
  r <- collect_warnings(fit_study(d[1:40, ], d[41:60, ], radiomics = colnames(x), clinical = "age",
                                  mwu_alpha = 1e-6, clinical_alpha = 1e-6, B = 10))
  st <- r$value
  expect_true(any(vapply(r$warnings, inherits, TRUE, "radnomo_no_model")))
  expect_null(st$nomogram)
  expect_null(st$metrics)
  expect_equal(nrow(st$fits), 0L)
  expect_true(all(is.na(st$scores$nomogram)))
  expect_output(print(st), "No model")
  expect_true(all(is.na(predict(st, d[41:60, ])$nomogram)))
})

test_that("a Firth-refitted nomogram's lrm prints, and says what does not apply", {
  bw <- birthwt_qsep()
  nm <- suppressWarnings(fit_nomogram(bw, "low", c("lwt", "qsep")))
  expect_s3_class(nm$fit, "radnomo_firth_lrm")
  expect_s3_class(nm$fit, "lrm")
  out <- utils::capture.output(print(nm$fit))
  expect_match(out[1], "Firth")
  expect_equal(unname(stats::predict(nm$fit, bw)), predict(nm, bw, type = "link"), tolerance = 1e-12)
})
