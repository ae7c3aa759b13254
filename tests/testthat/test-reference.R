# The reference data listed in tests/reference/PROVENANCE.md are part of the
# repository: every listed file must be present with its recorded size and
# MD5, and every file in tests/reference must be listed.

read_provenance_files <- function() {
  lines <- readLines(reference_file("PROVENANCE.md"), encoding = "UTF-8")
  rows <- grep("^\\| `[^`]+` \\|", lines, value = TRUE)
  cells <- lapply(strsplit(rows, "|", fixed = TRUE), function(x) trimws(x[-1]))
  data.frame(file = gsub("`", "", vapply(cells, `[`, "", 1)),
             bytes = as.numeric(vapply(cells, `[`, "", 2)),
             md5 = vapply(cells, `[`, "", 3),
             r_build = vapply(cells, `[`, "", 4) == "yes",
             stringsAsFactors = FALSE)
}

test_that("every reference file listed in PROVENANCE.md is present and unchanged", {
  files <- read_provenance_files()
  expect_gt(nrow(files), 10)
  expect_true(all(files$r_build[startsWith(files$file, "clinstats/")]))
  # Inside R CMD check the package was built without the Python-only
  # reference data (.Rbuildignore); everything the R tests read is kept.
  if (nzchar(Sys.getenv("_R_CHECK_PACKAGE_NAME_"))) files <- files[files$r_build, ]
  paths <- reference_path(files$file)
  missing <- files$file[!file.exists(paths)]
  expect(length(missing) == 0L,
         paste0("reference file(s) listed in tests/reference/PROVENANCE.md are missing: ",
                paste(missing, collapse = ", ")))
  ok <- file.exists(paths)
  expect_equal(unname(file.size(paths[ok])), files$bytes[ok], label = "reference file sizes")
  expect_identical(unname(tools::md5sum(paths[ok])), files$md5[ok], label = "reference file MD5s")
})

test_that("every file in tests/reference is listed in PROVENANCE.md", {
  files <- read_provenance_files()
  present <- list.files(reference_path(), recursive = TRUE, all.files = TRUE)
  unlisted <- setdiff(present, c("PROVENANCE.md", files$file))
  expect(length(unlisted) == 0L,
         paste0("file(s) in tests/reference without an entry in PROVENANCE.md: ",
                paste(unlisted, collapse = ", ")))
})
