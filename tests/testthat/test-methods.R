# print / summary / coef / nobs / predict-without-newdata / plot methods.
# References: stats::glm and rms::lrm on MASS::birthwt; rms::val.prob on MASS::Pima.te.

test_that("coef, nobs and training predictions agree with glm / lrm (MASS::birthwt)", {
  bw <- MASS::birthwt
  ref <- stats::glm(low ~ lwt + smoke, stats::binomial(), bw)
  cl <- clinical_logistic(bw, "low", c("lwt", "smoke"), alpha = 1)
  expect_equal(coef(cl), stats::coef(ref), tolerance = 1e-10)
  expect_identical(nobs(cl), 189L)
  expect_equal(predict(cl), unname(stats::fitted(ref)), tolerance = 1e-10)
  sc <- score_model(bw, bw$low, c("lwt", "smoke"))
  expect_equal(unname(coef(sc)), unname(stats::coef(ref)), tolerance = 1e-10)
  expect_equal(predict(sc), unname(stats::predict(ref)), tolerance = 1e-10)
  expect_identical(nobs(sc), 189L)
  nm <- fit_nomogram(bw, "low", c("lwt", "smoke"))
  expect_equal(unname(coef(nm)), unname(stats::coef(ref)), tolerance = 1e-6)
  expect_equal(predict(nm), unname(stats::fitted(ref)), tolerance = 1e-6)
  expect_equal(predict(nm, type = "points"), predict(nm, bw, type = "points"), tolerance = 1e-10)
  expect_identical(nobs(nm), 189L)
  st <- fit_study(cbind(patient_id = seq_len(189), bw), outcome = "low", clinical = c("lwt", "smoke"),
                  clinical_alpha = 0.5, B = 10)
  expect_identical(nobs(st), 189L)
  expect_equal(predict(st)$nomogram, predict(st, cbind(patient_id = seq_len(189), bw))$nomogram)
  stripped <- strip_study(st)
  expect_error(predict(stripped), "stripped")
  expect_error(predict(stripped$clinical), "stripped")
})

test_that("print methods are compact and say what was fitted", {
  bw <- MASS::birthwt
  cl <- clinical_logistic(bw, "low", c("lwt", "smoke"), alpha = 1)
  out <- utils::capture.output(print(cl))
  expect_lt(length(out), 12L)
  expect_match(out[1], "likelihood ratio")
  nm <- fit_nomogram(bw, "low", c("lwt", "smoke"))
  out <- utils::capture.output(print(nm))
  expect_lt(length(out), 12L)
  expect_match(out[1], "maximum likelihood")
  cal <- calibration(bw$low, predict(nm), fit = nm, B = 10, seed = 1)
  out <- utils::capture.output(print(cal))
  expect_lt(length(out), 12L)
  expect_true(any(grepl("Calibration slope", out)))
  set.seed(7)
  bw$qsep <- as.integer(bw$low == 1 & stats::runif(189) < 0.3)
  nm2 <- suppressWarnings(fit_nomogram(bw, "low", c("lwt", "qsep")))
  expect_match(utils::capture.output(print(nm2))[1], "Firth")
})

test_that("plot methods draw on the current device; the file writers are thin wrappers", {
  bw <- MASS::birthwt
  nm <- fit_nomogram(bw, "low", c("lwt", "smoke"))
  cal <- calibration(bw$low, predict(nm), groups = 5)
  dc <- decision_curve(bw$low, list(nomogram = predict(nm)))
  f <- tempfile(fileext = ".pdf")
  grDevices::pdf(f)
  graphics::par(mfrow = c(1, 3))
  expect_invisible(plot(nm))
  expect_invisible(plot(cal, title = "birthwt"))
  expect_invisible(draw_decision_curve(dc))
  expect_identical(graphics::par("mfrow"), c(1L, 3L))
  grDevices::dev.off()
  expect_gt(file.size(f), 5000)
  png <- plot_nomogram(nm, tempfile(fileext = ".png"), title = "Low birth weight")
  expect_gt(file.size(png), 5000)
})

test_that("calibration reports both intercepts: in-the-large and rms::val.prob's recalibration intercept", {
  tr <- MASS::Pima.tr
  te <- MASS::Pima.te
  fit <- stats::glm(type ~ glu + bmi + age, stats::binomial(), tr)
  p <- stats::predict(fit, te, type = "response")
  y <- as.integer(te$type == "Yes")
  cal <- calibration(y, p, validation = TRUE)
  vp <- rms::val.prob(p, y, pl = FALSE)
  expect_equal(cal$stats$recalibration_intercept, unname(vp[["Intercept"]]), tolerance = 1e-6)
  expect_equal(cal$stats$slope, unname(vp[["Slope"]]), tolerance = 1e-6)
  ref <- stats::glm(y ~ 1, offset = stats::qlogis(p), family = stats::binomial())
  expect_equal(cal$stats$intercept, unname(stats::coef(ref)), tolerance = 1e-8)
  expect_false(isTRUE(all.equal(cal$stats$intercept, cal$stats$recalibration_intercept)))
})
