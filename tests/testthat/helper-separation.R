# The demo-like study that separates (issue 9), shared by the R separation
# tests and the Python tests (tests/python/stats/test_study_bridge.py and
# tests/python/pipeline/test_separation_stage.py source this file through rpy2).
# A study like the demo that failed: 42 patients, 14 events; the deep block
# carries a strong latent factor, so its principal components separate the
# classes in the training set; radiomics carries a weaker signal.
separating_study <- function(n = 42, events = 14, p_rad = 20, p_deep = 40, seed = 5) {
  set.seed(seed)
  y <- sample(rep(c(1L, 0L), c(events, n - events)))
  latent <- ifelse(y == 1, 1.4, -1.4) + stats::rnorm(n, sd = 0.6)
  deep <- matrix(stats::rnorm(n * p_deep), n, dimnames = list(NULL, sprintf("dl%02d", seq_len(p_deep))))
  deep[, 1:8] <- deep[, 1:8] * 0.5 + latent
  rad <- matrix(stats::rnorm(n * p_rad), n, dimnames = list(NULL, sprintf("rad%02d", seq_len(p_rad))))
  rad[, 1:2] <- rad[, 1:2] + 0.8 * latent
  data.frame(patient_id = sprintf("S%03d", seq_len(n)), label = y, age = round(stats::rnorm(n, 60, 8)),
             sex = sample(c("F", "M"), n, TRUE), rad, deep, stringsAsFactors = FALSE)
}
