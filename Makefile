# radnomo: `make test` and `make demo` set up everything they need (idempotent)
# on a fresh Debian 12 machine as root, then run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make
export TZ := UTC
export MPLBACKEND := Agg
export PYTHONUNBUFFERED := 1

R_DEBS := r-base-core r-base-dev r-cran-glmnet r-cran-rms r-cran-proc r-cran-testthat r-cran-jsonlite r-cran-roxygen2 r-cran-car r-cran-brglm2 r-cran-lpsolve r-cran-mass r-cran-survival r-cran-knitr r-cran-rmarkdown
R_SOURCES := DESCRIPTION NAMESPACE $(wildcard R/*.R)

.PHONY: setup check-r test test-r test-python test-reliability demo bench doc clean

setup: $(STAMP)/r-debs $(STAMP)/venv $(STAMP)/rpkg $(STAMP)/pydev

# R CMD build + R CMD check --no-manual of the R package, in a temporary folder
# (a copy of the tracked and untracked, not ignored files: no .venv). Suggested
# packages that Debian lacks (rmda, arrow) may be absent. Fails on an ERROR or
# WARNING in the check's Status line.
check-r: setup
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; mkdir "$$tmp/radnomo"; \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -C "$$tmp/radnomo" -xf -; \
	cd "$$tmp"; \
	R CMD build radnomo >build.log 2>&1 || { cat build.log; exit 1; }; \
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual radnomo_*.tar.gz || true; \
	status=$$(grep '^Status:' radnomo.Rcheck/00check.log || echo "Status: no status line (check did not finish)"); \
	echo "R CMD check $$status"; \
	if echo "$$status" | grep -qE 'ERROR|WARNING|no status'; then \
	  for f in radnomo.Rcheck/tests/*.Rout.fail; do test -f "$$f" && tail -40 "$$f"; done; exit 1; fi

# System R and the R packages radnomo needs, from Debian (CRAN is not reachable).
$(STAMP)/r-debs:
	@mkdir -p $(STAMP)
	@if Rscript -e 'for (p in c("glmnet","rms","pROC","testthat","jsonlite","roxygen2","car","brglm2","lpSolve","MASS","survival","knitr","rmarkdown")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' >/dev/null 2>&1; then \
	  echo "R and its packages are present"; \
	else \
	  echo "installing R from Debian: $(R_DEBS)"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(R_DEBS) >/dev/null; \
	fi
	@touch $@

# Python virtual environment with pinned versions (torch first: others depend on it).
$(STAMP)/venv: requirements.txt $(STAMP)/r-debs
	@mkdir -p $(STAMP)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q setuptools==84.2.1 wheel==0.48.0
	$(PY) -m pip install -q $$(grep -E '^(torch|torchvision)==' requirements.txt)
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

# The radnomo R package, installed from this repository into R's site library.
# Built first (R CMD build, in a temporary copy of the tracked files), so that the
# installed package has its vignette: vignette("radnomo-for-statisticians").
$(STAMP)/rpkg: $(R_SOURCES) $(wildcard vignettes/*.Rmd) $(STAMP)/r-debs
	@mkdir -p $(STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; mkdir "$$tmp/radnomo"; \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -C "$$tmp/radnomo" -xf -; \
	( cd "$$tmp" && R CMD build --no-manual radnomo && R CMD INSTALL --no-multiarch radnomo_*.tar.gz ) >$(STAMP)/rpkg.log 2>&1 \
	  || (cat $(STAMP)/rpkg.log; exit 1)
	@touch $@

# The Python package, editable.
$(STAMP)/pydev: pyproject.toml $(STAMP)/venv
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

# Debian's Chromium and its WebDriver, for the report's browser tests and `radnomo report --pdf`;
# poppler-utils gives those tests pdfinfo/pdftotext (PDF page count and text).
$(STAMP)/chromium:
	@mkdir -p $(STAMP)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v pdftotext >/dev/null; then \
	  echo "Chromium, chromedriver and poppler-utils are present"; \
	else \
	  echo "installing chromium chromium-driver poppler-utils from Debian"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null; \
	fi
	@touch $@

# Regenerate NAMESPACE and man/ from the roxygen comments (developers).
doc: $(STAMP)/r-debs
	Rscript -e 'roxygen2::roxygenise(".")'

test-r: setup
	Rscript -e 'res <- testthat::test_dir("tests/testthat", package = "radnomo", load_package = "installed", reporter = "summary", stop_on_failure = TRUE)'

test-python: setup $(STAMP)/chromium
	$(PY) -m pytest -q

# R CMD check runs the testthat suite (tests/testthat.R), so `make test` does not run it twice;
# `make test-r` runs it alone (faster while developing the R package).
test: check-r test-python

# The reliability suite (issue 12) in full: every hostile-input case plus the slow fault
# injection (the whole study killed in each long stage, then rerun). `make test` runs the
# same suite without the cases marked slow.
test-reliability: setup
	RADNOMO_SLOW=1 $(PY) -m pytest -q tests/python/reliability

demo: setup
	$(VENV)/bin/radnomo demo --out demo_out

bench: setup
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f; done

clean:
	rm -rf $(STAMP) .pytest_cache
