test_that("baseline_table formats hand-computable values and uses the right tests", {
  d <- data.frame(
    grp = rep(c("no", "yes"), each = 6),
    age = c(50, 52, 54, 56, 58, 60, 61, 63, 65, 67, 69, 71),
    sex = c("F", "F", "M", "M", "M", "M", "F", "F", "F", "F", "F", "M"),
    stringsAsFactors = FALSE)
  tb <- baseline_table(d, "grp", c("age", "sex"))
  expect_named(tb, c("variable", "level", "summary", "overall", "no", "yes", "p_value", "test"))
  expect_identical(tb$summary, c("mean \u00b1 SD", "n (%)", "n (%)"))
  # age: no = 50..60 step 2: mean 55, SD sqrt(14) = 3.741657; yes = 61..71: mean 66, SD 3.741657
  age <- tb[tb$variable == "age", ]
  expect_identical(age$no, "55.00 \u00b1 3.74")
  expect_identical(age$yes, "66.00 \u00b1 3.74")
  expect_identical(age$overall, sprintf("%.2f \u00b1 %.2f", 60.5, sd(d$age)))
  expect_identical(age$level, "")
  expect_identical(age$test, "Mann-Whitney U")
  # complete separation of 6 vs 6 ranks: W = 36, normal approx with continuity correction
  z <- (36 - 18 - 0.5) / sqrt(6 * 6 * 13 / 12)
  expect_equal(age$p_value, 2 * pnorm(-z), tolerance = 1e-12)
  expect_equal(age$p_value, wilcox.test(age ~ grp, data = d, exact = FALSE)$p.value)
  # sex: no has F 2 / M 4, yes F 5 / M 1; expected counts < 5 -> Fisher
  sex <- tb[tb$variable == "sex", ]
  expect_identical(sex$level, c("F", "M"))
  expect_identical(sex$no, c("2 (33.3%)", "4 (66.7%)"))
  expect_identical(sex$yes, c("5 (83.3%)", "1 (16.7%)"))
  expect_identical(sex$overall, c("7 (58.3%)", "5 (41.7%)"))
  expect_identical(sex$test, c("Fisher's exact", ""))
  # hypergeometric by hand: P(X = k), X ~ Hyper(7 F among 12, 6 drawn into "no")
  pk <- dhyper(0:6, 7, 5, 6)
  expect_equal(sex$p_value[1], sum(pk[pk <= dhyper(2, 7, 5, 6) * (1 + 1e-7)]), tolerance = 1e-12)
  expect_true(is.na(sex$p_value[2]))
  num <- attr(tb, "numeric")
  expect_equal(num$sd[num$variable == "age" & num$column == "no"], sqrt(14))
})

test_that("chi-squared, Kruskal-Wallis and explicit categorical override", {
  set.seed(8)
  d <- data.frame(g = rep(c("a", "b", "c"), each = 40), x = rnorm(120),
                  s = sample(c("u", "v"), 120, TRUE), k = sample(1:3, 120, TRUE))
  tb <- baseline_table(d, "g", c("x", "s", "k"), categorical = "k")
  expect_identical(tb$test[tb$variable == "x"], "Kruskal-Wallis")
  expect_equal(tb$p_value[tb$variable == "x"], kruskal.test(x ~ g, data = d)$p.value)
  expect_identical(tb$test[tb$variable == "s"][1], "Chi-squared")
  expect_equal(tb$p_value[tb$variable == "s"][1], chisq.test(table(d$s, d$g))$p.value)
  expect_identical(tb$level[tb$variable == "k"], c("1", "2", "3"))
  d2 <- d[d$g != "c", ]
  d2$s2 <- rep(c("u", "v"), 40)
  tb2 <- baseline_table(d2, "g", "s2")
  expect_equal(tb2$p_value[1], chisq.test(table(d2$s2, d2$g), correct = TRUE)$p.value)
  expect_error(baseline_table(d, "g", c("x", "nope")), "nope")
})

test_that("groups named like the table's own columns are kept (Pima train/test split)", {
  both <- rbind(cbind(MASS::Pima.tr, set = "train"), cbind(MASS::Pima.te, set = "test"))
  tb <- baseline_table(both, "set", c("glu", "type"), summary = "mean_sd")
  expect_named(tb, c("variable", "level", "summary", "overall", "set=test", "train", "p_value", "test"))
  expect_identical(attr(tb, "group_columns"), c(test = "set=test", train = "train"))
  te <- MASS::Pima.te
  expect_identical(tb[["set=test"]][1], sprintf("%.2f \u00b1 %.2f", mean(te$glu), sd(te$glu)))
  expect_identical(tb[["set=test"]][2:3], sprintf("%d (%.1f%%)", as.integer(table(te$type)),
                                                 100 * as.numeric(prop.table(table(te$type)))))
  expect_identical(tb$test, c("Mann-Whitney U", "Chi-squared", ""))
  # groups 'overall' and 'level' neither
  d <- data.frame(g = rep(c("overall", "level"), 20), x = seq_len(40) + 0.5)
  tb2 <- baseline_table(d, "g", "x", summary = "mean_sd")
  expect_named(tb2, c("variable", "level", "summary", "overall", "g=level", "g=overall", "p_value", "test"))
  expect_identical(tb2$overall, sprintf("%.2f \u00b1 %.2f", mean(d$x), sd(d$x)))
  expect_identical(tb2[["g=overall"]], sprintf("%.2f \u00b1 %.2f", mean(d$x[d$g == "overall"]), sd(d$x[d$g == "overall"])))
})

test_that("missing values get their own row (survival::pbc); groups follow factor level order", {
  pbc <- survival::pbc[!is.na(survival::pbc$trt), ]
  pbc$arm <- factor(ifelse(pbc$trt == 1, "D-penicillamine", "placebo"), levels = c("placebo", "D-penicillamine"))
  tb <- baseline_table(pbc, "arm", c("age", "chol", "ascites"), summary = c(age = "mean_sd"))
  expect_named(tb, c("variable", "level", "summary", "overall", "placebo", "D-penicillamine", "p_value", "test"))
  chol <- tb[tb$variable == "chol", ]
  expect_identical(chol$level, c("", "Missing"))
  expect_identical(chol$summary[1], "median (IQR)") # skewed: skewness > 1
  q <- quantile(pbc$chol, c(.25, .5, .75), na.rm = TRUE, type = 7, names = FALSE)
  expect_identical(chol$overall[1], sprintf("%.2f (%.2f, %.2f)", q[2], q[1], q[3]))
  expect_identical(chol$overall[2], sprintf("%d (%.1f%%)", sum(is.na(pbc$chol)), 100 * mean(is.na(pbc$chol))))
  expect_equal(chol$p_value[1], wilcox.test(chol ~ arm, data = pbc, exact = FALSE)$p.value)
  expect_identical(tb$summary[tb$variable == "age"], "mean \u00b1 SD")
  expect_error(baseline_table(pbc, "arm", "age", summary = "median"), "summary")
})
