# Shared fixtures for the radnomo tests.

# Path to a reference file in tests/reference (public data and other
# software's outputs, shipped with the repository; sources and licences in
# tests/reference/PROVENANCE.md). test_path() also resolves inside R CMD check.
reference_path <- function(...) {
  testthat::test_path("..", "reference", ...)
}

# A reference file that must exist: a missing file fails the calling test
# (it is part of the repository, never optional).
reference_file <- function(...) {
  p <- reference_path(...)
  if (!file.exists(p)) {
    stop("reference file missing: ", file.path("tests", "reference", ...), " (looked for ",
         file.path(normalizePath(testthat::test_path(".."), mustWork = FALSE), "reference", ...),
         "); it is part of the repository, see tests/reference/PROVENANCE.md", call. = FALSE)
  }
  p
}

# pROC's aSAH data set (113 patients, 41 poor outcomes), loaded from the
# installed pROC package, with the column types of a plain CSV read: gos6 and
# wfns as numbers (ordered factors 1..5 in pROC), outcome and gender as text
# (pROC's gender factor has "Male" as its first level; as text the reference
# level is "Female", which the tests' terms such as genderMale assume);
# outcome also coded 0/1 as y.
read_asah <- function() {
  e <- new.env()
  utils::data("aSAH", package = "pROC", envir = e)
  d <- e$aSAH
  d$gos6 <- as.integer(as.character(d$gos6))
  d$wfns <- as.numeric(as.character(d$wfns))
  d$outcome <- as.character(d$outcome)
  d$gender <- as.character(d$gender)
  d$y <- as.integer(d$outcome == "Poor")
  d
}

# Simulated training set: `n_info` informative features among `p` columns.
# Truth: logit P(y = 1) = -0.3 + 1.5 * (f1 + ... + f_n_info) / sqrt(n_info).
simulate_features <- function(n = 120, p = 20, n_info = 3, seed = 11, prefix = "f") {
  set.seed(seed)
  x <- matrix(stats::rnorm(n * p), n, p, dimnames = list(NULL, sprintf("%s%02d", prefix, seq_len(p))))
  lp <- -0.3 + 1.5 * rowSums(x[, seq_len(n_info), drop = FALSE]) / sqrt(n_info) * 1.5
  y <- stats::rbinom(n, 1, stats::plogis(lp))
  list(x = x, y = y, informative = colnames(x)[seq_len(n_info)])
}

# Simulated study cohort with known truth. Latent risk factors: r (radiomics
# signal carried by rad01..rad03), d (deep signal shared by dl01..dl08 through
# a common factor) and age; sex and the remaining features are noise.
# logit P(label = 1) = -0.5 + 1.2 r + 1.0 d + 0.04 (age - 60).
simulate_study <- function(n = 200, seed = 21, p_rad = 25, p_deep = 30) {
  set.seed(seed)
  r <- rnorm(n); dd <- rnorm(n)
  rad <- matrix(rnorm(n * p_rad), n, dimnames = list(NULL, sprintf("rad%02d", seq_len(p_rad))))
  rad[, 1:3] <- r + matrix(rnorm(n * 3, sd = 0.6), n)
  deep <- matrix(rnorm(n * p_deep), n, dimnames = list(NULL, sprintf("dl%02d", seq_len(p_deep))))
  deep[, 1:8] <- dd + matrix(rnorm(n * 8, sd = 0.8), n)
  age <- round(rnorm(n, 60, 10))
  sex <- sample(c("F", "M"), n, replace = TRUE)
  label <- rbinom(n, 1, plogis(-0.5 + 1.2 * r + 1.0 * dd + 0.04 * (age - 60)))
  data.frame(patient_id = sprintf("P%03d", seq_len(n)), label = label, age = age, sex = sex,
             true_lp = -0.5 + 1.2 * r + 1.0 * dd + 0.04 * (age - 60),
             rad, deep, stringsAsFactors = FALSE)
}
