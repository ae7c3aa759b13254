# Generated study cohorts for the robustness sweep (issue 9, section 3).
#
# Used by tests/testthat/test-robustness.R, by the benchmark script
# tests/benchmarks/sweep_robustness.R (which sources this file) and by the
# Python report test tests/python/pipeline/test_robustness_report.py (which
# sources it through rpy2). Only base R and stats: no package beyond radnomo.
#
#   rb_cohort_specs()        the cohorts: id, description, size, event rate,
#                            block types, test-set layout, seed, the warnings
#                            each degenerate case must produce (`expect`) and,
#                            for the R-side failures found by the sweep, the
#                            error it currently stops with (`known_error`)
#   rb_make_cohort(spec)     one cohort: train, test (or NULL), column names
#   rb_cohorts(ids)          several cohorts
#   rb_fit(cohort, ...)      fit_study on a cohort; warnings kept, errors caught
#   rb_warning_key(w)        a short key for each warning fit_study can raise
#
# Every cohort is deterministic given its seed: the outcome is drawn first
# (exactly round(n * rate) events), split (stratified 70/30 unless the spec
# says otherwise), then each block's features are drawn given the outcome.
# Block types (radiomics `rad`, deep `deep`; "type:p" with p columns):
#   noise     p independent N(0, 1) columns (chance may select some)
#   weak      3 columns shifted by 0.6 SD between the classes, the rest noise
#   strong    5 columns shifted by 1.2 SD, the rest noise
#   dominant  one near-perfect separator (shift 4 SD, noise SD 0.5), the rest noise
#   qsep      a 0/1 marker present in ~40 % of the events and in no non-event
#             (quasi-complete separation), plus weak columns
#   null      every column re-drawn until its training-set Mann-Whitney U p > 0.3:
#             nothing passes the filter
#   single    one column shifted by 1.5 SD (training MWU p < 0.01), the others
#             "null": exactly one term reaches the LASSO
#   dup       4 informative columns (0.8 SD), each with 2 near-duplicates
#             (|r| > 0.95), plus noise: correlation pruning at work
#   exactdup  weak columns plus exact copies of them (r = 1)
#   corr      radiomics-like: 12 latent directions mixed into p columns (highly
#             correlated), 5 columns carrying a 0.5 SD signal
#   discrete  weak signal rounded to a few integer values (many ties)
#   scaled    weak, columns multiplied by 10^-3 .. 10^6 (radiomics units)
#   constant  weak plus one column constant everywhere and one constant on the
#             training set only
#   demo      the demo that failed (issue 9): 8 columns share a latent factor
#             1.4 (2y - 1) + N(0, 0.6) (the deep PCs separate), the rest noise
# Clinical types: none; age_sex (age weakly associated, sex noise); null (age
# and sex re-drawn until univariable p > 0.3); rare (3-level character
# `stage` whose rare level "III" holds 3 training events only); factor
# (`child_pugh` factor A/B/C with C rare, logical `hbv`, character `site`);
# rare_test (character `grade` associated with the outcome whose level "G3"
# occurs in one test patient only); dominant (a numeric `marker` that
# nearly separates the classes); many (`site` with 6 levels, two rare).
# Outcome: `label` 0/1, or "no"/"yes" with label = "character".
# Test layouts: split (stratified 30 %), one_class (only non-events), one_class_events,
# none (no test set), or a fixed count "e+ne" (e events and ne non-events).

# R-side failures the sweep found, all fixed in R since: rms::lrm failing
# outright on a completely separated nomogram (now refitted by Firth),
# constant feature columns (now left out with a radnomo_constant_features
# warning), two events in a training set (the cross-validated LASSO is not
# attempted: radnomo_nothing_selected), a one-event test set (the DeLong test
# is NA: radnomo_undefined_metric) and a clinical level seen only in the test
# set (those patients are not scored: radnomo_unseen_level, radnomo_unscored).
# A spec can still name a `known_error` (a regex of the error fit_study is
# expected to stop with) for a failure found later; test-robustness.R fails
# once such a cohort finishes, so that the entry is removed with the fix.

rb_spec <- function(id, desc, n, rate, rad = "", deep = "", clin = "none", test = "split", seed = 1,
                    expect = character(), known_error = NULL, args = list(), train_events = NULL,
                    label = "integer") {
  list(id = id, description = desc, n = as.integer(n), rate = rate, rad = rad, deep = deep, clin = clin,
       test = test, seed = as.integer(seed), expect = expect, known_error = known_error, args = args,
       train_events = train_events, label = label)
}

#' The sweep's cohorts (at least 50)
rb_cohort_specs <- function() {
  S <- rb_spec
  specs <- list(
    # ordinary cohorts across sizes and event rates
    S("ord30", "n 30, 50 % events, weak radiomics, noise deep, age/sex", 30, 0.5, "weak:20", "noise:30", "age_sex", seed = 101),
    S("ord40", "n 40, 30 % events, weak radiomics, noise deep", 40, 0.3, "weak:25", "noise:30", "age_sex", seed = 102, expect = "separation"),
    S("ord60", "n 60, 20 % events, weak radiomics and deep", 60, 0.2, "weak:30", "weak:40", "age_sex", seed = 103),
    S("ord80", "n 80, 40 % events, strong radiomics, weak deep", 80, 0.4, "strong:30", "weak:40", "age_sex", seed = 104),
    S("ord100", "n 100, 10 % events, strong radiomics", 100, 0.1, "strong:40", "noise:40", "age_sex", seed = 105),
    S("ord150", "n 150, 25 % events, weak radiomics and deep", 150, 0.25, "weak:50", "weak:60", "age_sex", seed = 106),
    S("ord200", "n 200, 15 % events, strong radiomics and deep", 200, 0.15, "strong:60", "strong:60", "age_sex", seed = 107, expect = "separation"),
    S("ord300a", "n 300, 50 % events, weak everywhere", 300, 0.5, "weak:80", "weak:80", "age_sex", seed = 108),
    S("ord300b", "n 300, 10 % events, strong radiomics", 300, 0.1, "strong:80", "noise:60", "factor", seed = 109),
    S("ord120", "n 120, 35 % events, strong everywhere", 120, 0.35, "strong:40", "strong:40", "age_sex", seed = 110, expect = "separation"),
    S("ord250", "n 250, 12 % events, weak radiomics-like correlated block", 250, 0.12, "corr:100", "weak:50", "age_sex", seed = 111),
    # no signal at all (chance decides what is selected)
    S("noise30", "n 30, 50 % events, no signal in any block", 30, 0.5, "noise:20", "noise:20", "age_sex", seed = 201, expect = "separation"),
    S("noise100", "n 100, 20 % events, no signal in any block", 100, 0.2, "noise:40", "noise:40", "age_sex", seed = 202),
    S("noise300", "n 300, 30 % events, no signal in any block", 300, 0.3, "noise:60", "noise:60", "age_sex", seed = 203),
    S("noise60rad", "n 60, 10 % events, radiomics only, no signal", 60, 0.1, "noise:30", "", "none", seed = 204),
    # one dominant feature: separation
    S("dom40", "n 40, 30 % events, one dominant radiomics feature", 40, 0.3, "dominant:20", "noise:20", "age_sex", seed = 301,
      expect = "separation"),
    S("dom100dl", "n 100, 20 % events, one dominant deep feature", 100, 0.2, "weak:30", "dominant:30", "age_sex", seed = 302,
      expect = "separation"),
    S("dom300", "n 300, 10 % events, one dominant radiomics feature", 300, 0.1, "dominant:50", "noise:40", "age_sex", seed = 303,
      expect = "separation"),
    S("domclin", "n 60, 50 % events, a clinical marker that nearly separates", 60, 0.5, "noise:20", "", "dominant", seed = 304,
      expect = "separation", args = list(clinical_alpha = 0.1)),
    S("dom80both", "n 80, 15 % events, dominant radiomics and deep features", 80, 0.15, "dominant:25", "dominant:25", "age_sex",
      seed = 305, expect = "separation"),
    S("dom200", "n 200, 40 % events, dominant radiomics feature among strong ones", 200, 0.4, "dominant:40", "strong:40", "age_sex",
      seed = 306, expect = "separation"),
    S("qsep120", "n 120, 30 % events, a binary radiomics marker only in events", 120, 0.3, "qsep:20", "weak:30", "age_sex",
      seed = 307, expect = "separation"),
    # nothing passes the Mann-Whitney U filter in a block
    S("null60rad", "n 60, 30 % events, nothing passes the filter in radiomics", 60, 0.3, "null:20", "weak:30", "age_sex",
      seed = 401, expect = "block_nothing"),
    S("null100dl", "n 100, 20 % events, nothing passes the filter in deep", 100, 0.2, "strong:30", "null:30", "age_sex",
      seed = 402, expect = "block_nothing"),
    S("null40all", "n 40, 50 % events, nothing selected anywhere, no clinical", 40, 0.5, "null:15", "null:15", "none",
      seed = 403, expect = c("block_nothing", "no_model")),
    S("null150all", "n 150, 10 % events, nothing selected in any block", 150, 0.1, "null:20", "null:20", "null",
      seed = 404, expect = c("block_nothing", "clinical_none", "no_model")),
    S("null300all", "n 300, 30 % events, nothing selected in any block", 300, 0.3, "null:25", "null:25", "null",
      seed = 405, expect = c("block_nothing", "clinical_none", "no_model")),
    S("nullclin", "n 80, 25 % events, no clinical candidate passes", 80, 0.25, "weak:25", "", "null", seed = 406,
      expect = "clinical_none"),
    # a block with a single selected feature
    S("single60", "n 60, 30 % events, one radiomics feature selected", 60, 0.3, "single:15", "", "age_sex", seed = 501,
      expect = "single_term"),
    S("single100dl", "n 100, 20 % events, one deep feature (one PC) selected", 100, 0.2, "weak:25", "single:20", "age_sex",
      seed = 502, expect = "single_term"),
    S("single200", "n 200, 40 % events, one feature selected in each image block", 200, 0.4, "single:20", "single:20", "none",
      seed = 503, expect = "single_term"),
    S("single40", "n 40, 50 % events, one radiomics feature, rare clinical level", 40, 0.5, "single:15", "", "rare",
      seed = 504, expect = "single_term"),
    # constant columns
    S("const60", "n 60, 30 % events, radiomics with constant columns", 60, 0.3, "constant:25", "weak:30", "age_sex",
      seed = 601, expect = "constant_features"),
    S("const150dl", "n 150, 20 % events, deep with constant columns", 150, 0.2, "weak:30", "constant:30", "age_sex",
      seed = 602, expect = "constant_features"),
    # highly correlated duplicates
    S("dup80", "n 80, 30 % events, radiomics near-duplicates (|r| > 0.95)", 80, 0.3, "dup:30", "noise:20", "age_sex", seed = 701),
    S("dup200", "n 200, 20 % events, near-duplicates in both image blocks", 200, 0.2, "dup:40", "dup:40", "age_sex", seed = 702),
    S("exactdup40", "n 40, 40 % events, exact duplicate radiomics columns", 40, 0.4, "exactdup:20", "noise:20", "age_sex", seed = 703),
    # test set with a single outcome class
    S("oneclass60", "n 60, 30 % events, test set has non-events only", 60, 0.3, "weak:25", "weak:25", "age_sex",
      test = "one_class", seed = 801, expect = "degenerate_set"),
    S("oneclass100", "n 100, 10 % events, test set has events only", 100, 0.1, "strong:30", "noise:20", "age_sex",
      test = "one_class_events", seed = 802, expect = "degenerate_set"),
    S("oneclass30", "n 30, 20 % events, test set has non-events only", 30, 0.2, "strong:15", "", "age_sex",
      test = "one_class", seed = 803, expect = "degenerate_set"),
    S("oneclassdom", "n 50, 30 % events, dominant feature and a non-event-only test set", 50, 0.3, "dominant:20", "", "age_sex",
      test = "one_class", seed = 804, expect = c("separation", "degenerate_set")),
    # tiny test sets
    S("tiny2x2", "n 50, 30 % events, test set of 2 events + 2 non-events", 50, 0.3, "strong:20", "weak:20", "age_sex",
      test = "2+2", seed = 901, expect = "small_sample"),
    S("tiny1x2", "n 30, 10 % events (train 2 events), test 1 event + 2 non-events", 30, 0.1, "strong:15", "weak:15", "age_sex",
      test = "1+2", seed = 902, expect = "block_nothing"),
    S("tiny3x1", "n 60, 40 % events, test set of 3 events + 1 non-event", 60, 0.4, "strong:20", "", "age_sex",
      test = "3+1", seed = 903, expect = "separation"),
    S("tiny1x3", "n 60, 30 % events, test set of 1 event + 3 non-events", 60, 0.3, "strong:20", "weak:20", "age_sex",
      test = "1+3", seed = 906, expect = "metric_undefined"),
    S("tiny1", "n 40, 30 % events, test set of a single patient", 40, 0.3, "strong:20", "", "age_sex",
      test = "0+1", seed = 904, expect = "degenerate_set"),
    S("notest", "n 50, 30 % events, no test set", 50, 0.3, "strong:20", "weak:20", "age_sex", test = "none", seed = 905, expect = "separation"),
    # clinical variables: character/factor/logical, rare levels
    S("rare80", "n 80, 30 % events, character stage with a rare level in events only", 80, 0.3, "weak:20", "", "rare",
      seed = 1001, args = list(clinical_alpha = 0.5)),
    S("factor120", "n 120, 40 % events, factor, logical and character clinical variables", 120, 0.4, "weak:25", "weak:25",
      "factor", seed = 1002, args = list(clinical_alpha = 0.5)),
    S("raretest", "n 100, 30 % events, a clinical level seen only in the test set", 100, 0.3, "weak:20", "", "rare_test",
      seed = 1003, expect = c("unseen_level", "unscored")),
    S("many200", "n 200, 20 % events, a 6-level clinical variable with rare levels", 200, 0.2, "weak:30", "", "many",
      seed = 1004, args = list(clinical_alpha = 0.5)),
    S("clinonly", "n 60, 40 % events, clinical block only", 60, 0.4, "", "", "dominant", seed = 1005,
      args = list(clinical_alpha = 0.2)),
    # the demo that failed: 42 training patients, 14 events, 8 deep PCs separating
    S("demo1", "demo-like: 42 train (14 events) + 18 test, deep PCs separate", 60, 1 / 3, "weak:20", "demo:40", "age_sex",
      test = "6+12", train_events = 14L, seed = 5, expect = "separation", args = list(clinical_alpha = 0.5)),
    S("demo2", "demo-like, second seed", 60, 1 / 3, "weak:20", "demo:40", "age_sex", test = "6+12", train_events = 14L,
      seed = 1102, expect = "separation", args = list(clinical_alpha = 0.5)),
    S("demo3", "demo-like, radiomics-like correlated radiomics, rare clinical level", 60, 1 / 3, "corr:60", "demo:40", "rare",
      test = "6+12", train_events = 14L, seed = 1103, expect = "separation", args = list(clinical_alpha = 0.5)),
    S("demo4", "demo-like with the demo's looser selection (mwu 0.01, clinical 0.1)", 60, 1 / 3, "weak:20", "demo:40",
      "age_sex", test = "6+12", train_events = 14L, seed = 1104, expect = "separation",
      args = list(mwu_alpha = 0.01, clinical_alpha = 0.1)),
    # other feature shapes
    S("discrete100", "n 100, 30 % events, integer-valued features with many ties", 100, 0.3, "discrete:25", "weak:25", "age_sex",
      seed = 1201),
    S("scaled150", "n 150, 25 % events, radiomics columns on scales 1e-3 to 1e6", 150, 0.25, "scaled:30", "", "age_sex",
      seed = 1202),
    S("corr56", "n 56, 25 % events, radiomics-like correlated blocks", 56, 0.25, "corr:80", "corr:60", "age_sex", seed = 1203),
    S("chrlabel", "n 90, 35 % events, outcome coded as character no/yes", 90, 0.35, "weak:25", "weak:25", "factor",
      seed = 1204, args = list(clinical_alpha = 0.5), label = "character")
  )
  ids <- vapply(specs, `[[`, "", "id")
  stopifnot(!anyDuplicated(ids))
  names(specs) <- ids
  specs
}

# ------------------------------------------------------------------ blocks ---

rb_mwu_p <- function(x, y) {
  stats::wilcox.test(x[y == 1L], x[y == 0L], exact = FALSE, correct = TRUE)$p.value
}

# a column drawn until its training-set MWU p exceeds `p_min`
rb_null_column <- function(n, y, tr, p_min = 0.3) {
  for (i in 1:2000) {
    x <- stats::rnorm(n)
    if (rb_mwu_p(x[tr], y[tr]) > p_min) return(x)
  }
  stop("rb_null_column: no draw found")
}

rb_parse_block <- function(s) {
  if (!nzchar(s)) return(NULL)
  parts <- strsplit(s, ":", fixed = TRUE)[[1L]]
  list(type = parts[1L], p = as.integer(parts[2L]))
}

rb_shifted <- function(n, y, k, shift, sd = 1) {
  matrix(stats::rnorm(n * k, sd = sd), n, k) + shift * y
}

rb_block <- function(spec_block, y, tr, prefix) {
  b <- rb_parse_block(spec_block)
  if (is.null(b)) return(NULL)
  n <- length(y)
  p <- b$p
  noise <- function(k) matrix(stats::rnorm(n * k), n, k)
  x <- switch(b$type,
    noise = noise(p),
    weak = cbind(rb_shifted(n, y, 3, 0.6), noise(p - 3)),
    strong = cbind(rb_shifted(n, y, 5, 1.2), noise(p - 5)),
    dominant = cbind(4 * y + stats::rnorm(n, sd = 0.5), noise(p - 1)),
    qsep = {
      m <- as.numeric(y == 1L & stats::runif(n) < 0.4)
      cbind(m, rb_shifted(n, y, 3, 0.6), noise(p - 4))
    },
    null = vapply(seq_len(p), function(j) rb_null_column(n, y, tr), numeric(n)),
    single = {
      repeat {
        s <- 1.5 * y + stats::rnorm(n)
        if (rb_mwu_p(s[tr], y[tr]) < 0.01) break
      }
      cbind(s, vapply(seq_len(p - 1L), function(j) rb_null_column(n, y, tr), numeric(n)))
    },
    dup = {
      base <- rb_shifted(n, y, 4, 0.8)
      dups <- do.call(cbind, lapply(1:4, function(j) cbind(base[, j], base[, j] + stats::rnorm(n, sd = 0.15),
                                                           base[, j] * 2 + stats::rnorm(n, sd = 0.2))))
      cbind(dups, noise(p - 12))
    },
    exactdup = {
      w <- rb_shifted(n, y, 3, 0.6)
      cbind(w, w, noise(p - 6))
    },
    corr = {
      lat <- matrix(stats::rnorm(n * 12), n, 12)
      x <- lat %*% matrix(stats::rnorm(12 * p), 12, p) / sqrt(12) + 0.15 * noise(p)
      x[, 1:5] <- x[, 1:5] + 0.5 * y
      x
    },
    discrete = {
      x <- cbind(rb_shifted(n, y, 3, 0.6), noise(p - 3))
      round(x * 1.5)
    },
    scaled = {
      x <- cbind(rb_shifted(n, y, 3, 0.6), noise(p - 3))
      sweep(x, 2L, 10^stats::runif(p, -3, 6), "*")
    },
    constant = {
      x <- cbind(rb_shifted(n, y, 3, 0.6), noise(p - 5))
      late <- numeric(n)
      late[!tr] <- stats::rbinom(sum(!tr), 1, 0.5)  # zero on the whole training set
      cbind(x, 7.5, late)
    },
    demo = {
      latent <- ifelse(y == 1L, 1.4, -1.4) + stats::rnorm(n, sd = 0.6)
      x <- noise(p)
      x[, 1:8] <- x[, 1:8] * 0.5 + latent
      x
    },
    stop("unknown block type '", b$type, "'"))
  x <- as.matrix(x)
  stopifnot(ncol(x) == p)
  colnames(x) <- sprintf("%s%03d", prefix, seq_len(p))
  x
}

# univariable likelihood-ratio p-value of v on the training set (the clinical screening's test)
rb_uni_p <- function(v, y, tr) {
  f <- suppressWarnings(stats::glm(y[tr] ~ v[tr], family = stats::binomial()))
  stats::pchisq(max(0, f$null.deviance - f$deviance), f$df.null - f$df.residual, lower.tail = FALSE)
}

rb_clinical <- function(type, y, tr) {
  n <- length(y)
  age_sex <- function() data.frame(age = round(stats::rnorm(n, 60, 9) + 3 * y),
                                   sex = sample(c("F", "M"), n, TRUE), stringsAsFactors = FALSE)
  switch(type,
    none = NULL,
    age_sex = age_sex(),
    null = {
      repeat { age <- round(stats::rnorm(n, 60, 9)); if (rb_uni_p(age, y, tr) > 0.3) break }
      repeat { sex <- sample(c("F", "M"), n, TRUE); if (rb_uni_p(sex, y, tr) > 0.3) break }
      data.frame(age = age, sex = sex, stringsAsFactors = FALSE)
    },
    rare = {
      d <- age_sex()
      stage <- sample(c("I", "II"), n, TRUE, prob = c(0.6, 0.4))
      ev <- which(y == 1L & tr)
      stage[ev[seq_len(min(3L, length(ev)))]] <- "III"
      d$stage <- stage
      d
    },
    factor = {
      d <- age_sex()
      cp <- ifelse(stats::runif(n) < 0.2 + 0.3 * y, "B", "A")
      cp[which(tr)[c(2L, 5L)]] <- "C"
      d$child_pugh <- factor(cp, levels = c("A", "B", "C"))
      d$hbv <- stats::runif(n) < 0.4 + 0.2 * y
      d$site <- sample(c("left", "right", "caudate"), n, TRUE, prob = c(0.45, 0.45, 0.1))
      d
    },
    rare_test = {
      d <- age_sex()
      grade <- ifelse(stats::runif(n) < 0.15 + 0.7 * y, "G2", "G1")
      grade[which(!tr)[1L]] <- "G3"
      d$grade <- grade
      d
    },
    dominant = {
      d <- age_sex()
      d$marker <- round(3 * y + stats::rnorm(n, sd = 0.6), 2)
      d
    },
    many = {
      d <- age_sex()
      d$site <- sample(c("S1", "S2", "S3", "S4", "S5", "S6"), n, TRUE, prob = c(0.3, 0.25, 0.2, 0.17, 0.05, 0.03))
      d
    },
    stop("unknown clinical type '", type, "'"))
}

# ------------------------------------------------------------------- split ---

# logical vector: TRUE = training patient
rb_split <- function(y, test, train_events = NULL) {
  n <- length(y)
  ev <- sample_rb(which(y == 1L))
  ne <- sample_rb(which(y == 0L))
  tr <- rep(TRUE, n)
  if (identical(test, "none")) return(tr)
  if (identical(test, "split")) {
    k1 <- round(0.3 * length(ev)); k0 <- round(0.3 * length(ne))
    tr[c(ev[seq_len(k1)], ne[seq_len(k0)])] <- FALSE
  } else if (identical(test, "one_class")) {
    tr[ne[seq_len(round(0.3 * length(ne)))]] <- FALSE
  } else if (identical(test, "one_class_events")) {
    tr[ev[seq_len(max(1L, round(0.3 * length(ev))))]] <- FALSE
  } else {
    k <- as.integer(strsplit(test, "+", fixed = TRUE)[[1L]])
    tr[c(ev[seq_len(k[1L])], ne[seq_len(k[2L])])] <- FALSE
  }
  if (!is.null(train_events)) stopifnot(sum(y[tr]) == train_events)
  tr
}

sample_rb <- function(idx) idx[sample.int(length(idx))]

# ------------------------------------------------------------------ cohort ---

#' One cohort: list(id, description, train, test, radiomics, deep, clinical, args, expect, known_error, n, events)
rb_make_cohort <- function(spec) {
  old <- if (exists(".Random.seed", envir = globalenv())) get(".Random.seed", envir = globalenv()) else NULL
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", old, envir = globalenv()))
  set.seed(spec$seed, kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")
  n <- spec$n
  events <- round(n * spec$rate)
  y <- sample(rep(c(1L, 0L), c(events, n - events)))
  tr <- rb_split(y, spec$test, spec$train_events)
  rad <- rb_block(spec$rad, y, tr, "rad")
  deep <- rb_block(spec$deep, y, tr, "dl")
  clin <- rb_clinical(spec$clin, y, tr)
  d <- data.frame(patient_id = sprintf("%s_%03d", spec$id, seq_len(n)), label = y, stringsAsFactors = FALSE)
  if (!is.null(clin)) d <- cbind(d, clin)
  if (!is.null(rad)) d <- cbind(d, rad)
  if (!is.null(deep)) d <- cbind(d, deep)
  if (identical(spec$label, "character")) d$label <- ifelse(y == 1L, "yes", "no")
  list(id = spec$id, description = spec$description, spec = spec,
       train = d[tr, , drop = FALSE], test = if (all(tr)) NULL else d[!tr, , drop = FALSE],
       radiomics = if (is.null(rad)) character() else colnames(rad),
       deep = if (is.null(deep)) character() else colnames(deep),
       clinical = if (is.null(clin)) character() else names(clin),
       args = spec$args, expect = spec$expect, known_error = spec$known_error,
       n = n, events = events, n_train = sum(tr), events_train = sum(y[tr]))
}

rb_cohorts <- function(ids = NULL) {
  specs <- rb_cohort_specs()
  if (!is.null(ids)) specs <- specs[ids]
  lapply(specs, rb_make_cohort)
}

# --------------------------------------------------------------- fit, keys ---

#' Short key of a warning raised by fit_study
#'
#' Classed (any class radnomo_<key>): separation (radnomo_separation: a study
#' model refitted under the policy, or a univariable clinical screening model /
#' single-term selection model that separates), degenerate_set, no_model,
#' small_sample (a calibration with fewer than 5 patients per risk group).
#' Unclassed (matched on the message): block_nothing (a block in which no
#' feature passed the MWU filter), block_no_term (the LASSO kept no term),
#' single_term (one term reached the LASSO), clinical_none (no clinical
#' candidate passed the univariable step), metric_undefined (PPV/NPV... at
#' the cut-off), auc_one (pROC: a CI or test of an AUC of 1), glmnet
#' (glmnet's own warnings), other.
rb_warning_key <- function(w) {
  m <- conditionMessage(w)
  cls <- grep("^radnomo_", class(w), value = TRUE)
  if (length(cls) && cls[1L] == "radnomo_nothing_selected") {
    if (grepl("^The [a-z]+ block: ", m)) return("block_nothing")
    if (grepl("^No clinical candidate reached univariable", m)) return("clinical_none")
    return("block_no_term")
  }
  if (length(cls)) {
    key <- sub("^radnomo_", "", cls[1L])
    return(switch(key, undefined_metric = "metric_undefined", key))
  }
  pats <- c(auc_one = "with AUC == 1 (is always|has always)",
            glmnet = "binomial class has fewer than|dangerous ground|glmnet")
  hit <- names(pats)[vapply(pats, grepl, logical(1), x = m)]
  if (length(hit)) hit[1L] else "other"
}

#' Is a warning one of radnomo's classed conditions?
rb_is_classed <- function(w) any(grepl("^radnomo_", class(w)))

#' fit_study on a cohort: list(study, error, warnings (conditions), keys, output, seconds)
#'
#' `separation = NULL` leaves fit_study's default policy. What R prints while
#' fitting (rms' bootstrap reports "singular information matrix ... /
#' Divergence or singularity in k samples" on stdout) is captured into `output`.
rb_fit <- function(cohort, separation = NULL, B = 10, nfolds = 5, seed = 1) {
  ws <- list()
  t0 <- proc.time()[["elapsed"]]
  args <- c(list(train = cohort$train, test = cohort$test, outcome = "label", radiomics = cohort$radiomics,
                 deep = cohort$deep, clinical = cohort$clinical, id = "patient_id", B = B, nfolds = nfolds,
                 seed = seed), cohort$args)
  if (!is.null(separation)) args$separation <- separation
  err <- NULL
  st <- NULL
  out <- utils::capture.output(st <- tryCatch(withCallingHandlers(suppressMessages(do.call(radnomo::fit_study, args)),
    warning = function(w) {
      ws[[length(ws) + 1L]] <<- w
      invokeRestart("muffleWarning")
    }), error = function(e) {
      err <<- e
      NULL
    }))
  list(study = st, error = err, warnings = ws, keys = vapply(ws, rb_warning_key, ""), output = out,
       seconds = proc.time()[["elapsed"]] - t0)
}

#' One line of the sweep table for a fit
rb_summary_row <- function(cohort, res, policy) {
  st <- res$study
  auc <- function(set) {
    if (is.null(st) || is.null(st$metrics)) return(NA_real_)
    a <- st$metrics$auc[st$metrics$set == set & st$metrics$model == "nomogram"]
    if (length(a)) a else NA_real_
  }
  fits <- if (is.null(st) || !nrow(st$fits)) "-" else paste0(st$fits$model, "=", st$fits$method, collapse = " ")
  data.frame(id = cohort$id, n = cohort$n, events = cohort$events, description = cohort$description,
             policy = policy, finished = if (is.null(res$error)) "yes" else "no",
             warnings = if (length(res$keys)) paste(unique(res$keys), collapse = ",") else "-",
             fits = fits, auc_train = auc("train"), auc_test = auc("test"),
             seconds = round(res$seconds, 2),
             error = if (is.null(res$error)) "" else conditionMessage(res$error), stringsAsFactors = FALSE)
}
