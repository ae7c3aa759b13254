# strip_study(): predictions unchanged, no training identifiers or outcomes left.

test_that("strip_study keeps predictions and removes patient-level data", {
  set.seed(11)
  n <- 160
  d <- data.frame(patient_id = sprintf("HOSP-%05d", seq_len(n)), lnafp = rnorm(n, 2.6, 2),
                  mls = rbinom(n, 1, 0.5), stringsAsFactors = FALSE)
  for (j in 1:12) d[[sprintf("rad_%02d", j)]] <- rnorm(n)
  lp <- -2 + 0.35 * d$lnafp + 1.1 * d$mls + 0.9 * d$rad_01
  d$label <- rbinom(n, 1, plogis(lp))
  tr <- d[1:110, ]
  te <- d[111:n, ]
  fs <- suppressWarnings(fit_study(tr, te, radiomics = sprintf("rad_%02d", 1:12),
                                   clinical = c("lnafp", "mls"), B = 10, seed = 2, nfolds = 5))
  st <- strip_study(fs)
  expect_true(isTRUE(st$settings$stripped))
  expect_null(st$scores)
  expect_equal(predict(st, te), predict(fs, te), tolerance = 0)
  expect_equal(predict(st, tr), predict(fs, tr), tolerance = 0)
  expect_identical(st$metrics, fs$metrics)
  # no training identifier anywhere in the serialized object
  raw <- serialize(st, NULL, ascii = TRUE)
  txt <- rawToChar(raw)
  expect_false(any(vapply(tr$patient_id, function(id) grepl(id, txt, fixed = TRUE), logical(1))))
  full <- rawToChar(serialize(fs, NULL, ascii = TRUE))
  expect_true(grepl(tr$patient_id[1], full, fixed = TRUE))  # the check above can fail
  expect_lt(length(raw), length(serialize(fs, NULL, ascii = TRUE)))
  expect_error(strip_study(list()), "radnomo_study")
  # a stripped (shared) model still draws its nomogram with display labels, with the same axes
  f <- tempfile(fileext = ".png")
  expect_identical(plot_nomogram(st$nomogram, f, labels = c(rad_score = "Rad score", lnafp = "ln AFP")), f)
  full_nom <- nomogram_drawing(fs$nomogram, c(rad_score = "Rad score", lnafp = "ln AFP"))
  strip_nom <- nomogram_drawing(st$nomogram, c(rad_score = "Rad score", lnafp = "ln AFP"))
  expect_equal(unclass(strip_nom)[names(full_nom)], unclass(full_nom), ignore_attr = TRUE)
})
