# Runs the testthat suite under R CMD check (tests/testthat; reference data in
# tests/reference, see tests/reference/PROVENANCE.md).
library(testthat)
library(radnomo)

test_check("radnomo")
