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
