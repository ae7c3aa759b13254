# References (tests/reference/PROVENANCE.md): rmda 1.6 outputs in
# tests/reference/clinstats/rmda (decision_curve(..., study.design = "cohort",
# thresholds = seq(0, 1, by = 0.01))), the rmda tutorial's printed opt-out
# table (numbers quoted below), and dcurves' outputs on df_binary.

read_rmda <- function(file) {
  p <- reference_file("clinstats", "rmda", file)
  utils::read.csv(p, stringsAsFactors = FALSE)
}

compare_rmda <- function(dc, ref, model_name) {
  map <- c(setNames("all", "All"), setNames("none", "None"), setNames("model", model_name))
  for (m in names(map)) {
    r <- ref[ref$model == m, ]
    o <- dc[dc$model == map[[m]], ]
    expect_equal(o$threshold, r$thresholds, tolerance = 1e-12)
    expect_equal(o$tpr, r$TPR, tolerance = 1e-9, label = paste(m, "TPR"))
    expect_equal(o$fpr, r$FPR, tolerance = 1e-9, label = paste(m, "FPR"))
    expect_equal(o$net_benefit, r$NB, tolerance = 1e-9, label = paste(m, "NB"))
    expect_equal(o$standardized_net_benefit, r$sNB, tolerance = 1e-9, label = paste(m, "sNB"))
  }
}

test_that("opt-in net benefit matches rmda at every threshold (fitted model)", {
  d <- read_rmda("dcaData.csv")
  ref <- read_rmda("rmda_dcaData_optin_AgeFemaleSmokes.csv")
  fit <- glm(Cancer ~ Age + Female + Smokes, data = d, family = binomial)
  dc <- decision_curve(d$Cancer, list(model = fitted(fit)))
  expect_identical(unique(dc$model), c("model", "all", "none"))
  compare_rmda(dc, ref, "Cancer ~ Age + Female + Smokes")
  expect_equal(attr(dc, "prevalence"), 0.12)
})

test_that("opt-in net benefit matches rmda for an already-fitted risk", {
  d <- read_rmda("dcaData.csv")
  ref <- read_rmda("rmda_dcaData_optin_fittedrisk.csv")
  dc <- decision_curve(d$Cancer, list(model = plogis(-4 + 1.2 * d$Marker1)))
  compare_rmda(dc, ref, "Cancer ~ risk")
})

test_that("opt-out net benefit matches the rmda tutorial's printed table", {
  d <- read_rmda("dcaData.csv")
  fit <- glm(Cancer ~ Age + Female + Smokes + Marker1 + Marker2, data = d, family = binomial)
  dc <- decision_curve(d$Cancer, list(full = fitted(fit)), thresholds = c(0.01, 0.06, 0.11, 0.16, 0.21, 0.26),
                       policy = "opt-out")
  m <- dc[dc$model == "full", ]
  # rmda tutorial, head(full.model$derived.data), printed to 7 significant digits
  expect_equal(m$net_benefit, c(-0.1520000, 0.3353333, 0.5201818, 0.6185000, 0.6531429, 0.6553846), tolerance = 1e-6)
  expect_equal(m$standardized_net_benefit[1:5],
               c(-0.1727273, 0.3810606, 0.5911157, 0.7028409, 0.7422078), tolerance = 1e-6)
  expect_equal(m$tpr, c(0.9666667, 0.8666667, 0.8333333, 0.8166667, 0.75, 0.6), tolerance = 1e-6)
  # tutorial summary table: "All" 0 and "None" -11, -1, -0.091, 0.25, 0.429
  expect_equal(dc$net_benefit[dc$model == "all"], rep(0, 6))
  expect_equal(dc$net_benefit[dc$model == "none"][1:5], c(-11, -1, -0.091, 0.25, 0.429), tolerance = 2e-3)
})

test_that("net benefit matches dcurves on df_binary", {
  p <- reference_file("clinstats", "dcurves", "df_binary.csv")
  d <- utils::read.csv(p)
  y <- as.integer(d$cancer)
  dc <- decision_curve(y, list(cancerpredmarker = d$cancerpredmarker), thresholds = 0.25)
  # dcurves: dca(cancer ~ cancerpredmarker, df_binary) at 0.25
  # (printed to 7 decimals, hence the tolerance)
  expect_equal(dc$net_benefit, c(0.0640000, -0.1466667, 0), tolerance = 1e-6)
  # dcurves case 1 (cancer ~ famhistory, a 0/1 "risk"); thresholds strictly
  # inside (0, 1), where dcurves' nudging of 0/1 values makes no difference
  ref <- utils::read.csv(reference_file("clinstats", "dcurves", "r_case1_results.csv"))
  ref <- ref[ref$threshold > 0 & ref$threshold < 1, ]
  th <- ref$threshold[ref$variable == "famhistory"]
  dc <- decision_curve(y, list(famhistory = d$famhistory), thresholds = th)
  expect_equal(dc$net_benefit[dc$model == "famhistory"], ref$net_benefit[ref$variable == "famhistory"], tolerance = 1e-9)
  expect_equal(dc$net_benefit[dc$model == "all"], ref$net_benefit[ref$variable == "all"], tolerance = 1e-9)
})

test_that("bootstrap intervals are seeded, bracket the estimate, and rmda agrees when installed", {
  d <- read_rmda("dcaData.csv")
  fit <- glm(Cancer ~ Age + Female + Smokes, data = d, family = binomial)
  th <- seq(0, 0.4, by = 0.05)
  a <- decision_curve(d$Cancer, list(model = fitted(fit)), thresholds = th, bootstraps = 50, seed = 1)
  b <- decision_curve(d$Cancer, list(model = fitted(fit)), thresholds = th, bootstraps = 50, seed = 1)
  expect_identical(a, b)
  # a single resample: every interval collapses onto that resample's value
  # (reference: dca on the resampled patients, drawn with the same seed)
  one <- decision_curve(d$Cancer, list(model = fitted(fit)), thresholds = th, bootstraps = 1, seed = 4)
  i <- local({ set.seed(4); sample.int(nrow(d), replace = TRUE) })
  rs <- decision_curve(d$Cancer[i], list(model = fitted(fit)[i]), thresholds = th)
  expect_equal(one$nb_lower, rs$net_benefit)
  expect_equal(one$nb_upper, rs$net_benefit)
  ok <- a$model == "model"
  expect_true(all(a$nb_lower[ok] <= a$net_benefit[ok] + 1e-12 & a$net_benefit[ok] <= a$nb_upper[ok] + 1e-12))
  f <- tempfile(fileext = ".png")
  plot_decision_curve(a, f)
  expect_gt(file.size(f), 5000)
  expect_error(decision_curve(d$Cancer, list(model = fitted(fit) * 3)), "probabilities")
  expect_error(decision_curve(d$Cancer, list(all = fitted(fit))), "reserved")
  skip_if_not_installed("rmda")
  r <- rmda::decision_curve(Cancer ~ Age + Female + Smokes, data = d, thresholds = th,
                            confidence.intervals = "none")
  dr <- r$derived.data[r$derived.data$model != "All" & r$derived.data$model != "None", ]
  expect_equal(a$net_benefit[ok], dr$NB, tolerance = 1e-9)
})
