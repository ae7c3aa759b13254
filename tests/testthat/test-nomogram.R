test_that("nomogram points reproduce the logistic linear predictor", {
  d <- read_asah()
  nom <- fit_nomogram(d, "y", c("s100b", "age", "gender"))
  # reference: the same model by stats::glm (identical MLE)
  ref <- glm(y ~ s100b + age + gender, data = d, family = binomial)
  expect_equal(nom$coefficients$estimate, unname(coef(ref)), tolerance = 1e-6)
  expect_equal(nom$coefficients$or_lower, unname(exp(confint.default(ref)[, 1])), tolerance = 1e-5)
  expect_equal(predict(nom, d), unname(fitted(ref)), tolerance = 1e-6)
  # Sum of axis points for a patient on axis ticks -> risk via the total-points axis
  p <- nom$points
  s_ax <- p[p$variable == "s100b", ]; a_ax <- p[p$variable == "age", ]; g_ax <- p[p$variable == "gender", ]
  nd <- data.frame(s100b = s_ax$value_numeric[3], age = a_ax$value_numeric[2], gender = "Male")
  total <- s_ax$points[3] + a_ax$points[2] + g_ax$points[g_ax$value == "Male"]
  expect_equal(predict(nom, nd, type = "points"), total, tolerance = 1e-8)
  lp_ref <- sum(coef(ref) * c(1, nd$s100b, nd$age, 1))
  expect_equal(predict(nom, nd, type = "link"), lp_ref, tolerance = 1e-6)
  # total-points axis maps to risk consistently with plogis(lp)
  tp <- nom$total_points
  expect_equal(tp$risk, plogis(nom$points_intercept + tp$total_points / nom$points_scale))
  expect_equal(plogis(nom$points_intercept + total / nom$points_scale), plogis(lp_ref), tolerance = 1e-6)
  # the widest axis spans 0..100 points
  expect_equal(max(tapply(p$points, p$variable, function(v) diff(range(v)))), 100, tolerance = 1e-8)
  expect_null(getOption("datadist"))
})

test_that("plot_nomogram writes png/pdf/svg files and predict validates input", {
  d <- read_asah()
  nom <- fit_nomogram(d, "y", c("s100b", "wfns"))
  for (ext in c("png", "pdf", "svg")) {
    f <- tempfile(fileext = paste0(".", ext))
    plot_nomogram(nom, f)
    expect_gt(file.size(f), 1000)
  }
  expect_error(plot_nomogram(nom, tempfile(fileext = ".gif")), "png, .pdf or .svg")
  expect_error(predict(nom, d[, "s100b", drop = FALSE]), "wfns")
  expect_error(fit_nomogram(d, "y", c("s100b", "nope")), "nope")
})

test_that("fit_nomogram takes a formula with rms terms and interactions (MASS::birthwt)", {
  bw <- MASS::birthwt
  nm <- fit_nomogram(bw, low ~ rcs(age, 3) + lwt + smoke, title = "Low birth weight")
  ref <- rms::lrm(low ~ rms::rcs(age, 3) + lwt + smoke, data = bw)
  expect_equal(unname(coef(nm)), unname(stats::coef(ref)), tolerance = 1e-8)
  expect_equal(predict(nm, bw, type = "link"), unname(stats::predict(ref, bw, type = "lp")), tolerance = 1e-8)
  expect_identical(nm$predictors, c("age", "lwt", "smoke"))
  expect_identical(unique(nm$points$variable), c("age", "lwt", "smoke"))
  expect_identical(nm$title, "Low birth weight")
  nm2 <- fit_nomogram(bw, low ~ age * smoke + lwt)
  ref2 <- stats::glm(low ~ age * smoke + lwt, stats::binomial(), bw)
  expect_equal(predict(nm2, bw), unname(stats::fitted(ref2)), tolerance = 1e-6)
  expect_error(fit_nomogram(bw, low ~ age, c("lwt")), "either a formula")
  f <- plot_nomogram(nm, tempfile(fileext = ".png"))
  expect_gt(file.size(f), 5000)
})
