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

# The texts a drawing puts on the device (from its recorded display list)
drawn_text <- function(draw) {
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  grDevices::dev.control("enable")
  draw()
  dl <- grDevices::recordPlot()[[1L]]
  unlist(lapply(dl, function(e) Filter(is.character, as.list(e[[2L]]))), use.names = FALSE)
}

test_that("the drawn nomogram labels its axes with the given display labels", {
  d <- read_asah()
  nom <- fit_nomogram(d, "y", c("s100b", "age", "gender"),
                      labels = c(s100b = "S100B (ug/L)", gender = "Sex", not_a_term = "ignored"))
  expect_identical(nom$labels, c(s100b = "S100B (ug/L)", age = "age", gender = "Sex"))
  txt <- drawn_text(function() plot(nom))
  expect_true(all(c("S100B (ug/L)", "age", "Sex") %in% txt))
  expect_false(any(c("s100b", "gender", "ignored") %in% txt))
  # plot(labels =) overrides; the points table keeps the term names
  txt2 <- drawn_text(function() plot(nom, labels = c(age = "Age (years)")))
  expect_true(all(c("Age (years)", "s100b", "gender") %in% txt2))
  # a named list of strings (a Python dict through the bridge) works too
  expect_true("S100B, list" %in% drawn_text(function() plot(nom, labels = list(s100b = "S100B, list"))))
  expect_setequal(unique(nom$points$variable), c("s100b", "age", "gender"))
  # without labels the drawing is unchanged (term names)
  plain <- fit_nomogram(d, "y", c("s100b", "age", "gender"))
  expect_true(all(c("s100b", "age", "gender") %in% drawn_text(function() plot(plain))))
  expect_equal(plain$coefficients, nom$coefficients)
  # plot_nomogram(labels =) writes the file; bad labels are input errors
  f <- tempfile(fileext = ".png")
  expect_identical(plot_nomogram(nom, f, labels = c(s100b = "S100B")), f)
  expect_error(fit_nomogram(d, "y", c("s100b", "age"), labels = c(s100b = "X", age = "X")), "must differ",
               class = "radnomo_input_error")
  expect_error(fit_nomogram(d, "y", c("s100b", "age"), labels = c("X", "Y")), "named",
               class = "radnomo_input_error")
  # fit_study passes its labels to the nomogram
  s <- simulate_study(n = 160)
  st <- fit_study(s, radiomics = grep("^rad", names(s), value = TRUE), clinical = "age", clinical_alpha = 1,
                  B = 10, labels = c(rad_score = "Rad score", age = "Age (years)", dl_score = "DL score"))
  expect_identical(st$nomogram$predictors, c("rad_score", "age"))
  txt3 <- drawn_text(function() plot(st$nomogram))
  expect_true(all(c("Rad score", "Age (years)") %in% txt3))
  expect_false(any(c("rad_score", "age") %in% txt3))
})

test_that("risk-axis ticks lie within the reachable risks and are spaced when one predictor dominates", {
  set.seed(3)
  n <- 300
  d <- data.frame(dl_score = rnorm(n, 0, 3), age = rnorm(n, 60, 10), sex = sample(c("F", "M"), n, TRUE))
  d$y <- rbinom(n, 1, plogis(1.5 * d$dl_score + 0.01 * (d$age - 60)))
  nom <- fit_nomogram(d, "y", c("dl_score", "age", "sex"))
  # reference: risks and total points at every corner of the nomogram's axes, by rms' predict
  p <- nom$points
  corners <- expand.grid(dl_score = range(p$value_numeric[p$variable == "dl_score"]),
                         age = range(p$value_numeric[p$variable == "age"]),
                         sex = p$value[p$variable == "sex"], stringsAsFactors = FALSE)
  reach <- range(predict(nom, corners))
  span <- diff(range(predict(nom, corners, type = "points")))
  ticks <- nom$risk_ticks
  expect_gte(length(ticks), 3L)
  expect_true(all(ticks >= reach[1] & ticks <= reach[2]))
  # where rms put them on the total-points axis: exactly at sc * (logit(risk) - a)
  at <- nom$nomogram$Risk$x
  expect_equal(nom$nomogram$Risk$x.real, ticks, tolerance = 1e-12)
  expect_equal(at, nom$points_scale * (qlogis(ticks) - nom$points_intercept), tolerance = 1e-8)
  # neighbouring labels at least 8% of the axis apart (rms' default 0.1, ..., 0.9 were < 2%)
  expect_true(all(diff(sort(at)) >= 0.08 * span - 1e-8))
  # an ordinary nomogram keeps the familiar ticks
  nom2 <- fit_nomogram(read_asah(), "y", c("s100b", "age", "gender"))
  expect_true(all(c(0.1, 0.5, 0.9) %in% nom2$risk_ticks))
  expect_true(all(diff(sort(nom2$nomogram$Risk$x)) >= 0.08 * sum(tapply(nom2$points$points, nom2$points$variable, max)) - 1e-8))
})

test_that("the Total Points axis covers every reachable total, and labels change only the axis names (MASS::birthwt)", {
  d <- MASS::birthwt
  nom <- fit_nomogram(d, "low", c("lwt", "ptl", "ht", "ui"))
  # reference: the largest total a patient can reach, by rms' predict at the axes' extreme values
  p <- nom$points
  best <- vapply(c("lwt", "ptl", "ht", "ui"), function(v) {
    q <- p[p$variable == v, ]
    q$value_numeric[which.max(q$points)]
  }, numeric(1))
  top <- predict(nom, as.data.frame(as.list(best)), type = "points")
  tp <- nom$nomogram$total.points$x
  expect_gte(max(tp), top)                  # rms' default axis stopped at 200 here (observed totals)
  expect_gte(max(nom$total_points$total_points), top)
  expect_true(all(nom$nomogram$Risk$x <= max(tp) & nom$nomogram$Risk$x >= 0))  # every risk tick on the axis
  expect_true(all(nom$nomogram$lp$x >= -1e-8 & nom$nomogram$lp$x <= max(tp)))
  # display labels: same axes (values and points) as without them, for counts and 0/1 predictors too
  lab <- fit_nomogram(d, "low", c("lwt", "ptl", "ht", "ui"), labels = c(ht = "Hypertension"))
  a <- nomogram_drawing(nom, NULL)
  b <- nomogram_drawing(lab, NULL)
  axes <- function(n) lapply(unclass(n)[1:4], function(z) list(values = z[[1]], points = z$points))
  expect_equal(axes(b), axes(a), ignore_attr = TRUE)
  expect_equal(as.numeric(b[[2]][[1]]), c(0, 1, 2, 3))  # ptl: 0-3, not 0, 0.5, ..., 3
  expect_equal(as.numeric(b[[3]][[1]]), c(0, 1))        # ht: 0/1, not "0-0"
  expect_equal(b$total.points$x, a$total.points$x)
})

test_that("level_labels name a categorical axis' values in the drawing only", {
  d <- MASS::birthwt
  d$race <- factor(d$race, labels = c("white", "black", "other"))
  nom <- fit_nomogram(d, "low", c("lwt", "ht", "race"))
  txt <- drawn_text(function() plot(nom, labels = c(ht = "Hypertension"),
                                    level_labels = list(ht = c("0" = "No", "1" = "Yes"),
                                                        race = list(white = "White", black = "Black"),
                                                        not_a_term = c("1" = "x"))))
  expect_true(all(c("No", "Yes", "White", "Black", "other", "Hypertension") %in% txt))
  expect_false("white" %in% txt)  # ("black" is also a colour name in the display list)
  # the same positions: the stored points table and the axis points are unchanged
  a <- nomogram_drawing(nom, NULL)
  b <- name_axis_values(a, check_level_labels(list(ht = c("0" = "No", "1" = "Yes")), nom$predictors))
  expect_equal(b[["ht"]]$points, a[["ht"]]$points)
  expect_identical(b[["ht"]][["ht"]], c("No", "Yes"))
  f <- tempfile(fileext = ".png")
  expect_identical(plot_nomogram(nom, f, level_labels = list(ht = c("0" = "No", "1" = "Yes"))), f)
  expect_error(plot_nomogram(nom, f, level_labels = list(ht = c("No", "Yes"))), "named character",
               class = "radnomo_input_error")
})
