# Input checks shared by every exported function.
#
# Each check either returns a cleaned value or stops with a message that names
# the argument (and column) at fault and says what is wrong, so that a
# statistician can fix the input without reading the source.

#' Stop with a message and no call, as an error of class radnomo_input_error
#'
#' Every check of radnomo's arguments and data stops this way, so that
#' `tryCatch(..., radnomo_input_error = )` (and the Python bridge, which
#' raises `InputError`) can tell bad input from other failures. Other
#' failures name their own class (`radnomo_missing_dependency`,
#' `radnomo_bridge_error`, ...); every class is also a `radnomo_error`.
#' @noRd
abort <- function(..., class = "radnomo_input_error") {
  stop(structure(class = unique(c(class, "radnomo_error", "error", "condition")),
                 list(message = paste0(...), call = NULL)))
}

#' Signal a warning with a radnomo condition class
#'
#' Degenerate but valid data (nothing selected, a single term, an undefined
#' metric) give classed warnings, so callers and the Python bridge can tell
#' them apart from other warnings.
#' @noRd
warn_classed <- function(class, ...) {
  warning(structure(class = c(class, "warning", "condition"), list(message = paste0(...), call = NULL)))
}

#' Format a vector of names for an error message (at most 10 shown)
#' @noRd
name_list <- function(x, max = 10L) {
  x <- as.character(x)
  shown <- utils::head(x, max)
  out <- paste0("'", shown, "'", collapse = ", ")
  if (length(x) > max) out <- paste0(out, " and ", length(x) - max, " more")
  out
}

#' match.arg() whose error is of class radnomo_input_error
#'
#' Same matching as `match.arg(arg)` (the default choices are the calling
#' function's formal argument; exact or unique partial match; the whole
#' default vector selects its first element).
#' @noRd
match_arg <- function(arg, choices) {
  name <- deparse(substitute(arg))
  if (missing(choices)) {
    parent <- sys.parent()
    choices <- eval(formals(sys.function(parent))[[name]], envir = sys.frame(parent))
  }
  if (is.null(arg) || identical(arg, choices)) return(choices[1L])
  if (!is.character(arg) || length(arg) != 1L || is.na(arg)) {
    abort("'", name, "' should be one of ", name_list(choices), "; it must be a single string.")
  }
  i <- pmatch(arg, choices, nomatch = 0L, duplicates.ok = TRUE)
  if (i == 0L) abort("'", name, "' should be one of ", name_list(choices), "; got '", arg, "'.")
  choices[i]
}

#' Check a binary outcome and return it as integer 0/1
#'
#' Accepted: numeric 0/1, logical (TRUE = event), or a factor / character
#' vector with exactly two distinct values. `event` names the value coded 1
#' (compared as text, like pROC's `levels`). Without `event`, numeric and
#' logical outcomes are used as they are, and for a factor the second level,
#' for a character vector the second value in sorted order, is the event —
#' announced with a message of class `radnomo_event_level` (as pROC announces
#' its `levels`), since an inverted outcome inverts every odds ratio and AUC.
#' @noRd
check_binary <- function(y, arg = "y", event = NULL) {
  if (is.null(y) || length(y) == 0L) abort("'", arg, "' is empty; it must be a binary outcome.")
  if (is.data.frame(y) || is.matrix(y)) {
    if (NCOL(y) != 1L) abort("'", arg, "' must be a vector, not a table with ", NCOL(y), " columns.")
    y <- y[[1L]]
  }
  if (anyNA(y)) {
    abort("'", arg, "' has ", sum(is.na(y)), " missing value(s) (rows ",
          paste(utils::head(which(is.na(y)), 10L), collapse = ", "), "); remove or impute them first.")
  }
  if (!is.null(event)) {
    if (length(event) != 1L || is.na(event)) abort("'event' must be a single value of '", arg, "'.")
    vals <- if (is.factor(y)) levels(droplevels(y)) else sort(unique(as.character(y)))
    if (!as.character(event) %in% vals) {
      abort("'event' = '", event, "' is not a value of '", arg, "' (its values: ", name_list(vals), ").")
    }
    if (length(vals) != 2L) {
      abort("'", arg, "' must have exactly two classes; found ", length(vals), " (", name_list(vals), ").")
    }
    out <- as.integer(as.character(y) == as.character(event))
  } else {
    if (is.character(y)) y <- factor(y)
    if (is.factor(y)) {
      y <- droplevels(y)
      if (nlevels(y) != 2L) {
        abort("'", arg, "' must have exactly two classes; found ", nlevels(y), " (",
              name_list(levels(y)), ").")
      }
      announce_event(arg, levels(y))
      out <- as.integer(y == levels(y)[2L])
    } else if (is.logical(y)) {
      out <- as.integer(y)
    } else if (is.numeric(y)) {
      bad <- !(y %in% c(0, 1))
      if (any(bad)) {
        abort("'", arg, "' must be coded 0/1 (or logical, or a two-level factor); found value(s) ",
              paste(utils::head(unique(y[bad]), 5L), collapse = ", "), ".")
      }
      out <- as.integer(y)
    } else {
      abort("'", arg, "' must be numeric 0/1, logical or a two-level factor, not ", class(y)[1L], ".")
    }
  }
  if (length(unique(out)) < 2L) {
    abort("'", arg, "' contains only one class (all ", out[1L], "); both outcome classes are needed.")
  }
  out
}

#' The name messages give an outcome passed as a vector
#'
#' `name`: the caller's explicit `outcome_name` (a single string, e.g. the
#' outcome column, "recurrence"); used when given. Otherwise `expr`, the
#' caller's `substitute()` of its outcome argument: a variable (`recurrence`)
#' or a column taken from a data frame (`d$recurrence`, `d[["recurrence"]]`)
#' names the outcome as written; anything else (a computed value, a value
#' passed through `do.call` or the Python bridge) falls back to `default`,
#' the argument's name.
#' @noRd
outcome_label <- function(name = NULL, expr = NULL, default = "y") {
  if (!is.null(name)) {
    if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name)) {
      abort("'outcome_name' must be a single, non-empty string (the outcome's name for messages).")
    }
    return(name)
  }
  if (is.symbol(expr)) return(as.character(expr))
  if (is.call(expr) && (identical(expr[[1L]], as.name("$")) || identical(expr[[1L]], as.name("[["))) &&
      is.symbol(expr[[2L]]) && (is.symbol(expr[[3L]]) || is.character(expr[[3L]]))) {
    d <- deparse(expr, width.cutoff = 500L)
    if (length(d) == 1L && nchar(d) <= 60L) return(d)
  }
  default
}

#' Say which level of a two-class outcome is taken as the event
#' @noRd
announce_event <- function(arg, levels) {
  message(structure(class = c("radnomo_event_level", "message", "condition"), list(
    message = paste0("Outcome '", arg, "': event = '", levels[2L], "', non-event = '", levels[1L],
                     "' (the second level is the event; set event = to choose).\n"),
    call = NULL)))
}

#' Check that two lengths match
#' @noRd
check_same_length <- function(n_expected, x, arg, ref = "y") {
  # `ref`: the outcome's name in messages
  n <- NROW(x)
  if (n != n_expected) {
    abort("'", arg, "' has ", n, " rows/values but '", ref, "' has ", n_expected, "; they must match.")
  }
  invisible(TRUE)
}

#' Check a numeric feature table and return a numeric matrix with column names
#' @noRd
check_feature_matrix <- function(x, arg = "x") {
  if (is.null(x)) abort("'", arg, "' is missing.")
  if (!is.data.frame(x) && !is.matrix(x)) {
    abort("'", arg, "' must be a numeric matrix or a data.frame, not ", class(x)[1L], ".")
  }
  if (NCOL(x) == 0L) abort("'", arg, "' has no columns.")
  cn <- colnames(x)
  if (is.null(cn) || any(is.na(cn) | cn == "")) {
    abort("'", arg, "' must have column names (feature names) for every column.")
  }
  if (anyDuplicated(cn)) abort("'", arg, "' has duplicated column names: ", name_list(unique(cn[duplicated(cn)])), ".")
  if (is.data.frame(x)) {
    is_num <- vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))
    if (!all(is_num)) {
      abort("'", arg, "' has non-numeric feature column(s): ", name_list(cn[!is_num]),
            "; features must be numeric.")
    }
    x <- as.matrix(x)
    storage.mode(x) <- "double"
  } else {
    if (!is.numeric(x) && !is.logical(x)) abort("'", arg, "' must be numeric; it is a ", typeof(x), " matrix.")
    storage.mode(x) <- "double"
  }
  na_cols <- cn[colSums(is.na(x)) > 0L]
  if (length(na_cols)) {
    abort("'", arg, "' has missing or NaN values in column(s) ", name_list(na_cols),
          "; remove or impute them first.")
  }
  inf_cols <- cn[colSums(!is.finite(x)) > 0L]
  if (length(inf_cols)) abort("'", arg, "' has infinite values in column(s) ", name_list(inf_cols), ".")
  x
}

#' Check that data has the named columns
#' @noRd
check_has_columns <- function(data, cols, arg = "newdata") {
  if (!is.data.frame(data) && !is.matrix(data)) {
    abort("'", arg, "' must be a data.frame or matrix, not ", class(data)[1L], ".")
  }
  missing <- setdiff(cols, colnames(data))
  if (length(missing)) {
    abort("'", arg, "' lacks the column(s) ", name_list(missing), " that the fitted model needs.")
  }
  invisible(TRUE)
}

#' Check that selected data.frame columns have no NA
#' @noRd
check_no_na_columns <- function(data, cols, arg = "data") {
  na_cols <- cols[vapply(cols, function(v) anyNA(data[[v]]), logical(1))]
  if (length(na_cols)) {
    abort("'", arg, "' has missing values in column(s) ", name_list(na_cols),
          "; remove or impute them first.")
  }
  invisible(TRUE)
}

#' Check a single number within bounds
#' @noRd
check_number <- function(x, arg, lower = -Inf, upper = Inf, integer = FALSE,
                         lower_open = FALSE, upper_open = FALSE) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x)) abort("'", arg, "' must be a single number.")
  bad_low <- if (lower_open) x <= lower else x < lower
  bad_up <- if (upper_open) x >= upper else x > upper
  if (bad_low || bad_up) {
    abort("'", arg, "' must lie in ", if (lower_open) "(" else "[", lower, ", ", upper,
          if (upper_open) ")" else "]", "; got ", x, ".")
  }
  if (integer && x != round(x)) abort("'", arg, "' must be a whole number; got ", x, ".")
  x
}

#' Check an optional RNG seed
#' @noRd
check_seed <- function(seed, arg = "seed") {
  if (is.null(seed)) return(NULL)
  check_number(seed, arg, integer = TRUE)
  as.integer(seed)
}

#' Check a single column name present in data
#' @noRd
check_column_name <- function(name, data, arg) {
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    abort("'", arg, "' must be a single column name.")
  }
  if (!name %in% names(data)) abort("'", arg, "' = '", name, "' is not a column of the data.")
  name
}

#' Check a named list (or data.frame) of numeric score vectors
#' @noRd
check_score_list <- function(scores, n, arg, min_models = 1L, probability = FALSE) {
  if (is.numeric(scores) && !is.list(scores)) {
    scores <- list(model = scores)
  }
  if (is.data.frame(scores)) scores <- as.list(scores)
  if (!is.list(scores) || length(scores) < min_models) {
    abort("'", arg, "' must be a named list or data.frame of at least ", min_models, " numeric vector(s).")
  }
  nm <- names(scores)
  if (is.null(nm) || any(is.na(nm) | nm == "")) {
    abort("'", arg, "' must be named (one name per model).")
  }
  if (anyDuplicated(nm)) abort("'", arg, "' has duplicated model names: ", name_list(unique(nm[duplicated(nm)])), ".")
  for (k in nm) {
    s <- scores[[k]]
    # a single vector is named by the argument itself ('risk', not 'risk$risk')
    lab <- if (identical(k, arg)) arg else paste0(arg, "$", k)
    if (!is.numeric(s)) abort("'", lab, "' must be numeric, not ", class(s)[1L], ".")
    if (length(s) != n) abort("'", lab, "' has ", length(s), " values but the outcome has ", n, ".")
    if (anyNA(s)) abort("'", lab, "' has ", sum(is.na(s)), " missing value(s).")
    if (probability && any(s < 0 | s > 1)) {
      abort("'", lab, "' must be predicted probabilities in [0, 1]; found values outside.")
    }
  }
  lapply(scores, as.numeric)
}

#' Check a numeric score vector (no NA, right length)
#' @noRd
check_score <- function(score, n, arg = "score", probability = FALSE) {
  check_score_list(stats::setNames(list(score), arg), n, arg = arg, probability = probability)[[1L]]
}

#' Wald coefficient table of a binomial model (95% CI on the odds-ratio scale)
#' @noRd
wald_table <- function(estimate, se, term) {
  z <- estimate / se
  q <- stats::qnorm(0.975)
  data.frame(
    term = term,
    estimate = unname(estimate),
    std_error = unname(se),
    z = unname(z),
    p_value = unname(2 * stats::pnorm(-abs(z))),
    odds_ratio = unname(exp(estimate)),
    or_lower = unname(exp(estimate - q * se)),
    or_upper = unname(exp(estimate + q * se)),
    stringsAsFactors = FALSE
  )
}

#' Evaluate an expression with a seed, leaving the caller's RNG state untouched
#' @noRd
with_seed <- function(seed, expr) {
  if (is.null(seed)) return(expr)
  env <- globalenv()
  had_seed <- exists(".Random.seed", envir = env, inherits = FALSE)
  if (had_seed) old <- get(".Random.seed", envir = env, inherits = FALSE)
  on.exit({
    if (had_seed) assign(".Random.seed", old, envir = env) else if (exists(".Random.seed", envir = env, inherits = FALSE)) rm(".Random.seed", envir = env)
  })
  set.seed(seed)
  expr
}

#' Build a formula from an outcome and term names, back-quoting non-syntactic names
#' @noRd
make_formula <- function(outcome, terms) {
  q <- function(v) paste0("`", gsub("`", "\\\\`", v), "`")
  rhs <- if (length(terms)) paste(q(terms), collapse = " + ") else "1"
  stats::as.formula(paste(q(outcome), "~", rhs), env = baseenv())
}

#' Check a type argument for predict methods
#' @noRd
check_newdata <- function(newdata, arg = "newdata") {
  if (is.matrix(newdata)) newdata <- as.data.frame(newdata, stringsAsFactors = FALSE)
  if (!is.data.frame(newdata)) abort("'", arg, "' must be a data.frame or matrix, not ", class(newdata)[1L], ".")
  newdata
}
