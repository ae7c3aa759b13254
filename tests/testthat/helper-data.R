# Shared fixtures for the radnomo tests.

# Path to the read-only reference data shipped next to the repository
# (../shared/reference relative to the repository root).
reference_path <- function(...) {
  file.path(testthat::test_path(), "..", "..", "..", "shared", "reference", ...)
}

# Skip the calling test when a reference file is absent.
skip_if_no_reference <- function(...) {
  p <- reference_path(...)
  if (!file.exists(p)) testthat::skip(paste("reference data not found:", p))
  p
}

# pROC's aSAH data set (113 patients, 41 poor outcomes), outcome coded 0/1.
read_asah <- function() {
  p <- skip_if_no_reference("clinstats", "pROC", "aSAH.csv")
  d <- utils::read.csv(p, stringsAsFactors = FALSE)
  d$y <- as.integer(d$outcome == "Poor")
  d$wfns <- as.numeric(d$wfns)
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
