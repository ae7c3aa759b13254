# Baseline characteristics table ("Table 1").

#' Baseline characteristics table by group
#'
#' Rules and conventions:
#' * A variable is **continuous** when it is numeric with more than 5 distinct
#'   values and not listed in `categorical`; otherwise it is categorical
#'   (levels in factor order, or sorted values).
#' * Continuous: `"mean ± SD"` (SD with n - 1) or `"median (Q1, Q3)"`
#'   (quartiles by `quantile(type = 7)`), formatted with `digits` decimals,
#'   overall and per group, as chosen by `summary`. The default `"auto"`
#'   uses the median (IQR) when the variable is skewed — absolute sample
#'   skewness (`m3 / m2^1.5` over all non-missing values) above 1 — and the
#'   mean ± SD otherwise; the `summary` column says which. The p-value is
#'   from the Mann-Whitney U test (`wilcox.test(exact = FALSE, correct =
#'   TRUE)`) for two groups, the Kruskal-Wallis test for more, either way.
#' * Categorical: `"n (%)"` per level, percentages within each column among
#'   patients with a known value, one decimal; p-value from Pearson's
#'   chi-squared test (`chisq.test(correct = TRUE)`; Yates' continuity
#'   correction applies to 2x2 tables only) or, when any expected count is
#'   below 5, Fisher's exact test (`fisher.test`; for tables too large for the
#'   exact network algorithm, a Monte-Carlo p-value with 1e5 replicates and
#'   seed 1 is used and the test is labelled so).
#' * **Missing values** are not an error: summaries and tests use the patients
#'   with a value, and a variable with missing values gets an extra row
#'   (level `"Missing"`) with the count and percentage of all patients in
#'   each column. Patients with a missing `group` are left out, with a warning.
#' * p-value and test name are on a variable's first row (`NA` / `""` elsewhere).
#' * **Group columns** are named by the group's level and ordered as the
#'   levels of `group` (factor level order; sorted values for a character
#'   column). A level that equals one of the table's own columns (`variable`,
#'   `level`, `summary`, `overall`, `p_value`, `test`) gets the column name
#'   `"<group>=<level>"` instead, so no group is ever lost; the attribute
#'   `"group_columns"` maps each level to its column.
#'
#' @param data data.frame.
#' @param group Name of the grouping column (e.g. the outcome or the
#'   train/test split); at least two groups.
#' @param vars Character vector of variables to summarise.
#' @param categorical Optional character vector of numeric variables to treat
#'   as categorical regardless of the rule above.
#' @param digits Decimals for means, SDs, medians and quartiles.
#' @param summary How continuous variables are summarised: `"auto"` (rule
#'   above), `"mean_sd"`, `"median_iqr"`, or a named character vector giving
#'   one of the last two per variable (unnamed variables use `"auto"`).
#' @return data.frame variable, level, summary, overall, one column per group
#'   level, p_value, test. The attribute `"numeric"` holds the numbers behind
#'   the strings: a long data.frame variable, level, column, n, mean, sd,
#'   median, q1, q3, count, percent; `"group_columns"` maps group levels to
#'   column names.
#' @examples
#' d <- data.frame(g = rep(c("A", "B"), 20), age = rnorm(40, 60, 8), sex = rep(c("F", "M", "M", "F"), 10))
#' baseline_table(d, "g", c("age", "sex"))
#' # train/test split as the grouping, groups named like the table's own columns
#' both <- rbind(cbind(MASS::Pima.tr, set = "train"), cbind(MASS::Pima.te, set = "test"))
#' baseline_table(both, "set", c("glu", "type"))
#' @export
baseline_table <- function(data, group, vars, categorical = NULL, digits = 2, summary = "auto") {
  if (!is.data.frame(data)) abort("'data' must be a data.frame, not ", class(data)[1L], ".")
  check_column_name(group, data, "group")
  if (!is.character(vars) || !length(vars) || anyNA(vars)) abort("'vars' must be a non-empty character vector of column names.")
  missing <- setdiff(c(vars, categorical), names(data))
  if (length(missing)) abort("Column(s) ", name_list(missing), " named in 'vars'/'categorical' are not in 'data'.")
  if (group %in% vars) abort("The grouping column '", group, "' cannot also be in 'vars'.")
  check_number(digits, "digits", 0, 10, integer = TRUE)
  how <- table1_summary_choice(summary, vars)
  if (anyNA(data[[group]])) {
    warn_classed("radnomo_missing_group", "baseline_table: ", sum(is.na(data[[group]])), " patient(s) with a ",
                 "missing '", group, "' are left out.")
    data <- data[!is.na(data[[group]]), , drop = FALSE]
  }
  g <- droplevels(as.factor(data[[group]]))
  if (nlevels(g) < 2L) abort("'group' column '", group, "' must have at least two groups; found ", nlevels(g), ".")
  levs <- levels(g)
  fixed <- c("variable", "level", "summary", "overall", "p_value", "test")
  gcols <- ifelse(levs %in% fixed, paste0(group, "=", levs), levs)
  names(gcols) <- levs
  rows <- list(); nums <- list()
  for (v in vars) {
    x <- data[[v]]
    known <- !is.na(x)
    xs <- x[known]
    gs <- droplevels(g[known])
    if (!length(xs)) abort("Variable '", v, "' has no non-missing value.")
    cont <- is.numeric(xs) && length(unique(xs)) > 5L && !(v %in% categorical)
    if (cont) {
      use <- if (how[[v]] == "auto") if (abs(sample_skewness(xs)) > 1) "median_iqr" else "mean_sd" else how[[v]]
      res <- continuous_rows(v, xs, gs, digits, use, gcols)
    } else {
      res <- categorical_rows(v, xs, gs, gcols)
    }
    r <- res$rows
    if (any(!known)) {
      miss <- c(list(overall = !known), stats::setNames(split(!known, g), unname(gcols[levels(g)])))
      mr <- r[1L, , drop = FALSE]
      mr$level <- "Missing"
      mr$summary <- "n (%)"
      for (cn in names(miss)) mr[[cn]] <- sprintf("%d (%.1f%%)", sum(miss[[cn]]), 100 * mean(miss[[cn]]))
      mr$p_value <- NA_real_
      mr$test <- ""
      r <- rbind(r, mr)
      nm <- data.frame(variable = v, level = "Missing", column = names(miss),
                       n = vapply(miss, length, integer(1)), mean = NA_real_, sd = NA_real_,
                       median = NA_real_, q1 = NA_real_, q3 = NA_real_,
                       count = vapply(miss, function(m) as.integer(sum(m)), integer(1)),
                       percent = vapply(miss, function(m) 100 * mean(m), numeric(1)), stringsAsFactors = FALSE)
      res$numeric <- rbind(res$numeric, nm)
    }
    rows[[v]] <- r
    nums[[v]] <- res$numeric
  }
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out <- out[, c("variable", "level", "summary", "overall", unname(gcols), "p_value", "test"), drop = FALSE]
  num <- do.call(rbind, nums)
  rownames(num) <- NULL
  attr(out, "numeric") <- num
  attr(out, "group_columns") <- gcols
  out
}

#' Per-variable continuous summary choice ("auto", "mean_sd", "median_iqr")
#' @noRd
table1_summary_choice <- function(summary, vars) {
  ok <- c("auto", "mean_sd", "median_iqr")
  if (!is.character(summary) || !length(summary) || anyNA(summary) || !all(summary %in% ok)) {
    abort("'summary' must be \"auto\", \"mean_sd\" or \"median_iqr\", or a named vector of these per variable.")
  }
  how <- stats::setNames(rep("auto", length(vars)), vars)
  if (is.null(names(summary))) {
    if (length(summary) != 1L) abort("An unnamed 'summary' must be a single value.")
    how[] <- summary
  } else {
    unknown <- setdiff(names(summary), vars)
    if (length(unknown)) abort("'summary' names variable(s) not in 'vars': ", name_list(unknown), ".")
    how[names(summary)] <- summary
  }
  how
}

#' Sample skewness m3 / m2^1.5 (0 for a constant)
#' @noRd
sample_skewness <- function(x) {
  d <- x - mean(x)
  m2 <- mean(d^2)
  if (m2 == 0) return(0)
  mean(d^3) / m2^1.5
}

#' @noRd
fmt_mean_sd <- function(x, digits) {
  sprintf("%.*f \u00b1 %.*f", digits, mean(x), digits, if (length(x) > 1L) stats::sd(x) else NA_real_)
}

#' @noRd
fmt_median_iqr <- function(x, digits) {
  q <- stats::quantile(x, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
  sprintf("%.*f (%.*f, %.*f)", digits, q[2L], digits, q[1L], digits, q[3L])
}

#' @noRd
continuous_rows <- function(v, x, g, digits, use, gcols) {
  levs <- names(gcols)
  cols <- c(list(overall = x), stats::setNames(lapply(levs, function(l) x[g == l]), unname(gcols)))
  fmt <- if (use == "median_iqr") fmt_median_iqr else fmt_mean_sd
  strings <- vapply(cols, function(z) if (length(z)) fmt(z, digits) else "-", character(1))
  present <- levels(droplevels(g))
  if (length(present) < 2L) {
    p <- NA_real_; test <- ""
  } else if (length(present) == 2L) {
    p <- stats::wilcox.test(x[g == present[2L]], x[g == present[1L]], exact = FALSE, correct = TRUE)$p.value
    test <- "Mann-Whitney U"
  } else {
    p <- stats::kruskal.test(x, droplevels(g))$p.value
    test <- "Kruskal-Wallis"
  }
  row <- data.frame(variable = v, level = "", stringsAsFactors = FALSE)
  row$summary <- if (use == "median_iqr") "median (IQR)" else "mean \u00b1 SD"
  row$overall <- strings[["overall"]]
  for (l in levs) row[[gcols[[l]]]] <- strings[[gcols[[l]]]]
  row$p_value <- p
  row$test <- test
  q <- function(z, pr) if (length(z)) stats::quantile(z, pr, type = 7, names = FALSE) else NA_real_
  num <- data.frame(variable = v, level = "", column = names(cols),
                    n = vapply(cols, length, integer(1)),
                    mean = vapply(cols, function(z) if (length(z)) mean(z) else NA_real_, numeric(1)),
                    sd = vapply(cols, function(z) if (length(z) > 1L) stats::sd(z) else NA_real_, numeric(1)),
                    median = vapply(cols, q, numeric(1), pr = 0.5), q1 = vapply(cols, q, numeric(1), pr = 0.25),
                    q3 = vapply(cols, q, numeric(1), pr = 0.75),
                    count = NA_integer_, percent = NA_real_, stringsAsFactors = FALSE)
  list(rows = row, numeric = num)
}

#' @noRd
categorical_rows <- function(v, x, g, gcols) {
  f <- droplevels(as.factor(x))
  g <- factor(as.character(g), levels = names(gcols))
  tab <- table(f, g)
  tt <- tab[, colSums(tab) > 0, drop = FALSE] # groups without a known value take no part in the test
  if (nlevels(f) < 2L || ncol(tt) < 2L) {
    p <- NA_real_; test <- ""
  } else if (any(suppressWarnings(stats::chisq.test(tt, correct = TRUE)$expected) < 5)) {
    ft <- tryCatch(list(p = stats::fisher.test(tt)$p.value, test = "Fisher's exact"),
                   error = function(e) list(p = with_seed(1L, stats::fisher.test(tt, simulate.p.value = TRUE, B = 1e5)$p.value),
                                            test = "Fisher's exact (Monte Carlo)"))
    p <- ft$p; test <- ft$test
  } else {
    p <- stats::chisq.test(tt, correct = TRUE)$p.value
    test <- "Chi-squared"
  }
  counts <- unclass(tab)
  colnames(counts) <- unname(gcols)
  counts <- cbind(overall = rowSums(tab), counts)
  pct <- sweep(counts, 2L, pmax(colSums(counts), 1), "/") * 100
  rows <- data.frame(variable = v, level = rownames(counts), summary = "n (%)", stringsAsFactors = FALSE)
  for (cn in colnames(counts)) rows[[cn]] <- sprintf("%d (%.1f%%)", as.integer(counts[, cn]), pct[, cn])
  rows$p_value <- c(p, rep(NA_real_, nrow(rows) - 1L))
  rows$test <- c(test, rep("", nrow(rows) - 1L))
  num <- data.frame(variable = v, level = rep(rownames(counts), ncol(counts)),
                    column = rep(colnames(counts), each = nrow(counts)),
                    n = rep(as.integer(colSums(counts)), each = nrow(counts)), mean = NA_real_, sd = NA_real_,
                    median = NA_real_, q1 = NA_real_, q3 = NA_real_, count = as.integer(counts), percent = as.vector(pct), stringsAsFactors = FALSE)
  list(rows = rows, numeric = num)
}
