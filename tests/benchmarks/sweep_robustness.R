# Robustness sweep (issue 9, section 3): R fit_study on every generated cohort
# of tests/testthat/helper-robustness.R under each separation policy, and a
# table of what happened.
#
# Usage (from the repository root, with the radnomo R package installed):
#   TZ=UTC Rscript tests/benchmarks/sweep_robustness.R [--B 50] [--nfolds 10]
#       [--policies firth,lasso] [--ids id1,id2] [--out sweep.csv]
#
# Prints one row per cohort and policy: cohort id, n, events, description,
# policy, finished (yes/no), warnings (keys of the warnings raised, see
# rb_warning_key()), fits (model=method of the fits table), the nomogram's
# training and test AUC, and seconds; then the errors of the fits that did
# not finish and a summary. --out also writes the table as CSV (with the
# error messages and each warning's full text).

suppressPackageStartupMessages(library(radnomo))

script_dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f[1L])) else file.path(getwd(), "tests", "benchmarks")
})
source(file.path(script_dir, "..", "testthat", "helper-robustness.R"))

opt <- list(B = 50L, nfolds = 10L, policies = "firth,lasso", ids = "", out = "")
args <- commandArgs(TRUE)
i <- 1L
while (i <= length(args)) {
  key <- sub("^--", "", args[i])
  if (!key %in% names(opt) || i == length(args)) stop("usage: sweep_robustness.R [--B n] [--nfolds k] ",
                                                        "[--policies firth,lasso] [--ids a,b] [--out file.csv]")
  opt[[key]] <- if (is.integer(opt[[key]])) as.integer(args[i + 1L]) else args[i + 1L]
  i <- i + 2L
}
policies <- strsplit(opt$policies, ",", fixed = TRUE)[[1L]]
ids <- if (nzchar(opt$ids)) strsplit(opt$ids, ",", fixed = TRUE)[[1L]] else NULL

t_all <- proc.time()[["elapsed"]]
cohorts <- rb_cohorts(ids)
rows <- list()
full <- list()
for (co in cohorts) {
  for (pol in policies) {
    res <- rb_fit(co, separation = pol, B = opt$B, nfolds = opt$nfolds)
    row <- rb_summary_row(co, res, pol)
    rows[[length(rows) + 1L]] <- row
    full[[length(full) + 1L]] <- cbind(row, warning_text = paste(vapply(res$warnings, function(w)
      paste0("[", rb_warning_key(w), "] ", conditionMessage(w)), ""), collapse = " || "), stringsAsFactors = FALSE)
  }
}
tab <- do.call(rbind, rows)
seconds_all <- proc.time()[["elapsed"]] - t_all

show <- tab[, c("id", "n", "events", "description", "policy", "finished", "warnings", "fits", "auc_train",
                "auc_test", "seconds")]
show$auc_train <- ifelse(is.na(show$auc_train), "NA", sprintf("%.3f", show$auc_train))
show$auc_test <- ifelse(is.na(show$auc_test), "NA", sprintf("%.3f", show$auc_test))
show$seconds <- sprintf("%.1f", show$seconds)
old <- options(width = 10000)
cat(sprintf("Robustness sweep: %d cohorts x %d policies, B = %d, nfolds = %d (radnomo %s, R %s)\n\n",
            length(cohorts), length(policies), opt$B, opt$nfolds, utils::packageVersion("radnomo"),
            getRversion()))
print(show, row.names = FALSE, right = FALSE)
options(old)
bad <- tab[tab$finished == "no", ]
if (nrow(bad)) {
  cat("\nDid not finish:\n")
  for (k in seq_len(nrow(bad))) cat(sprintf("  %-12s %-6s %s\n", bad$id[k], bad$policy[k], bad$error[k]))
}
cat(sprintf("\nFinished: %d of %d fits (%d cohorts); total %.0f s\n", sum(tab$finished == "yes"), nrow(tab),
            length(cohorts), seconds_all))
for (pol in policies) {
  cat(sprintf("  %-6s %d of %d\n", pol, sum(tab$finished == "yes" & tab$policy == pol), sum(tab$policy == pol)))
}
if (nzchar(opt$out)) {
  utils::write.csv(do.call(rbind, full), opt$out, row.names = FALSE)
  cat("-> ", opt$out, "\n", sep = "")
}
