# Baseline characteristics table ("Table 1").

#' Baseline characteristics table by group
#'
#' Rules and conventions:
#' * A variable is **continuous** when it is numeric with more than 5 distinct
#'   values and not listed in `categorical`; otherwise it is categorical
#'   (levels in factor order, or sorted values).
#' * Continuous: `"mean ± SD"` (SD with n - 1) formatted with `digits`
#'   decimals, overall and per group; p-value from the Mann-Whitney U test
#'   (`wilcox.test(exact = FALSE, correct = TRUE)`) for two groups, the
#'   Kruskal-Wallis test for more.
#' * Categorical: `"n (%)"` per level, percentages within each column, one
#'   decimal; p-value from Pearson's chi-squared test (`chisq.test(correct =
#'   TRUE)`; Yates' continuity correction applies to 2x2 tables only) or, when
#'   any expected count is below 5, Fisher's exact test (`fisher.test`; for
#'   tables too large for the exact network algorithm, a Monte-Carlo p-value
#'   with 1e5 replicates and seed 1 is used and the test is labelled so).
#' * p-value and test name are on a variable's first row (`NA` / `""` elsewhere).
#'
#' @param data data.frame.
#' @param group Name of the grouping column (e.g. the outcome or the
#'   train/test split); at least two groups.
#' @param vars Character vector of variables to summarise.
#' @param categorical Optional character vector of numeric variables to treat
#'   as categorical regardless of the rule above.
#' @param digits Decimals for means and SDs.
#' @return data.frame variable, level, overall, one column per group level
#'   (named by the level), p_value, test. The attribute `"numeric"` holds the
#'   numbers behind the strings: a long data.frame variable, level, column,
#'   n, mean, sd, count, percent.
#' @examples
#' d <- data.frame(g = rep(c("A", "B"), 20), age = rnorm(40, 60, 8), sex = rep(c("F", "M", "M", "F"), 10))
#' baseline_table(d, "g", c("age", "sex"))
#' @export
baseline_table <- function(data, group, vars, categorical = NULL, digits = 2) {
  if (!is.data.frame(data)) abort("'data' must be a data.frame, not ", class(data)[1L], ".")
  check_column_name(group, data, "group")
  if (!is.character(vars) || !length(vars) || anyNA(vars)) abort("'vars' must be a non-empty character vector of column names.")
  missing <- setdiff(c(vars, categorical), names(data))
  if (length(missing)) abort("Column(s) ", name_list(missing), " named in 'vars'/'categorical' are not in 'data'.")
  if (group %in% vars) abort("The grouping column '", group, "' cannot also be in 'vars'.")
  check_number(digits, "digits", 0, 10, integer = TRUE)
  check_no_na_columns(data, c(group, vars), "data")
  g <- droplevels(as.factor(data[[group]]))
  if (nlevels(g) < 2L) abort("'group' column '", group, "' must have at least two groups; found ", nlevels(g), ".")
  levs <- levels(g)
  rows <- list(); nums <- list()
  for (v in vars) {
    x <- data[[v]]
    cont <- is.numeric(x) && length(unique(x)) > 5L && !(v %in% categorical)
    res <- if (cont) continuous_rows(v, x, g, digits) else categorical_rows(v, x, g)
    rows[[v]] <- res$rows
    nums[[v]] <- res$numeric
  }
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  num <- do.call(rbind, nums)
  rownames(num) <- NULL
  attr(out, "numeric") <- num
  out
}

#' @noRd
fmt_mean_sd <- function(x, digits) {
  sprintf("%.*f \u00b1 %.*f", digits, mean(x), digits, if (length(x) > 1L) stats::sd(x) else NA_real_)
}

#' @noRd
continuous_rows <- function(v, x, g, digits) {
  levs <- levels(g)
  cols <- c(list(overall = x), split(x, g))
  strings <- vapply(cols, fmt_mean_sd, character(1), digits = digits)
  if (length(levs) == 2L) {
    p <- stats::wilcox.test(x[g == levs[2L]], x[g == levs[1L]], exact = FALSE, correct = TRUE)$p.value
    test <- "Mann-Whitney U"
  } else {
    p <- stats::kruskal.test(x, g)$p.value
    test <- "Kruskal-Wallis"
  }
  row <- data.frame(variable = v, level = "", stringsAsFactors = FALSE)
  row$overall <- strings[["overall"]]
  for (l in levs) row[[l]] <- strings[[l]]
  row$p_value <- p
  row$test <- test
  num <- data.frame(variable = v, level = "", column = names(cols),
                    n = vapply(cols, length, integer(1)), mean = vapply(cols, mean, numeric(1)),
                    sd = vapply(cols, stats::sd, numeric(1)), count = NA_integer_, percent = NA_real_,
                    stringsAsFactors = FALSE)
  list(rows = row, numeric = num)
}

#' @noRd
categorical_rows <- function(v, x, g) {
  levs <- levels(g)
  f <- droplevels(as.factor(x))
  tab <- table(f, g)
  expected <- suppressWarnings(stats::chisq.test(tab, correct = TRUE)$expected)
  if (nlevels(f) < 2L) {
    p <- NA_real_; test <- ""
  } else if (any(expected < 5)) {
    ft <- tryCatch(list(p = stats::fisher.test(tab)$p.value, test = "Fisher's exact"),
                   error = function(e) list(p = with_seed(1L, stats::fisher.test(tab, simulate.p.value = TRUE, B = 1e5)$p.value),
                                            test = "Fisher's exact (Monte Carlo)"))
    p <- ft$p; test <- ft$test
  } else {
    p <- stats::chisq.test(tab, correct = TRUE)$p.value
    test <- "Chi-squared"
  }
  counts <- cbind(overall = rowSums(tab), unclass(tab))
  pct <- sweep(counts, 2L, colSums(counts), "/") * 100
  rows <- data.frame(variable = v, level = rownames(counts), stringsAsFactors = FALSE)
  for (cn in colnames(counts)) rows[[cn]] <- sprintf("%d (%.1f%%)", as.integer(counts[, cn]), pct[, cn])
  rows$p_value <- c(p, rep(NA_real_, nrow(rows) - 1L))
  rows$test <- c(test, rep("", nrow(rows) - 1L))
  num <- data.frame(variable = v, level = rep(rownames(counts), ncol(counts)),
                    column = rep(colnames(counts), each = nrow(counts)),
                    n = rep(as.integer(colSums(counts)), each = nrow(counts)), mean = NA_real_, sd = NA_real_,
                    count = as.integer(counts), percent = as.vector(pct), stringsAsFactors = FALSE)
  list(rows = rows, numeric = num)
}
