# Cross-language check, R side: runs the radnomo R functions directly on the
# shared test vectors (tests/vectors) and writes every result table as CSV
# with 17 significant digits. tests/cross/test_cross.py runs the same inputs
# through the Python bridge and requires the same numbers (1e-10).
#
# Usage: Rscript tests/cross/run_r.R VECTORS_DIR OUT_DIR
suppressPackageStartupMessages(library(radnomo))

args <- commandArgs(trailingOnly = TRUE)
vec_dir <- args[[1]]
out_dir <- args[[2]]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

write_df <- function(df, name) {
  df <- as.data.frame(df)
  for (j in seq_along(df)) {
    if (is.factor(df[[j]])) df[[j]] <- as.character(df[[j]])
    if (is.double(df[[j]])) df[[j]] <- ifelse(is.na(df[[j]]), NA, sprintf("%.17g", df[[j]]))
  }
  utils::write.csv(df, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE, na = "NA")
}
vec <- function(x, name) write_df(data.frame(value = as.numeric(x)), name)

sel <- utils::read.csv(file.path(vec_dir, "selection.csv"), stringsAsFactors = FALSE)
clin <- utils::read.csv(file.path(vec_dir, "clinical.csv"), stringsAsFactors = FALSE)
x <- as.matrix(sel[, grep("^f", names(sel))])
y <- sel$label

s <- select_features(x, y, seed = 42)
write_df(s$steps, "select_steps")
write_df(s$mwu, "select_mwu")
write_df(s$coefficients, "select_coefficients")
vec(s$center, "select_center")
vec(s$scale, "select_scale")
vec(predict(s, x, type = "link"), "select_predict")
z <- transform_features(s, x)
write_df(z, "select_transform")

sp <- select_features(x, y, pca = TRUE, pca_variance = 0.9, seed = 42)
write_df(sp$steps, "pca_steps")
write_df(sp$coefficients, "pca_coefficients")
vec(predict(sp, x, type = "response"), "pca_predict")

sm <- score_model(z, y, s$selected)
write_df(sm$coefficients, "score_coefficients")
vec(predict(sm, z, type = "link"), "score_predict")

cand <- c("lnafp", "mls", "age", "alb", "sex", "child_pugh")
cl <- clinical_logistic(clin, "label", cand)
write_df(cl$univariable, "clinical_univariable")
write_df(cl$multivariable, "clinical_multivariable")
write_df(cl$vif, "clinical_vif")
vec(predict(cl, clin, type = "response"), "clinical_predict")

nm <- fit_nomogram(clin, "label", c("lnafp", "mls"))
write_df(nm$points, "nomogram_points")
write_df(nm$total_points, "nomogram_total_points")
write_df(nm$coefficients, "nomogram_coefficients")
vec(predict(nm, clin, type = "response"), "nomogram_predict")

write_df(roc_metrics(clin$label, clin$score_a), "roc_youden")
write_df(roc_metrics(clin$label, clin$score_b, threshold = 1), "roc_fixed")
write_df(delong_test(clin$label, list(a = clin$score_a, b = clin$score_b, lnafp = clin$lnafp)), "delong")

write_df(decision_curve(clin$label, list(risk_a = clin$risk_a)), "dca_optin")
write_df(decision_curve(clin$label, list(risk_a = clin$risk_a), policy = "opt-out",
                        thresholds = seq(0, 0.5, by = 0.05)), "dca_optout")
write_df(decision_curve(clin$label, list(risk_a = clin$risk_a), thresholds = c(0.1, 0.2, 0.3),
                        bootstraps = 50, seed = 9), "dca_boot")

cal <- calibration(clin$label, clin$risk_a)
write_df(cal$curve, "calibration_curve")
write_df(cal$stats, "calibration_stats")
calb <- calibration(clin$label, predict(nm, clin, type = "response"), fit = nm, B = 40, seed = 3)
write_df(calb$bootstrap, "calibration_bootstrap")
write_df(calb$optimism_corrected, "calibration_optimism")

write_df(baseline_table(clin, "label", c("age", "lnafp", "mls", "sex", "child_pugh")), "baseline")


st <- utils::read.csv(file.path(vec_dir, "study.csv"), stringsAsFactors = FALSE)
tr <- st[st$split == "train", ]
te <- st[st$split == "test", ]
fs <- fit_study(tr, te, radiomics = grep("^rad_", names(st), value = TRUE),
                deep = grep("^dl_", names(st), value = TRUE), clinical = c("lnafp", "mls", "age"),
                B = 30, seed = 5, thresholds = seq(0, 0.9, by = 0.1))
write_df(fs$scores, "study_scores")
write_df(fs$metrics, "study_metrics")
write_df(fs$delong, "study_delong")
write_df(fs$decision, "study_decision")
write_df(fs$steps, "study_steps")
write_df(fs$calibration$train$bootstrap, "study_calibration_train")
write_df(predict(fs, te), "study_predict_test")
write_df(evaluate_study(fs, te, set = "test")$metrics, "evaluate_metrics")
cat("study ok\n")

vs <- validate_study(tr, radiomics = grep("^rad_", names(st), value = TRUE), clinical = c("lnafp", "mls", "age"),
                     method = "cv", folds = 3, repeats = 2, seed = 7, nfolds = 5,
                     thresholds = seq(0, 0.5, by = 0.05))
write_df(vs$performance, "validate_performance")
write_df(vs$decision, "validate_decision")
write_df(vs$stability, "validate_stability")
write_df(vs$calibration, "validate_calibration")
cat("validate ok\n")
