study_data <- function() {
  d <- simulate_study(n = 300)
  list(train = d[1:200, ], test = d[201:300, ],
       radiomics = grep("^rad", names(d), value = TRUE), deep = grep("^dl", names(d), value = TRUE))
}

fit_sim_study <- function(s, test = s$test, ...) {
  fit_study(s$train, test, outcome = "label", radiomics = s$radiomics, deep = s$deep,
            clinical = c("age", "sex"), B = 30, seed = 3, ...)
}

test_that("fit_study finds the informative features and returns the contract", {
  s <- study_data()
  st <- fit_sim_study(s)
  expect_s3_class(st, "radnomo_study")
  expect_named(st, c("selection_rad", "selection_dl", "rad_score", "dl_score", "clinical", "nomogram",
                     "fits", "scores", "metrics", "delong", "calibration", "decision", "steps", "settings"))
  # truth: rad01..rad03 carry the radiomics signal (correlated, so pruning may keep a subset)
  expect_true(all(c("rad01", "rad02", "rad03") %in% st$selection_rad$selected))
  expect_lte(length(setdiff(st$selection_rad$selected, c("rad01", "rad02", "rad03"))), 3)
  expect_true(all(grepl("^PC", st$selection_dl$selected)))
  expect_true("age" %in% st$clinical$selected)
  expect_false("sex" %in% st$clinical$selected)
  expect_identical(st$nomogram$predictors, c("rad_score", "dl_score", "age"))
  expect_named(st$scores, c("id", "set", "outcome", "clinical", "rad_score", "dl_score", "nomogram"))
  expect_identical(table(st$scores$set)[["test"]], 100L)
  expect_identical(unique(st$metrics$model), c("clinical", "rad_score", "dl_score", "nomogram"))
  # the Youden threshold chosen on train is reused on test
  for (m in unique(st$metrics$model)) {
    expect_identical(st$metrics$threshold[st$metrics$set == "test" & st$metrics$model == m],
                     st$metrics$threshold[st$metrics$set == "train" & st$metrics$model == m])
  }
  te <- st$scores[st$scores$set == "test", ]
  ref <- roc_metrics(te$outcome, te$nomogram)
  expect_equal(st$metrics$auc[st$metrics$set == "test" & st$metrics$model == "nomogram"], ref$auc)
  # close to the oracle AUC of the true linear predictor on the same test patients
  oracle <- roc_metrics(te$outcome, s$test$true_lp)$auc
  expect_gt(ref$auc, 0.65)
  expect_gt(ref$auc, oracle - 0.15)
  expect_identical(nrow(st$delong), 12L)
  expect_false(is.null(st$calibration$train$bootstrap))
  expect_null(st$calibration$test$bootstrap)
  expect_identical(sort(unique(st$decision$model)), sort(c("clinical", "rad_score", "dl_score", "nomogram", "all", "none")))
  expect_identical(unique(st$steps$block), c("radiomics", "deep", "clinical", "nomogram"))
})

test_that("predict reproduces the training scores and the nomogram uses the linear scores", {
  s <- study_data()
  st <- fit_sim_study(s)
  p <- predict(st, s$train)
  tr <- st$scores[st$scores$set == "train", ]
  for (m in c("clinical", "rad_score", "dl_score", "nomogram")) expect_equal(p[[m]], tr[[m]], tolerance = 1e-12)
  expect_equal(plogis(p$rad_score_lp), p$rad_score)
  # independent recomputation of the Rad score from its parts
  z <- scale(as.matrix(s$train[, st$selection_rad$kept_correlation]))[, st$selection_rad$selected, drop = FALSE]
  b <- st$rad_score$coefficients$estimate
  expect_equal(p$rad_score_lp, unname(drop(b[1] + z %*% b[-1])), tolerance = 1e-10)
  nd <- data.frame(.y = tr$outcome, rad_score = p$rad_score_lp, dl_score = p$dl_score_lp, age = s$train$age)
  ref <- glm(.y ~ rad_score + dl_score + age, data = nd, family = binomial)
  expect_equal(p$nomogram, unname(fitted(ref)), tolerance = 1e-6)
})

test_that("no leakage: changing the test set changes no fitted component", {
  s <- study_data()
  a <- fit_sim_study(s)
  set.seed(5)
  t2 <- s$test
  t2$label <- sample(t2$label)
  t2[, s$radiomics] <- t2[sample(nrow(t2)), s$radiomics]
  t2$age <- rev(t2$age)
  b <- fit_sim_study(s, test = t2)
  c0 <- fit_sim_study(s, test = NULL)
  for (k in c("selection_rad", "selection_dl", "rad_score", "dl_score", "clinical", "nomogram")) {
    expect_identical(b[[k]], a[[k]], label = k)
    expect_identical(c0[[k]], a[[k]], label = k)
  }
  expect_identical(b$calibration$train, a$calibration$train)
  expect_identical(b$scores[b$scores$set == "train", ], a$scores[a$scores$set == "train", ])
  expect_false(isTRUE(all.equal(b$scores[b$scores$set == "test", ], a$scores[a$scores$set == "test", ])))
  expect_identical(unique(c0$scores$set), "train")
})

test_that("empty blocks are skipped and bad input is reported", {
  s <- study_data()
  st <- fit_study(s$train, s$test, radiomics = s$radiomics, clinical = "age", B = 10)
  expect_null(st$selection_dl)
  expect_true(all(is.na(st$scores$dl_score)))
  expect_identical(st$nomogram$predictors, c("rad_score", "age"))
  expect_identical(unique(st$metrics$model), c("clinical", "rad_score", "nomogram"))
  p <- predict(st, s$test)
  expect_true(all(is.na(p$dl_score_lp)))
  expect_error(fit_study(s$train, s$test[, -3], radiomics = s$radiomics, clinical = "age"), "'test' lacks.*age")
  expect_error(fit_study(s$train), "At least one")
  tr <- s$train; tr$label <- ifelse(tr$label == 1, "recur", "none")
  te <- s$test; te$label <- ifelse(te$label == 1, "recur", "other")
  expect_error(fit_study(tr, te, radiomics = s$radiomics), "test outcome.*other")
})

test_that("score = 'lasso' uses the LASSO linear predictor itself as the Rad/DL score", {
  set.seed(21)
  n <- 150
  d <- data.frame(patient_id = sprintf("P%03d", seq_len(n)), lnafp = rnorm(n, 2.6, 2), stringsAsFactors = FALSE)
  for (j in 1:15) d[[sprintf("rad_%02d", j)]] <- rnorm(n)
  for (j in 1:12) d[[sprintf("dl_%02d", j)]] <- abs(rnorm(n))
  d$dl_01 <- rnorm(n, 0.8, 0.6)
  d$label <- rbinom(n, 1, plogis(-1 + 0.3 * d$lnafp + 1.5 * d$rad_01 + 1.5 * (d$dl_01 - 0.8)))
  tr <- d[1:100, ]
  te <- d[101:n, ]
  rad <- sprintf("rad_%02d", 1:15)
  dl <- sprintf("dl_%02d", 1:12)
  fs <- suppressWarnings(fit_study(tr, te, radiomics = rad, deep = dl, clinical = "lnafp", B = 10,
                                   seed = 4, nfolds = 5, score = "lasso"))
  expect_identical(fs$settings$score, "lasso")
  p <- predict(fs, te)
  # reference: the selection's own LASSO linear predictor (glmnet coefficients at lambda.min)
  expect_equal(p$rad_score_lp, unname(predict(fs$selection_rad, te[, rad], type = "link")), tolerance = 1e-10)
  expect_equal(p$dl_score_lp, unname(predict(fs$selection_dl, te[, dl], type = "link")), tolerance = 1e-10)
  expect_equal(p$rad_score, plogis(p$rad_score_lp), tolerance = 1e-12)
  expect_identical(fs$rad_score$coefficients$term[1], "(Intercept)")
  # the logistic (default) refit differs from the LASSO score
  fl <- suppressWarnings(fit_study(tr, te, radiomics = rad, deep = dl, clinical = "lnafp", B = 10,
                                   seed = 4, nfolds = 5))
  expect_identical(fl$settings$score, "logistic")
  expect_s3_class(fl$rad_score$fit, "glm")
  expect_null(fs$rad_score$fit)
  expect_s3_class(fs$rad_score, "radnomo_lasso_score")
  expect_error(fit_study(tr, te, radiomics = rad, score = "ridge"), "should be one of")
})

test_that("a block in which no feature passes the MWU step is left out with a warning", {
  set.seed(5)
  n <- 80
  d <- data.frame(patient_id = sprintf("P%03d", seq_len(n)), lnafp = rnorm(n, 2.6, 2), stringsAsFactors = FALSE)
  d$label <- rbinom(n, 1, plogis(-1 + 0.8 * d$lnafp))
  for (j in 1:3) d[[sprintf("dl_%d", j)]] <- rnorm(n)
  # make the deep block pure noise that cannot pass p < 1e-6
  expect_warning(fs <- fit_study(d[1:60, ], d[61:n, ], deep = sprintf("dl_%d", 1:3), clinical = "lnafp",
                                 mwu_alpha = 1e-6, B = 5, seed = 1, nfolds = 5),
                 "deep block: No feature passed")
  expect_null(fs$selection_dl)
  expect_true(all(is.na(fs$scores$dl_score)))
  expect_false(any(fs$steps$block == "deep"))
  # select_features alone still errors (its class lets callers tell this case apart)
  expect_error(select_features(as.matrix(d[, sprintf("dl_%d", 1:3)]), d$label, mwu_alpha = 1e-6),
               class = "radnomo_nothing_selected")
})

test_that("calibration in fit_study sizes its risk groups to the set and treats test as validation", {
  expect_identical(radnomo:::calibration_group_count(18), 3L)
  expect_identical(radnomo:::calibration_group_count(68), 6L)
  expect_identical(radnomo:::calibration_group_count(500), 10L)
  set.seed(31)
  n <- 130
  d <- data.frame(patient_id = sprintf("P%03d", seq_len(n)), lnafp = rnorm(n, 2.6, 2), mls = rbinom(n, 1, 0.5),
                  stringsAsFactors = FALSE)
  d$label <- rbinom(n, 1, plogis(-2 + 0.4 * d$lnafp + 1.1 * d$mls))
  fs <- suppressWarnings(fit_study(d[1:100, ], d[101:n, ], clinical = c("lnafp", "mls"), B = 10, seed = 1))
  te <- fs$calibration$test
  tr <- fs$calibration$train
  expect_lte(nrow(te$curve), 3L)
  expect_identical(te$stats$hl_df, nrow(te$curve))        # validation: G df
  expect_identical(tr$stats$hl_df, nrow(tr$curve) - 2L)   # development: G - 2 df
})

test_that("duplicated patient ids and patients in both sets are input errors (no silent leakage)", {
  s <- study_data()
  tr <- s$train
  tr$patient_id[2] <- tr$patient_id[1]
  expect_error(fit_study(tr, s$test, outcome = "label", radiomics = s$radiomics, clinical = c("age", "sex"), B = 30),
               "duplicated patient id", class = "radnomo_input_error")
  te <- s$test
  te$patient_id[1:2] <- s$train$patient_id[5:6]
  expect_error(fit_sim_study(s, test = te), "in both 'train' and 'test'", class = "radnomo_input_error")
  expect_error(validate_study(tr, radiomics = s$radiomics, clinical = c("age", "sex")), "duplicated patient id",
               class = "radnomo_input_error")
})

test_that("a non-numeric feature column is named with its block and data set", {
  s <- study_data()
  tr <- s$train
  tr$rad02 <- as.character(tr$rad02)
  expect_error(fit_study(tr, s$test, outcome = "label", radiomics = s$radiomics, clinical = "age", B = 30),
               "'train': the radiomics column\\(s\\) 'rad02' are not numeric", class = "radnomo_input_error")
})

test_that("the study's models name its outcome column, not '.y'", {
  s <- study_data()
  names(s$train)[names(s$train) == "label"] <- "recurrence"
  names(s$test)[names(s$test) == "label"] <- "recurrence"
  st <- fit_study(s$train, s$test, outcome = "recurrence", radiomics = s$radiomics, clinical = "age", B = 10, seed = 3)
  expect_identical(st$nomogram$outcome, "recurrence")
  expect_output(print(st$nomogram), "rms::lrm of 'recurrence' on rad_score")
  expect_false(any(grepl("'.y'", capture.output(print(st$nomogram)), fixed = TRUE)))
  expect_identical(all.vars(formula(st$rad_score$fit))[1L], "recurrence")
  # the fitted numbers do not depend on the name
  st2 <- fit_study(transform(s$train, label = recurrence), outcome = "label", radiomics = s$radiomics,
                   clinical = "age", B = 10, seed = 3)
  expect_equal(coef(st2), coef(st))
})

test_that("fit_study's calibration warnings say which set they are about", {
  set.seed(31)
  n <- 112
  d <- data.frame(patient_id = sprintf("P%03d", seq_len(n)), lnafp = rnorm(n, 2.6, 2), mls = rbinom(n, 1, 0.5),
                  stringsAsFactors = FALSE)
  d$label <- rbinom(n, 1, plogis(-2 + 0.4 * d$lnafp + 1.1 * d$mls))
  ws <- list()
  withCallingHandlers(fit_study(d[1:100, ], d[101:n, ], clinical = c("lnafp", "mls"), clinical_alpha = 1, B = 10,
                                seed = 1),
                      warning = function(w) {
                        ws[[length(ws) + 1L]] <<- w
                        invokeRestart("muffleWarning")
                      })
  small <- Filter(function(w) inherits(w, "radnomo_small_sample"), ws)
  expect_gte(length(small), 1L)  # 12 test patients in 3 groups: 4 per group
  expect_true(any(grepl("^Calibration of the nomogram on the test set: Calibration of 12 patients",
                        vapply(small, conditionMessage, character(1)))))
})
