test_that("calibration slope and Brier match rms::val.prob; intercept solves its score equation", {
  d <- read_asah()
  # a deliberately mis-calibrated risk: shrunk logit of s100b-based glm
  ref_fit <- glm(y ~ s100b + age, data = d, family = binomial)
  risk <- plogis(0.3 + 1.4 * predict(ref_fit))
  cal <- calibration(d$y, risk)
  vp <- rms::val.prob(risk, d$y, pl = FALSE)   # reference: rms' logistic recalibration
  expect_equal(cal$stats$slope, unname(vp["Slope"]), tolerance = 1e-6)
  expect_equal(cal$stats$brier, unname(vp["Brier"]), tolerance = 1e-10)
  # calibration-in-the-large: a solves sum(y - plogis(a + logit(risk))) = 0
  a <- uniroot(function(a) sum(d$y - plogis(a + qlogis(risk))), c(-5, 5), tol = 1e-12)$root
  expect_equal(cal$stats$intercept, a, tolerance = 1e-7)
  expect_true(cal$stats$slope_lower < cal$stats$slope && cal$stats$slope < cal$stats$slope_upper)
  # closed form: apparent risks of a logistic MLE have slope 1 and intercept 0
  app <- calibration(d$y, fitted(ref_fit))
  expect_equal(app$stats$slope, 1, tolerance = 1e-8)
  expect_equal(app$stats$intercept, 0, tolerance = 1e-8)
  expect_null(cal$bootstrap)
  expect_true(is.na(cal$mean_absolute_error))
})

test_that("calibration intercept is finite and right when some risks are exactly 0 or 1", {
  y <- c(0, 0, 1, 1, 0, 1, 0, 1, 0, 1)
  risk <- c(0, 0, 0, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 1)   # an event at risk 0
  cal <- suppressWarnings(calibration(y, risk, groups = 3), classes = "radnomo_small_sample")
  # reference: root of the intercept's score equation with the documented
  # clamping to [1e-12, 1 - 1e-12] (glm's default start diverged to 2.25e15)
  lg <- qlogis(pmin(pmax(risk, 1e-12), 1 - 1e-12))
  a <- uniroot(function(a) sum(y - plogis(a + lg)), c(-50, 50), tol = 1e-12)$root
  expect_equal(cal$stats$intercept, a, tolerance = 1e-7)
  expect_true(is.finite(cal$stats$intercept_lower) && is.finite(cal$stats$intercept_upper))
})

test_that("grouped curve and Hosmer-Lemeshow match a hand computation", {
  risk <- seq(0.05, 0.95, length.out = 30)
  y <- c(0, 0, 0, 1, 0, 0, 0, 0, 1, 0,  0, 1, 0, 1, 1, 0, 0, 1, 0, 1,  1, 1, 0, 1, 1, 1, 1, 1, 0, 1)
  cal <- calibration(y, risk, groups = 3)
  grp <- rep(1:3, each = 10)
  expect_identical(cal$curve$n, c(10L, 10L, 10L))
  O <- as.vector(tapply(y, grp, sum)); E <- as.vector(tapply(risk, grp, sum))
  expect_equal(cal$curve$observed, unname(O / 10))
  expect_equal(cal$curve$predicted, unname(E / 10))
  # Clopper-Pearson via beta quantiles
  expect_equal(cal$curve$lower, unname(qbeta(0.025, O, 10 - O + 1)), tolerance = 1e-8)
  expect_equal(cal$curve$upper, unname(qbeta(0.975, O + 1, 10 - O)), tolerance = 1e-8)
  hl <- sum((O - E)^2 / (E * (1 - E / 10)))
  expect_equal(cal$stats$hl_statistic, hl)
  expect_identical(cal$stats$hl_df, 1L)
  expect_equal(cal$stats$hl_p, pchisq(hl, 1, lower.tail = FALSE))
  expect_error(calibration(y, risk * 2), "probabilities")
  expect_error(calibration(y[-1], risk), "values but the outcome")
})

test_that("bootstrap calibration is seeded, reproducible and plotted", {
  d <- read_asah()
  nom <- fit_nomogram(d, "y", c("s100b", "age"))
  risk <- predict(nom, d)
  a <- calibration(d$y, risk, fit = nom, B = 30, seed = 3)
  b <- calibration(d$y, risk, fit = nom$fit, B = 30, seed = 3)
  expect_identical(a$bootstrap, b$bootstrap)
  expect_named(a$bootstrap, c("predicted", "apparent", "bias_corrected", "ideal"))
  # reference: rms::calibrate called directly with the same seed
  set.seed(3)
  ref <- rms::calibrate(nom$fit, method = "boot", B = 30)
  expect_equal(a$bootstrap$bias_corrected, unname(ref[, "calibrated.corrected"]))
  expect_true(a$mean_absolute_error >= 0 && a$mean_absolute_error < 0.2)
  # reference: the "Mean absolute error" rms itself prints for this calibrate
  # object (rounded to 3 decimals by rms; 0.024 here, extrapolating gives 0.025)
  printed <- utils::capture.output(rms:::print.calibrate.default(ref))
  rms_mae <- as.numeric(sub(".*Mean absolute error=([0-9.]+).*", "\\1",
                            grep("Mean absolute error=", printed, value = TRUE)))
  expect_equal(round(a$mean_absolute_error, 3), rms_mae)
  expect_error(calibration(d$y[1:50], risk[1:50], fit = nom, B = 5), "fitted on 113")
  f <- tempfile(fileext = ".png")
  plot_calibration(a, f, title = "Training set")
  expect_gt(file.size(f), 5000)
})

test_that("validation = TRUE gives the Hosmer-Lemeshow test G degrees of freedom", {
  # Hosmer, Lemeshow & Sturdivant (2013), section 5.2.2: for risks from a model
  # fitted elsewhere the statistic is referred to chi-squared with G df.
  set.seed(8)
  risk <- runif(150, 0.02, 0.9)
  y <- rbinom(150, 1, risk)
  dev <- calibration(y, risk, groups = 8)$stats
  val <- calibration(y, risk, groups = 8, validation = TRUE)$stats
  expect_equal(val$hl_statistic, dev$hl_statistic)
  expect_identical(dev$hl_df, 6L)
  expect_identical(val$hl_df, 8L)
  expect_equal(val$hl_p, pchisq(dev$hl_statistic, 8, lower.tail = FALSE), tolerance = 1e-14)
  expect_error(calibration(y, risk, validation = NA), "validation")
})

test_that("optimism-corrected Dxy, intercept, slope and Brier equal rms::validate (pROC aSAH)", {
  data(aSAH, package = "pROC", envir = environment())
  d <- data.frame(y = as.integer(aSAH$outcome == "Poor"), s100b = aSAH$s100b, age = aSAH$age)
  nm <- fit_nomogram(d, "y", c("s100b", "age"))
  cal <- calibration(d$y, predict(nm, d), fit = nm, B = 40, seed = 3)
  set.seed(3)
  v <- unclass(rms::validate(nm$fit, method = "boot", B = 40))
  oc <- cal$optimism_corrected
  expect_identical(oc$index, c("Dxy", "c", "recalibration_intercept", "slope", "brier"))
  expect_equal(oc$corrected[oc$index == "Dxy"], v["Dxy", "index.corrected"], tolerance = 1e-8)
  expect_equal(oc$corrected[oc$index == "recalibration_intercept"], v["Intercept", "index.corrected"], tolerance = 1e-6)
  expect_equal(oc$corrected[oc$index == "slope"], v["Slope", "index.corrected"], tolerance = 1e-6)
  expect_equal(oc$corrected[oc$index == "brier"], v["B", "index.corrected"], tolerance = 1e-8)
  expect_equal(oc$corrected[oc$index == "c"], (v["Dxy", "index.corrected"] + 1) / 2, tolerance = 1e-8)
  # apparent slope/intercept are 1 and 0 for a maximum-likelihood fit on its own data
  expect_equal(oc$apparent[oc$index == "slope"], 1, tolerance = 1e-6)
})

test_that("calibration warns on tiny risk groups and refuses risks that are not the fit's own", {
  set.seed(4)
  risk <- stats::runif(15)
  y <- c(0, 1, rbinom(13, 1, risk[-(1:2)]))
  expect_warning(calibration(y, risk), class = "radnomo_small_sample")
  d <- data.frame(y = y, x = stats::qlogis(risk) + stats::rnorm(15))
  d2 <- MASS::birthwt
  nm <- fit_nomogram(d2, "low", c("lwt", "age"))
  other <- stats::fitted(stats::glm(low ~ smoke, stats::binomial(), d2))
  expect_error(calibration(d2$low, other, fit = nm, B = 5), "not the predicted risk of 'fit'")
})

test_that("calibration's messages name the user's outcome, not 'y'", {
  d <- read_asah()
  d$outcome <- factor(ifelse(d$y == 1, "Poor", "Good"), levels = c("Good", "Poor"))
  nm <- fit_nomogram(d, "y", c("s100b", "age"))
  expect_message(calibration(d$outcome, predict(nm, d)), "^Outcome 'd\\$outcome': event = 'Poor'",
                 class = "radnomo_event_level")
  # a different outcome than the fit's: the error names it
  expect_error(calibration(rev(d$y), predict(nm, d), fit = nm, B = 5, outcome_name = "outcome"),
               "^The outcome 'outcome' is not the one 'fit' was fitted on", class = "radnomo_input_error")
})

test_that("print says 1 and 0 by construction only for a maximum-likelihood fit, not for Firth's", {
  d <- MASS::birthwt
  ml <- fit_nomogram(d, "low", c("lwt", "ht"))
  out_ml <- capture.output(print(calibration(d$low, predict(ml, d), fit = ml, B = 20, seed = 1)))
  expect_true(any(grepl("1 and 0 by construction", out_ml)))
  d$marker <- as.integer(d$low == 1 & d$ptl > 0)  # 1 only in events: quasi-complete separation
  fi <- suppressWarnings(fit_nomogram(d, "low", c("lwt", "marker", "ht")))
  expect_identical(fi$fit$radnomo_method, "firth")
  cal <- suppressWarnings(calibration(d$low, predict(fi, d), fit = fi, B = 20, seed = 1))
  expect_false(isTRUE(all.equal(cal$stats$slope, 1)))  # the apparent slope is not 1 here
  out_fi <- capture.output(print(cal))
  expect_false(any(grepl("by construction", out_fi)))
  expect_true(any(grepl("Firth", out_fi)))
})
