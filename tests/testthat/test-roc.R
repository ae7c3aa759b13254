# Reference values: pROC 1.18.0 on its aSAH data set (loaded from the installed
# pROC), with their provenance in tests/reference/PROVENANCE.md (pROC's own
# tests, re-derived). These tests own the aSAH numbers; the Python bridge's
# tests check conversion and tests/cross R-vs-Python equality, without copies.

test_that("roc_metrics reproduces pROC's aSAH AUCs, DeLong CIs and Youden point", {
  d <- read_asah()
  s <- roc_metrics(d$outcome, d$s100b)   # text outcome: sorted levels Good, Poor; "Poor" = event
  expect_equal(s$auc, 0.7313685637, tolerance = 1e-8)
  expect_equal(s$auc_lower, 0.6301182118, tolerance = 1e-8)
  expect_equal(s$auc_upper, 0.8326189156, tolerance = 1e-8)
  expect_equal(s$threshold, 0.205, tolerance = 1e-12)
  expect_equal(s$sensitivity, 0.6341463, tolerance = 1e-7)
  expect_equal(s$specificity, 0.8055556, tolerance = 1e-7)
  expect_identical(c(s$n, s$n_events), c(113L, 41L))
  # 2x2 table at 0.205 by hand: positives are s100b >= 0.205
  pos <- d$s100b >= 0.205
  expect_equal(s$ppv, sum(pos & d$y == 1) / sum(pos))
  expect_equal(s$npv, sum(!pos & d$y == 0) / sum(!pos))
  expect_equal(s$accuracy, mean(pos == (d$y == 1)))
  w <- roc_metrics(d$y, d$wfns)
  expect_equal(c(w$auc, w$auc_lower, w$auc_upper), c(0.8236788618, 0.7485348878, 0.8988228358), tolerance = 1e-8)
  n <- roc_metrics(d$y, d$ndka)
  expect_equal(c(n$auc, n$auc_lower, n$auc_upper), c(0.6119579946, 0.5012449993, 0.7226709899), tolerance = 1e-8)
})

test_that("AUC below 0.5 is not flipped; fixed thresholds and undefined ratios", {
  d <- read_asah()
  s <- roc_metrics(d$y, -d$s100b)
  expect_equal(s$auc, 1 - 0.7313685637, tolerance = 1e-8)
  f <- roc_metrics(d$y, d$s100b, threshold = 0.5)
  expect_identical(f$threshold, 0.5)   # a given cut-off is reported as given
  expect_identical(roc_metrics(d$y, -d$s100b, threshold = -0.2)$threshold, -0.2)
  expect_equal(f$sensitivity, mean(d$s100b[d$y == 1] >= 0.5))
  expect_warning(u <- roc_metrics(d$y, d$s100b, threshold = 100), "PPV is undefined")
  expect_true(is.na(u$ppv))
  expect_identical(u$sensitivity, 0)
  expect_error(roc_metrics(d$y, c(d$s100b[-1], NA)), "missing")
})

test_that("delong_test reproduces pROC's paired DeLong tests on aSAH", {
  d <- read_asah()
  res <- delong_test(d$y, list(wfns = d$wfns, s100b = d$s100b, ndka = d$ndka))
  expect_identical(res$model_1, c("wfns", "wfns", "s100b"))
  expect_identical(res$model_2, c("s100b", "ndka", "ndka"))
  ws <- res[1, ]
  expect_equal(ws$z, 2.20898359144091, tolerance = 1e-8)
  expect_equal(ws$p, 0.0271757822291882, tolerance = 1e-10)
  expect_equal(c(ws$lower, ws$upper), c(0.0104061769564846, 0.174214419249478), tolerance = 1e-8)
  expect_equal(ws$difference, 0.8236788618 - 0.7313685637, tolerance = 1e-8)
  wn <- res[2, ]
  expect_equal(wn$z, 2.79777591868904, tolerance = 1e-8)
  expect_equal(wn$p, 0.00514557970691098, tolerance = 1e-10)
  expect_error(delong_test(d$y, list(a = d$wfns)), "at least 2")
  expect_error(delong_test(d$y, list(d$wfns, d$ndka)), "named")
})

test_that("messages name the user's outcome, not 'y'", {
  # reference: the outcome as the user wrote it (column, variable or outcome_name)
  d <- data.frame(recurrence = factor(rep(c("none", "recur"), 10)), s = c(1:10, 3:12),
                  grade = factor(rep(c("G1", "G2", "G3", "G1"), 5)))
  expect_message(roc_metrics(d$recurrence, d$s), "^Outcome 'd\\$recurrence': event = 'recur'",
                 class = "radnomo_event_level")
  expect_message(roc_metrics(d[["recurrence"]], d$s), "^Outcome 'd\\[\\[\"recurrence\"\\]\\]'",
                 class = "radnomo_event_level")
  recurrence <- d$recurrence
  expect_message(roc_metrics(recurrence, d$s), "^Outcome 'recurrence'", class = "radnomo_event_level")
  expect_message(roc_metrics(d$recurrence, d$s, outcome_name = "recurrence"), "^Outcome 'recurrence'",
                 class = "radnomo_event_level")
  expect_message(delong_test(d$recurrence, list(a = d$s, b = -d$s)), "^Outcome 'd\\$recurrence'",
                 class = "radnomo_event_level")
  expect_message(decision_curve(d$recurrence, list(a = d$s / 12), outcome_name = "recurrence"),
                 "^Outcome 'recurrence'", class = "radnomo_event_level")
  expect_error(roc_metrics(d$grade, d$s), "^'d\\$grade' must have exactly two classes", class = "radnomo_input_error")
  # a value passed through do.call (as the Python bridge does) has no name: the argument's
  expect_message(do.call(roc_metrics, list(d$recurrence, d$s), quote = TRUE), "^Outcome 'y'",
                 class = "radnomo_event_level")
  expect_error(roc_metrics(d$recurrence, d$s, outcome_name = NA_character_), "outcome_name",
               class = "radnomo_input_error")
})
