# read_feature_table(): a Parquet table written by the Python engine (radnomo.io.tables
# .write_feature_table) is read back in R with exact values and its metadata.

repo_python <- function() {
  p <- file.path(testthat::test_path(), "..", "..", ".venv", "bin", "python")
  if (!file.exists(p)) testthat::skip("the project's Python environment (.venv) is not present")
  file.path(normalizePath(dirname(p)), "python")  # keep the venv symlink (do not resolve it)
}

write_table_with_python <- function(python, path) {
  code <- paste(
    "import sys, pandas as pd",
    "from radnomo.io.tables import write_feature_table",
    "df = pd.DataFrame({'patient_id': ['007', 'P2'], 'pvp_original_firstorder_Mean': [0.1, -2.5e-300],",
    "                   'ap_original_glcm_Contrast': [1/3, 12345.678901234567]})",
    "write_feature_table(df, sys.argv[1], {'engine': 'radiomics', 'params_sha256': 'abc', 'n_failed': 0})",
    sep = "\n")
  status <- system2(python, c("-c", shQuote(code), shQuote(path)), env = "LD_LIBRARY_PATH=")
  if (!identical(status, 0L)) testthat::skip("radnomo is not importable from the project's Python")
}

test_that("read_feature_table reads values and metadata written by the Python engine", {
  python <- repo_python()
  path <- tempfile(fileext = ".parquet")
  on.exit(unlink(path))
  write_table_with_python(python, path)
  engines <- c("python", if (requireNamespace("arrow", quietly = TRUE)) "arrow")
  for (engine in engines) {
    x <- read_feature_table(path, python = python, engine = engine)
    expect_identical(x$patient_id, c("007", "P2"))  # leading zeros kept: character ids
    expect_identical(names(x), c("patient_id", "pvp_original_firstorder_Mean", "ap_original_glcm_Contrast"))
    expect_identical(x$pvp_original_firstorder_Mean, c(0.1, -2.5e-300))  # exact round trip
    expect_identical(x$ap_original_glcm_Contrast, c(1 / 3, 12345.678901234567))
    meta <- attr(x, "radnomo")
    expect_identical(meta$engine, "radiomics")
    expect_identical(meta$params_sha256, "abc")
  }
})

test_that("read_feature_table gives clear errors", {
  expect_error(read_feature_table(file.path(tempdir(), "absent.parquet")), "not found")
  bad <- tempfile(fileext = ".parquet")
  writeLines("not parquet", bad)
  on.exit(unlink(bad))
  expect_error(read_feature_table(bad, python = repo_python(), engine = "python"), "could not be read")
  expect_error(read_feature_table(bad, python = "", engine = "python"), "arrow")
})
