# The Python bridge's R side (R/bridge.R) and the classed conditions it carries.

bridge_call <- radnomo:::bridge_call

test_that("bridge_call runs exports and bridge helpers only", {
  d <- read_asah()
  ok <- bridge_call("roc_metrics", list(d$y, d$s100b))
  expect_true(ok$ok)
  expect_identical(ok$value, roc_metrics(d$y, d$s100b))
  expect_identical(bridge_call("bridge_identity", list(1:3))$value, 1:3)
  for (name in c("sum", "metrics_of", "check_binary", "bridge_call", NA_character_)) {
    res <- bridge_call(name, list(1))
    expect_false(res$ok)
    expect_identical(res$error_class, "radnomo_bridge_error")
  }
  expect_match(bridge_call("sum", list(1))$error, "neither an exported function")
})

test_that("bridge_call returns the condition classes with the messages", {
  d <- read_asah()
  bad <- bridge_call("roc_metrics", list(d$y, d$s100b[-1]))
  expect_false(bad$ok)
  expect_identical(bad$error_class, "radnomo_input_error")
  expect_match(bad$error, "'score' has 112 values")
  w <- bridge_call("roc_metrics", list(d$y, d$s100b, threshold = 100))
  expect_true(w$ok)
  expect_true("radnomo_undefined_metric" %in% w$warning_classes)
  expect_identical(length(w$warnings), length(w$warning_classes))
  m <- bridge_call("roc_metrics", list(d$outcome, d$s100b))
  expect_identical(m$warning_classes, "radnomo_event_level")
  expect_match(m$warnings, "event = 'Poor'")
})

test_that("user-input errors of exported functions are classed radnomo_input_error", {
  d <- read_asah()
  s <- simulate_features(n = 60, p = 6)
  expect_error(roc_metrics(d$y, d$s100b[-1]), class = "radnomo_input_error")
  expect_error(select_features(s$x, s$y, lambda = "max"), "should be one of", class = "radnomo_input_error")
  expect_error(select_features(s$x, s$y, lambda = 3), class = "radnomo_input_error")
  expect_error(clinical_logistic(d, "y", "age", separation = "nope"), class = "radnomo_input_error")
  expect_error(read_feature_table(c("a", "b")), class = "radnomo_input_error")
  expect_error(read_feature_table(file.path(tempdir(), "absent.parquet")), "not found",
               class = "radnomo_input_error")
  e <- tryCatch(roc_metrics(d$y, d$s100b[-1]), error = identity)
  expect_s3_class(e, "radnomo_error")
  expect_null(conditionCall(e))
})

test_that("match_arg matches as match.arg does", {
  f <- function(type = c("link", "response", "points")) radnomo:::match_arg(type)
  expect_identical(f(), "link")
  expect_identical(f("resp"), "response")
  expect_identical(f("points"), "points")
  expect_error(f("x"), "should be one of 'link', 'response', 'points'", class = "radnomo_input_error")
  h <- function(type = c("points", "prob")) radnomo:::match_arg(type)
  expect_error(h("p"), class = "radnomo_input_error")   # ambiguous partial match
  expect_error(f("x"), class = "radnomo_input_error")
  expect_error(f(c("link", "points")), class = "radnomo_input_error")
  g <- function(kind) radnomo:::match_arg(kind, c("min", "1se"))
  expect_identical(g("1se"), "1se")
})

test_that("bridge helpers: predict, formula, study files, frame", {
  d <- read_asah()
  nm <- suppressWarnings(fit_nomogram(d, "y", c("s100b", "age")))
  expect_identical(radnomo:::bridge_predict(nm, d, type = "link"), predict(nm, d, type = "link"))
  expect_identical(radnomo:::bridge_predict(nm, d), predict(nm, d))
  expect_error(radnomo:::bridge_predict(stats::lm(y ~ age, d), d), class = "radnomo_input_error")
  f <- radnomo:::bridge_formula("y ~ s100b + age")
  expect_s3_class(f, "formula")
  expect_identical(environment(f), globalenv())
  expect_error(radnomo:::bridge_formula("y ~ (x"), "not a valid R model formula", class = "radnomo_input_error")
  path <- tempfile(fileext = ".rds")
  radnomo:::bridge_save_rds(list(a = 1), path)
  expect_error(radnomo:::bridge_read_study(path), "not a radnomo study", class = "radnomo_input_error")
  expect_error(radnomo:::bridge_read_study(tempfile()), "not found", class = "radnomo_input_error")
  expect_error(radnomo:::bridge_frame(matrix(1, 3, 1, dimnames = list(NULL, "a")), data.frame(id = 1:2)),
               "rows", class = "radnomo_input_error")
})

test_that("bridge_init sets socket workers for R embedded in Python", {
  old <- options(radnomo.parallel = NULL)
  on.exit(options(old))
  radnomo:::bridge_init()
  expect_identical(getOption("radnomo.parallel"), "psock")
})
