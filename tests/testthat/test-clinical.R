test_that("clinical_logistic matches glm + confint.default and selects by alpha", {
  d <- read_asah()
  d$wfns_f <- factor(d$wfns)
  cl <- clinical_logistic(d, "y", c("age", "gender", "s100b", "ndka"), alpha = 0.05)
  # reference: direct univariable glm calls, Wald CIs from confint.default
  for (v in c("age", "s100b", "ndka")) {
    ref <- glm(reformulate(v, "y"), data = d, family = binomial)
    row <- cl$univariable[cl$univariable$term == v, ]
    expect_equal(row$odds_ratio, unname(exp(coef(ref)[2])), tolerance = 1e-10)
    expect_equal(c(row$or_lower, row$or_upper), unname(exp(confint.default(ref)[2, ])), tolerance = 1e-10)
    expect_equal(row$p_value, unname(summary(ref)$coefficients[2, 4]), tolerance = 1e-10)
  }
  expect_identical(cl$univariable$term[cl$univariable$variable == "gender"], "genderMale")
  uni_p <- setNames(cl$univariable$p_value, cl$univariable$variable)
  expect_identical(cl$selected, names(uni_p)[uni_p < 0.05])
  ref <- glm(reformulate(cl$selected, "y"), data = d, family = binomial)
  expect_equal(cl$multivariable$odds_ratio, unname(exp(coef(ref)[-1])), tolerance = 1e-10)
  expect_equal(cl$multivariable$or_lower, unname(exp(confint.default(ref)[-1, 1])), tolerance = 1e-10)
  expect_equal(predict(cl, d), unname(fitted(ref)), tolerance = 1e-10)
  expect_equal(predict(cl, d, type = "link"), unname(predict(ref)), tolerance = 1e-10)
})

test_that("factor candidates expand to dummies; selection uses the minimum term p", {
  d <- read_asah()
  d$wfns_f <- factor(d$wfns)
  cl <- clinical_logistic(d, "outcome", c("wfns_f", "age"), alpha = 0.05)
  u <- cl$univariable[cl$univariable$variable == "wfns_f", ]
  expect_identical(u$term, paste0("wfns_f", 2:5))
  ref <- glm(I(outcome == "Poor") ~ wfns_f, data = d, family = binomial)
  expect_equal(u$p_value, unname(summary(ref)$coefficients[-1, 4]), tolerance = 1e-10)
  expect_identical("wfns_f" %in% cl$selected, min(u$p_value) < 0.05)
})

test_that("VIF equals car::vif of a linear model with the same design", {
  d <- read_asah()
  cl <- clinical_logistic(d, "y", c("age", "s100b", "ndka", "wfns"), alpha = 1)
  expect_identical(cl$selected, c("age", "s100b", "ndka", "wfns"))
  skip_if_not_installed("car")
  # reference: car::vif on lm (classical VIF = 1 / (1 - R^2))
  ref <- car::vif(lm(y ~ age + s100b + ndka + wfns, data = d))
  expect_equal(cl$vif$vif, unname(ref), tolerance = 1e-10)
  expect_identical(cl$vif$term, names(ref))
})

test_that("clinical_logistic reports problems clearly", {
  d <- read_asah()
  expect_warning(cl <- clinical_logistic(d, "y", c("ndka"), alpha = 1e-6), "No clinical candidate")
  expect_null(cl$fit)
  expect_identical(nrow(cl$multivariable), 0L)
  expect_error(predict(cl, d), "no multivariable fit")
  expect_error(clinical_logistic(d, "y", c("age", "bmi")), "bmi")
  d2 <- d; d2$age[5] <- NA
  expect_error(clinical_logistic(d2, "y", c("age")), "missing values.*age")
  cl <- clinical_logistic(d, "y", c("gender", "s100b"), alpha = 1)
  nd <- d[1:3, ]; nd$gender <- c("Female", "Other", "Male")
  expect_error(predict(cl, nd), "gender.*Other")
  sep <- data.frame(y = rep(0:1, each = 10), a = 1:20)
  expect_warning(expect_warning(clinical_logistic(sep, "y", "a", alpha = 1), "univariable.*separation"), "multivariable.*separation")
})

test_that("a logical candidate predicts on new data (training levels reused)", {
  d <- read_asah()
  d$male <- d$gender == "Male"            # logical candidate
  cl <- clinical_logistic(d, "y", c("male", "s100b"), alpha = 1)
  # reference: the same model by glm with the logical as a 0/1 number
  ref <- glm(y ~ as.numeric(male) + s100b, data = d, family = binomial)
  expect_equal(predict(cl, d), unname(fitted(ref)), tolerance = 1e-10)
  nd <- d[1:4, ]
  nd$male <- as.character(nd$male)        # the same values as text
  expect_equal(predict(cl, nd), unname(fitted(ref))[1:4], tolerance = 1e-10)
})

# --- Statistician's reproductions (issue: silent wrong answers) on real R data ---

test_that("a quasi-separating variable is kept by likelihood-ratio screening, with a warning naming it", {
  bw <- MASS::birthwt
  set.seed(7)
  bw$qsep <- as.integer(bw$low == 1 & stats::runif(189) < 0.3)
  ws <- list()
  cl <- withCallingHandlers(clinical_logistic(bw, "low", c("lwt", "qsep")), warning = function(w) {
    ws[[length(ws) + 1L]] <<- w
    invokeRestart("muffleWarning")
  })
  named <- vapply(ws, function(w) inherits(w, "radnomo_separation") &&
                    grepl("univariable model of 'qsep'", conditionMessage(w)), logical(1))
  expect_true(any(named))
  u <- cl$univariable
  # Wald p collapses towards 1 under separation; the LR test does not, and p_value reports it there
  wald <- summary(suppressWarnings(stats::glm(low ~ qsep, stats::binomial(), bw)))$coefficients["qsep", 4]
  expect_gt(wald, 0.9)
  lr_ref <- stats::anova(stats::glm(low ~ 1, stats::binomial(), bw),
                         suppressWarnings(stats::glm(low ~ qsep, stats::binomial(), bw)), test = "LRT")
  expect_equal(u$lr_p_value[u$variable == "qsep"], lr_ref[["Pr(>Chi)"]][2], tolerance = 1e-10)
  expect_equal(u$p_value[u$variable == "qsep"], lr_ref[["Pr(>Chi)"]][2], tolerance = 1e-10)
  expect_identical(u$p_method[u$variable == "qsep"], "likelihood ratio (separation)")
  expect_identical(u$p_method[u$variable == "lwt"], "Wald")  # not separated: Wald as before
  expect_lt(u$lr_p_value[u$variable == "qsep"], 1e-6)
  expect_true("qsep" %in% cl$selected)
  expect_identical(cl$screening, "likelihood ratio")
  expect_true(u$separation[u$variable == "qsep"])
})

test_that("multi-level factors are screened by one likelihood-ratio test over all their dummies", {
  bw <- MASS::birthwt
  bw$race <- factor(bw$race, labels = c("white", "black", "other"))
  cl <- clinical_logistic(bw, "low", c("race", "lwt"), alpha = 0.08)
  ref <- stats::anova(stats::glm(low ~ race, stats::binomial(), bw), test = "LRT")[["Pr(>Chi)"]][2]
  expect_equal(unique(cl$univariable$lr_p_value[cl$univariable$variable == "race"]), ref, tolerance = 1e-12)
  expect_equal(ref, 0.0817, tolerance = 1e-3)
  # min Wald p over the dummies (0.067) would have let race in at 0.08; the LR test (0.082) does not
  expect_lt(min(cl$univariable$p_value[cl$univariable$variable == "race"]), 0.08)
  expect_false("race" %in% cl$selected)
})

test_that("ordered factors get treatment contrasts (odds ratios against the first level), as in the nomogram", {
  data(aSAH, package = "pROC", envir = environment())
  expect_true(is.ordered(aSAH$wfns))
  cl <- suppressMessages(clinical_logistic(aSAH, "outcome", c("gender", "age", "wfns", "s100b"), alpha = 1))
  expect_identical(cl$multivariable$term[cl$multivariable$variable == "wfns"], paste0("wfns", 2:5))
  d <- aSAH
  d$wfns <- factor(as.character(d$wfns))
  ref <- stats::glm(outcome ~ gender + age + wfns + s100b, stats::binomial(), d)
  expect_equal(cl$multivariable$odds_ratio, unname(exp(stats::coef(ref))[-1]), tolerance = 1e-10)
  nm <- suppressMessages(fit_nomogram(aSAH, "outcome", c("wfns", "s100b")))
  ref2 <- stats::glm(outcome ~ wfns + s100b, stats::binomial(), d)
  expect_equal(nm$coefficients$estimate, unname(stats::coef(ref2)), tolerance = 1e-6)
})

test_that("character outcomes: event = chooses the event, the default is announced", {
  bw <- MASS::birthwt
  bw$cc <- ifelse(bw$low == 1, "case", "control")
  ref <- stats::glm(low ~ lwt + smoke, stats::binomial(), bw)
  expect_message(cl0 <- clinical_logistic(bw, "cc", c("lwt", "smoke")), "event = 'control'",
                 class = "radnomo_event_level")
  expect_equal(cl0$multivariable$estimate, -unname(stats::coef(ref))[-1], tolerance = 1e-8)
  expect_silent(cl <- clinical_logistic(bw, "cc", c("lwt", "smoke"), event = "case"))
  expect_equal(cl$multivariable$estimate, unname(stats::coef(ref))[-1], tolerance = 1e-8)
  expect_error(clinical_logistic(bw, "cc", c("lwt"), event = "Case"), "not a value")
  p <- stats::fitted(ref)
  expect_equal(roc_metrics(bw$cc, p, event = "case")$auc, roc_metrics(bw$low, p)$auc, tolerance = 1e-12)
  expect_message(roc_metrics(bw$cc, p), class = "radnomo_event_level")
  expect_equal(delong_test(bw$cc, list(a = p, b = bw$lwt), event = "case")$auc_1,
               delong_test(bw$low, list(a = p, b = bw$lwt))$auc_1)
  nm <- fit_nomogram(bw, "cc", c("lwt", "smoke"), event = "case")
  expect_equal(nm$coefficients$estimate, unname(stats::coef(ref)), tolerance = 1e-6)
  expect_equal(calibration(bw$cc, p, event = "case")$stats$brier, mean((bw$low - p)^2))
  expect_equal(decision_curve(bw$cc, list(m = p), event = "case")$net_benefit,
               decision_curve(bw$low, list(m = p))$net_benefit)
  sel_ref <- select_features(bw[, c("lwt", "age", "smoke")], bw$low, mwu_alpha = 1, seed = 1, nfolds = 5)
  sel <- select_features(bw[, c("lwt", "age", "smoke")], bw$cc, event = "case", mwu_alpha = 1, seed = 1, nfolds = 5)
  expect_equal(sel$coefficients, sel_ref$coefficients)
})

test_that("fit_nomogram warns and applies Firth under quasi-complete separation (qsep no longer 100 points)", {
  bw <- MASS::birthwt
  set.seed(7)
  bw$qsep <- as.integer(bw$low == 1 & stats::runif(189) < 0.3)
  expect_warning(nm <- fit_nomogram(bw, "low", c("lwt", "qsep")), "nomogram model.*'qsep'", class = "radnomo_separation")
  ml <- suppressWarnings(rms::lrm(low ~ lwt + qsep, data = bw))
  expect_gt(stats::coef(ml)[["qsep"]], 10) # the silent wrong answer: 10.7 (SE 31.8)
  expect_lt(nm$coefficients$estimate[nm$coefficients$term == "qsep"], 5)
})

test_that("a clinical candidate with a single value is left out with a classed warning (not an error)", {
  bw <- MASS::birthwt
  bw$child_pugh <- "A"
  expect_warning(cl <- clinical_logistic(bw, "low", c("lwt", "child_pugh"), alpha = 1), "child_pugh",
                 class = "radnomo_constant_features")
  expect_identical(cl$selected, "lwt")
  expect_false("child_pugh" %in% cl$univariable$variable)
  bw$flat <- 3
  ws <- list()
  cl2 <- withCallingHandlers(clinical_logistic(bw, "low", c("child_pugh", "flat")), warning = function(w) {
    ws[[length(ws) + 1L]] <<- w
    invokeRestart("muffleWarning")
  })
  expect_null(cl2$fit)
  expect_true(any(vapply(ws, inherits, TRUE, "radnomo_nothing_selected")))
})
