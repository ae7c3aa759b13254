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
  expect_error(evaluate_study(st, te2), "'no', 'yes' that the study's outcome does not have")
  # an external set with only the non-event level: scores, and a degenerate-set warning
  te3 <- te[te$label == 0, ]
  expect_warning(ev3 <- evaluate_study(st, te3), class = "radnomo_degenerate_set")
  expect_null(ev3$metrics)
  expect_true(all(ev3$scores$outcome == 0))
  # 0/1 data for a study with a character outcome: 1 = the study's event, announced
  te4 <- te
  te4$status <- te$label
  expect_message(ev4 <- evaluate_study(st, te4), "1 is taken as the study's event 'recurrence'",
                 class = "radnomo_event_level")
  expect_equal(ev4$metrics, ev$metrics)
})

test_that("the corrected AUC's interval has the width of an AUC of that size (Hanley-McNeil), not a collapsed one", {
  set.seed(2)
  x <- matrix(rnorm(100 * 300), 100, dimnames = list(NULL, sprintf("f%03d", 1:300)))
  d <- data.frame(patient_id = 1:100, label = rep(0:1, 50), x)
  v <- suppressWarnings(validate_study(d, radiomics = colnames(x), method = "cv", folds = 5, repeats = 1, nfolds = 5,
                                       seed = 2))
  a <- v$performance[v$performance$model == "rad_score" & v$performance$metric == "auc", ]
  q1 <- a$corrected / (2 - a$corrected)
  q2 <- 2 * a$corrected^2 / (1 + a$corrected)
  se <- sqrt((a$corrected * (1 - a$corrected) + 49 * (q1 - a$corrected^2) + 49 * (q2 - a$corrected^2)) / 2500)
  expect_equal(a$upper - a$lower, 2 * qnorm(0.975) * se, tolerance = 1e-10)
  expect_gt(a$upper - a$lower, 0.2) # ~0.23 at an AUC near 0.5 with 50 + 50 patients
})

test_that("resamples whose procedure selects nothing count as the intercept-only model", {
  bw <- MASS::birthwt
  bw$pid <- seq_len(nrow(bw))
  v <- suppressWarnings(validate_study(bw, outcome = "low", id = "pid", clinical = c("age", "ht"),
                                       clinical_alpha = 0.05, method = "cv", folds = 5, repeats = 2, seed = 2))
  nulls <- v$resamples[grepl("intercept-only", v$resamples$reason), ]
  expect_gt(sum(nulls$n), 0)
  # every fold contributes: the corrected AUC is the mean over all 10 folds, null folds at 0.5
  expect_true(is.finite(v$performance$corrected[v$performance$model == "clinical" & v$performance$metric == "auc"]))
})
