# evaluate_study(): the frozen study on other labelled data. Reference: the
# test-set evaluation fit_study() itself reports (same code path must give the
# same numbers), and roc_metrics()/calibration() called directly.

test_that("evaluate_study on the test set reproduces fit_study's test evaluation, also when stripped", {
  s <- simulate_study(n = 220, seed = 9)
  tr <- s[1:150, ]
  te <- s[151:220, ]
  rad <- grep("^rad", names(s), value = TRUE)
  deep <- grep("^dl", names(s), value = TRUE)
  st <- suppressWarnings(fit_study(tr, te, radiomics = rad, deep = deep, clinical = c("age", "sex"),
                                   clinical_alpha = 0.2, B = 20, seed = 3))
  ev <- evaluate_study(strip_study(st), te, set = "test")
  expect_s3_class(ev, "radnomo_evaluation")
  expect_equal(ev$metrics, st$metrics[st$metrics$set == "test", ], ignore_attr = TRUE)
  expect_equal(ev$delong, st$delong[st$delong$set == "test", ], ignore_attr = TRUE)
  expect_equal(ev$calibration$stats, st$calibration$test$stats)
  expect_equal(ev$decision, st$decision[st$decision$set == "test", ], ignore_attr = TRUE)
  # the training cut-offs are reused, not re-chosen
  tr_thr <- st$metrics$threshold[st$metrics$set == "train"]
  expect_equal(ev$metrics$threshold, tr_thr)
  ref <- roc_metrics(te$label, ev$scores$nomogram, threshold = tr_thr[ev$metrics$model == "nomogram"])
  expect_equal(unlist(ev$metrics[ev$metrics$model == "nomogram", names(ref)]), unlist(ref))
  expect_output(print(ev), "radnomo evaluation")
})

test_that("evaluate_study codes a character outcome with the study's event level and refuses others", {
  s <- simulate_study(n = 160, seed = 5)
  s$status <- ifelse(s$label == 1, "recurrence", "none")
  tr <- s[1:110, ]
  te <- s[111:160, ]
  st <- suppressMessages(suppressWarnings(fit_study(tr, outcome = "status", clinical = c("age", "sex"),
                                                    radiomics = grep("^rad", names(s), value = TRUE),
                                                    clinical_alpha = 0.3, B = 10, event = "recurrence")))
  ev <- evaluate_study(st, te)
  expect_identical(ev$scores$outcome, te$label)
  te2 <- te
  te2$status <- ifelse(te$label == 1, "yes", "no")
  expect_error(evaluate_study(st, te2), "no value 'recurrence'")
})
