# Internal helpers used by the Python bridge (python/radnomo/stats). Not exported:
# the bridge reaches bridge_call() in the package namespace, and bridge_call()
# runs only the package's exported functions and the bridge_* helpers below,
# so no R code is ever built from strings and no other R function is called
# from Python by name.

#' Call a radnomo function and capture its warnings and error (internal)
#'
#' @param name Name of an exported radnomo function or of a `bridge_*` helper
#'   of this file (anything else is an error of class `radnomo_bridge_error`).
#' @param args A list of arguments (may be named).
#' @return A list: `ok` (logical), `value` (when ok), `error` (message, when
#'   not ok), `error_class` (the radnomo condition class of the error, or
#'   ""), `warnings` (character vector of warning messages, in order) and
#'   `warning_classes` (for each warning its radnomo condition class, such as
#'   "radnomo_separation", or "").
#' @keywords internal
#' @noRd
bridge_call <- function(name, args) {
  warnings <- character()
  classes <- character()
  value <- withCallingHandlers(
    tryCatch(do.call(bridge_function(name), args, quote = TRUE), error = function(e) e),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      classes <<- c(classes, radnomo_class(w))
      invokeRestart("muffleWarning")
    },
    # radnomo's own messages (which outcome level is the event) travel with
    # the warnings, so Python shows them once, in order
    radnomo_event_level = function(m) {
      warnings <<- c(warnings, sub("\n$", "", conditionMessage(m)))
      classes <<- c(classes, "radnomo_event_level")
      invokeRestart("muffleMessage")
    }
  )
  if (inherits(value, "error")) {
    return(list(ok = FALSE, error = conditionMessage(value), error_class = radnomo_class(value),
                warnings = warnings, warning_classes = classes))
  }
  list(ok = TRUE, value = value, error_class = "", warnings = warnings, warning_classes = classes)
}

#' The function the bridge may call under `name`: an export or a bridge helper
#' @noRd
bridge_function <- function(name) {
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    abort("bridge_call: 'name' must be a single function name.", class = "radnomo_bridge_error")
  }
  ns <- asNamespace("radnomo")
  allowed <- name %in% getNamespaceExports(ns) || (startsWith(name, "bridge_") && name != "bridge_call")
  if (!allowed || !exists(name, envir = ns, mode = "function", inherits = FALSE)) {
    abort("'", name, "' is neither an exported function of the radnomo R package nor a bridge helper ",
          "(R/bridge.R); the Python bridge calls nothing else.", class = "radnomo_bridge_error")
  }
  get(name, envir = ns, mode = "function", inherits = FALSE)
}

#' The first (most specific) radnomo_* class of a condition, or ""
#' @noRd
radnomo_class <- function(cond) {
  cl <- grep("^radnomo_", class(cond), value = TRUE)
  if (length(cl)) cl[[1L]] else ""
}

#' Set up the embedded R session for the bridge (internal)
#'
#' R runs embedded in a multi-threaded Python process: forking it
#' (parallel::mclapply) can deadlock the child, so R-side parallel work uses
#' separate R processes over sockets.
#' @noRd
bridge_init <- function() {
  options(radnomo.parallel = "psock")
  invisible(TRUE)
}

#' Build a data frame from a numeric matrix and an optional data frame (internal)
#'
#' Wide feature data crosses the bridge as one numeric matrix with column
#' names; this joins it to the (narrow) clinical/identifier columns in R.
#' @noRd
bridge_frame <- function(x, data = NULL) {
  features <- as.data.frame(x, optional = TRUE, stringsAsFactors = FALSE)
  names(features) <- colnames(x)
  if (is.null(data)) return(features)
  if (nrow(data) != nrow(features)) {
    abort("The feature matrix has ", nrow(features), " rows but the data frame has ", nrow(data),
          "; they must match.")
  }
  cbind(data, features)
}

#' The value unchanged (internal; the bridge's conversion tests send values
#' to R and back through it)
#' @noRd
bridge_identity <- function(x) x

#' Predictions of a fitted radnomo object (internal): the `predict` method
#' of its class, with `type` when given
#' @noRd
bridge_predict <- function(object, newdata, type = NULL) {
  if (!nzchar(radnomo_class(object))) {
    abort("'object' must be a fitted radnomo model, not an object of class ", class(object)[1L], ".")
  }
  if (is.null(type)) stats::predict(object, newdata) else stats::predict(object, newdata, type = type)
}

#' A model formula from its text (internal), with the global environment as
#' its environment, as when typed at the R prompt
#' @noRd
bridge_formula <- function(text) {
  if (!is.character(text) || length(text) != 1L || is.na(text)) abort("The formula must be a single string.")
  f <- tryCatch(stats::as.formula(text, env = globalenv()), error = function(e) {
    abort("'", text, "' is not a valid R model formula (", conditionMessage(e), ").")
  })
  if (!inherits(f, "formula")) abort("'", text, "' is not a model formula (outcome ~ terms).")
  f
}

#' Save an R object with saveRDS (internal)
#' @noRd
bridge_save_rds <- function(object, file) {
  if (!is.character(file) || length(file) != 1L || is.na(file)) abort("'file' must be a single file path.")
  saveRDS(object, file)
  invisible(file)
}

#' Read a study saved with saveRDS (internal); anything else is an input error
#' @noRd
bridge_read_study <- function(file) {
  if (!is.character(file) || length(file) != 1L || is.na(file)) abort("'file' must be a single file path.")
  if (!file.exists(file)) abort("Study file not found: ", file, ".")
  obj <- tryCatch(readRDS(file), error = function(e) {
    abort("'", file, "' is not an R data file (saveRDS): ", conditionMessage(e))
  })
  if (!inherits(obj, "radnomo_study")) {
    abort("'", file, "' holds an object of class ", class(obj)[1L], ", not a radnomo study (fit_study()).")
  }
  obj
}
