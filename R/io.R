#' Read a radnomo feature table (Parquet) with its provenance metadata
#'
#' Feature tables are written by the Python engine (`radnomo extract ...`):
#' one row per patient, a `patient_id` column, then numeric feature columns
#' named `<sequence>_<image type>_<class>_<feature>`. Provenance (engine,
#' library versions, parameter YAML and its hash, input file hashes,
#' preprocessing parameters) is stored as JSON under the Arrow schema
#' metadata key `radnomo`.
#'
#' The `arrow` package is used when it is installed; otherwise the table is
#' read through the Python engine (`python -m` with radnomo installed), which
#' hands it over as CSV with 17 significant digits (doubles round-trip exactly).
#'
#' @param path Path of the `.parquet` file.
#' @param python Python executable with radnomo installed, used only when
#'   `arrow` is not available (default: option `radnomo.python`, else
#'   `python3` on the PATH).
#' @param engine `"auto"` (arrow if installed, else python), `"arrow"` or `"python"`.
#' @return A data frame (`patient_id` character, features double) with the
#'   metadata list as attribute `"radnomo"`.
#' @examples
#' \dontrun{
#' x <- read_feature_table("radiomics.parquet")
#' attr(x, "radnomo")$params_sha256
#' }
#' @export
read_feature_table <- function(path, python = getOption("radnomo.python", Sys.which("python3")),
                               engine = c("auto", "arrow", "python")) {
  engine <- match_arg(engine)
  if (!is.character(path) || length(path) != 1L || is.na(path)) {
    abort("'path' must be a single file path.")
  }
  if (!file.exists(path)) {
    abort("Feature table not found: ", path, ".")
  }
  if (engine == "auto") {
    engine <- if (requireNamespace("arrow", quietly = TRUE)) "arrow" else "python"
  }
  out <- if (engine == "arrow") .read_feature_table_arrow(path) else .read_feature_table_python(path, python)
  if ("patient_id" %in% names(out)) out$patient_id <- as.character(out$patient_id)
  out
}

.read_feature_table_arrow <- function(path) {
  if (!requireNamespace("arrow", quietly = TRUE)) {
    abort("engine = \"arrow\" needs the R package 'arrow'.", class = "radnomo_missing_dependency")
  }
  tab <- arrow::read_parquet(path, as_data_frame = FALSE)
  raw <- tab$schema$metadata[["radnomo"]]
  df <- as.data.frame(tab)
  attr(df, "radnomo") <- if (is.null(raw)) list() else jsonlite::fromJSON(raw, simplifyVector = FALSE)
  df
}

.read_feature_table_python <- function(path, python) {
  if (!nzchar(python) || !file.exists(python)) {
    abort("Reading a feature table without the R package 'arrow' needs Python with radnomo installed; ",
          "set options(radnomo.python = \"/path/to/python\") or install arrow.", class = "radnomo_missing_dependency")
  }
  if (!requireNamespace("jsonlite", quietly = TRUE)) {
    abort("Reading a feature table through Python needs the R package 'jsonlite'.",
          class = "radnomo_missing_dependency")
  }
  csv <- tempfile(fileext = ".csv")
  meta <- tempfile(fileext = ".json")
  on.exit(unlink(c(csv, meta)), add = TRUE)
  code <- paste(
    "import json, sys",
    "from radnomo.io.tables import read_feature_table",
    "df, meta = read_feature_table(sys.argv[1])",
    "df.to_csv(sys.argv[2], index=False, float_format='%.17g')",
    "open(sys.argv[3], 'w', encoding='utf-8').write(json.dumps(meta))",
    sep = "\n")
  err <- tempfile()
  on.exit(unlink(err), add = TRUE)
  status <- system2(python, c("-c", shQuote(code), shQuote(normalizePath(path)), shQuote(csv), shQuote(meta)),
                    stdout = err, stderr = err,
                    # R's own LD_LIBRARY_PATH can make Python load another libpython; clear it
                    env = "LD_LIBRARY_PATH=")
  if (!identical(status, 0L)) {
    abort("Python could not read the feature table ", path, ":\n",
          paste(readLines(err, warn = FALSE), collapse = "\n"))
  }
  df <- utils::read.csv(csv, check.names = FALSE, stringsAsFactors = FALSE,
                        colClasses = c(patient_id = "character"))
  attr(df, "radnomo") <- jsonlite::fromJSON(meta, simplifyVector = FALSE)
  df
}
