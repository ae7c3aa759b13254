# Internal helpers used by the Python bridge (python/radnomo/stats). Not exported:
# the bridge reaches them as radnomo:::bridge_call, so no R code is ever built
# from strings in the global environment.

#' Call a radnomo function and capture its warnings and error (internal)
#'
#' @param name Name of a function in the radnomo namespace (or visible from it,
#'   e.g. the `predict` generic).
#' @param args A list of arguments (may be named).
#' @return A list: `ok` (logical), `value` (when ok), `error` (message, when
#'   not ok), `error_class` (the radnomo condition class of the error, or
#'   ""), `warnings` (character vector of warning messages, in order) and
#'   `warning_classes` (for each warning its radnomo condition class, such as
#'   "radnomo_separation", or "").
#' @keywords internal
#' @noRd
bridge_call <- function(name, args) {
  fun <- get(name, envir = asNamespace("radnomo"), mode = "function")
  warnings <- character()
  classes <- character()
  value <- withCallingHandlers(
    tryCatch(do.call(fun, args, quote = TRUE), error = function(e) e),
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

#' The first (most specific) radnomo_* class of a condition, or ""
#' @noRd
radnomo_class <- function(cond) {
  cl <- grep("^radnomo_", class(cond), value = TRUE)
  if (length(cl)) cl[[1L]] else ""
}

#' Build a data frame from a numeric matrix and an optional data frame (internal)
#'
#' Wide feature data crosses the bridge as one numeric matrix with column
#' names; this joins it to the (narrow) clinical/identifier columns in R.
#' @keywords internal
#' @noRd
bridge_frame <- function(x, data = NULL) {
  features <- as.data.frame(x, optional = TRUE, stringsAsFactors = FALSE)
  names(features) <- colnames(x)
  if (is.null(data)) return(features)
  if (nrow(data) != nrow(features)) {
    stop("bridge_frame: the feature matrix has ", nrow(features),
         " rows but the data frame has ", nrow(data), call. = FALSE)
  }
  cbind(data, features)
}
