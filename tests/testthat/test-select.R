test_that("MWU statistics equal the pairwise count definition of W", {
  s <- simulate_features(n = 60, p = 6)
  sel <- suppressWarnings(select_features(s$x, s$y, seed = 1, nfolds = 5))
  # Independent definition: W = #{(case, control): case > control} + 0.5 #ties
  for (j in seq_len(ncol(s$x))) {
    a <- s$x[s$y == 1, j]; b <- s$x[s$y == 0, j]
    w <- sum(outer(a, b, ">")) + 0.5 * sum(outer(a, b, "=="))
    expect_equal(sel$mwu$statistic[j], w)
  }
  # p-value: normal approximation with continuity correction (no ties here)
  a <- s$x[s$y == 1, 1]; b <- s$x[s$y == 0, 1]
  n1 <- length(a); n0 <- length(b)
  w <- sel$mwu$statistic[1]
  z <- (abs(w - n1 * n0 / 2) - 0.5) / sqrt(n1 * n0 * (n1 + n0 + 1) / 12)
  expect_equal(sel$mwu$p_value[1], 2 * pnorm(-z), tolerance = 1e-12)
  expect_identical(sel$mwu$feature, colnames(s$x))
  expect_identical(sel$kept_mwu, sel$mwu$feature[sel$mwu$p_value < 0.05])
})

test_that("correlation pruning keeps the lower-p feature of a correlated pair", {
  s <- simulate_features(n = 100, p = 8, n_info = 2)
  x <- s$x
  # f09 is an almost exact copy of f01 (|r| > 0.99) but noisier w.r.t. y
  set.seed(3)
  x <- cbind(x, f09 = x[, "f01"] + rnorm(100, sd = 0.05))
  sel <- suppressWarnings(select_features(x, s$y, seed = 1, nfolds = 5))
  p <- sel$mwu$p_value[match(c("f01", "f09"), sel$mwu$feature)]
  expect_true(all(c("f01", "f09") %in% sel$kept_mwu))
  keep <- c("f01", "f09")[which.min(p)]
  drop <- c("f01", "f09")[which.max(p)]
  expect_true(keep %in% sel$kept_correlation)
  expect_false(drop %in% sel$kept_correlation)
  # no kept pair exceeds the threshold
  r <- abs(cor(x[, sel$kept_correlation]))
  diag(r) <- 0
  expect_true(all(r <= 0.9))
  # centre/scale are the training mean and SD (n - 1)
  expect_equal(sel$center, colMeans(x[, sel$kept_correlation]))
  expect_equal(sel$scale, apply(x[, sel$kept_correlation], 2, sd))
  expect_identical(sel$steps$step, c("input", "mwu", "correlation", "lasso"))
  expect_identical(sel$steps$n_features,
                   c(9L, length(sel$kept_mwu), length(sel$kept_correlation), length(sel$selected)))
})

test_that("LASSO solution satisfies the KKT conditions and the selection finds the truth", {
  s <- simulate_features(n = 200, p = 20, n_info = 3)
  sel <- select_features(s$x, s$y, seed = 7)
  expect_true(all(s$informative %in% sel$selected))
  z <- scale(s$x[, sel$kept_correlation], center = sel$center, scale = sel$scale)
  b <- setNames(rep(0, ncol(z)), colnames(z))
  b[sel$selected] <- sel$coefficients$coefficient[-1]
  p <- plogis(sel$coefficients$coefficient[1] + drop(z %*% b))
  # glmnet binomial objective: -loglik/n + lambda * |b|_1  =>  gradient conditions
  g <- drop(crossprod(z, s$y - p)) / nrow(z)
  lam <- sel$lambda_used
  expect_equal(unname(g[sel$selected]), unname(lam * sign(b[sel$selected])), tolerance = 1e-3)
  expect_true(all(abs(g[b == 0]) <= lam * (1 + 1e-3)))
  expect_equal(sum(s$y - p), 0, tolerance = 1e-4)
  expect_identical(sel$lambda_used, sel$lambda_min)
  expect_identical(sel$coefficients$term[1], "(Intercept)")
  # predictions reproduce the linear predictor, and transform gives the z-scores
  expect_equal(predict(sel, s$x), qlogis(p), tolerance = 1e-10)
  expect_equal(predict(sel, s$x, type = "response"), p, tolerance = 1e-10)
  tf <- transform_features(sel, as.data.frame(s$x))
  expect_identical(names(tf), sel$selected)
  expect_equal(as.matrix(tf), z[, sel$selected, drop = FALSE], ignore_attr = TRUE)
})

test_that("same seed gives identical results and leaves the caller's RNG alone", {
  s <- simulate_features(n = 120, p = 15)
  set.seed(99); before <- runif(1); set.seed(99)
  a <- select_features(s$x, s$y, seed = 5)
  after <- runif(1)
  expect_identical(before, after)
  b <- select_features(s$x, s$y, seed = 5)
  a$cv <- b$cv <- NULL
  expect_identical(a, b)
  c1se <- select_features(s$x, s$y, seed = 5, lambda = "1se")
  expect_identical(c1se$lambda_used, c1se$lambda_1se)
  expect_gte(c1se$lambda_1se, c1se$lambda_min)
})

test_that("PCA step matches the eigen-decomposition of the correlation matrix", {
  s <- simulate_features(n = 150, p = 12, n_info = 3)
  sel <- suppressWarnings(select_features(s$x, s$y, pca = TRUE, pca_variance = 0.8,
                                          mwu_alpha = 1, cor_threshold = 1, seed = 2))
  e <- eigen(cor(s$x), symmetric = TRUE)
  cum <- cumsum(e$values) / sum(e$values)
  k <- which(cum >= 0.8)[1]
  expect_identical(colnames(sel$rotation), paste0("PC", seq_len(k)))
  expect_equal(unname(sel$pca_variance_explained), cum[seq_len(k)], tolerance = 1e-10)
  # eigenvectors agree up to sign
  expect_equal(abs(unname(sel$rotation)), abs(e$vectors[, seq_len(k)]), tolerance = 1e-8)
  expect_identical(sel$steps$step, c("input", "mwu", "correlation", "pca", "lasso"))
  tf <- transform_features(sel, s$x)
  zz <- scale(s$x) %*% sel$rotation
  expect_equal(as.matrix(tf), zz[, sel$selected, drop = FALSE], ignore_attr = TRUE)
})

test_that("one survivor falls back to plain logistic regression with a warning", {
  s <- simulate_features(n = 100, p = 5, n_info = 1)
  sel <- NULL
  expect_warning(sel <- select_features(s$x, s$y, mwu_alpha = 1e-4, seed = 1), "Only one term")
  expect_identical(sel$selected, sel$kept_correlation)
  ref <- glm(s$y ~ scale(s$x[, sel$selected]), family = binomial)
  expect_equal(sel$coefficients$coefficient, unname(coef(ref)), tolerance = 1e-8)
})

test_that("bad input gives errors naming the problem", {
  s <- simulate_features(n = 40, p = 4)
  x <- s$x
  expect_error(select_features(x, rep(1, 40)), "only one class")
  x2 <- x; x2[3, "f02"] <- NA
  expect_error(select_features(x2, s$y), "f02")
  x3 <- x; x3[, "f03"] <- 1
  # a constant training column carries no information: left out, with a classed warning
  expect_warning(sel3 <- select_features(x3, s$y, mwu_alpha = 1, seed = 1, nfolds = 5), "constant.*f03",
                 class = "radnomo_constant_features")
  expect_false("f03" %in% sel3$kept_mwu)
  expect_identical(sel3$steps$n_features[sel3$steps$step == "input"], 4L)
  x4 <- x; x4[] <- 2
  expect_error(suppressWarnings(select_features(x4, s$y)), class = "radnomo_nothing_selected")
  d <- as.data.frame(x); d$site <- "a"
  expect_error(select_features(d, s$y), "non-numeric.*site")
  expect_error(select_features(x, s$y[-1]), "rows")
  expect_error(select_features(x, s$y, lambda = "max"), "should be one of")
  set.seed(2)
  noise <- matrix(rnorm(40 * 3), 40, dimnames = list(NULL, c("a", "b", "c")))
  expect_error(select_features(noise, s$y, mwu_alpha = 1e-9), "Mann-Whitney")
  sel <- select_features(s$x, s$y, mwu_alpha = 1, seed = 1, nfolds = 5)
  expect_error(predict(sel, as.data.frame(x)[, -1]), "lacks the column.*f01")
  expect_error(select_features(x, factor(c("a", "b", "c"))[rep(1:3, length.out = 40)]), "two classes")
})

test_that("the vectorised Mann-Whitney U filter equals stats::wilcox.test (ties included)", {
  set.seed(3)
  n <- 60
  x <- cbind(matrix(rnorm(n * 20), n), matrix(round(rnorm(n * 10)), n), matrix(sample(1:3, n * 5, TRUE), n))
  colnames(x) <- paste0("c", seq_len(ncol(x)))
  y <- rbinom(n, 1, 0.4)
  got <- radnomo:::mwu_filter(x, y)
  ref <- t(vapply(seq_len(ncol(x)), function(j) {
    t <- stats::wilcox.test(x[y == 1, j], x[y == 0, j], exact = FALSE, correct = TRUE)
    c(unname(t$statistic), t$p.value)
  }, numeric(2)))
  expect_equal(got$statistic, ref[, 1], tolerance = 1e-12)
  expect_equal(got$p_value, ref[, 2], tolerance = 1e-12)
})

test_that("the Mann-Whitney U filter handles bootstrap duplicates (ties in every column) as wilcox.test does", {
  set.seed(4)
  n <- 50
  x <- matrix(rnorm(n * 15), n, dimnames = list(NULL, paste0("c", 1:15)))
  y <- rbinom(n, 1, 0.5)
  i <- sample(n, replace = TRUE)
  got <- radnomo:::mwu_filter(x[i, ], y[i])
  ref <- t(vapply(1:15, function(j) {
    t <- stats::wilcox.test(x[i, j][y[i] == 1], x[i, j][y[i] == 0], exact = FALSE, correct = TRUE)
    c(unname(t$statistic), t$p.value)
  }, numeric(2)))
  expect_equal(got$statistic, ref[, 1], tolerance = 1e-12)
  expect_equal(got$p_value, ref[, 2], tolerance = 1e-12)
})

test_that("correlation pruning equals the greedy rule computed with stats::cor", {
  # reference: the definition, one candidate at a time, with stats::cor
  greedy <- function(x, p, th) {
    r <- abs(stats::cor(x))
    kept <- integer()
    for (j in order(p, seq_along(p))) if (all(r[j, kept] <= th)) kept <- c(kept, j)
    colnames(x)[sort(kept)]
  }
  set.seed(5)
  base <- matrix(rnorm(80 * 6), 80)
  x <- base %*% matrix(rnorm(6 * 120), 6) + 0.4 * matrix(rnorm(80 * 120), 80) # strongly correlated columns
  colnames(x) <- sprintf("f%03d", 1:120)
  x[, 7] <- -x[, 3] # |r| = 1
  p <- runif(120)
  for (th in c(0.3, 0.6, 0.9, 0.99, 1)) {
    expect_identical(radnomo:::correlation_prune(x, p, th), greedy(x, p, th), label = paste("threshold", th))
  }
  # a constant column is left out before the pruning, with a warning
  x2 <- cbind(x[, 1:5], k = 2)
  y <- rep(0:1, 40)
  expect_warning(sel <- suppressWarnings(select_features(x2, y, mwu_alpha = 1, seed = 1, nfolds = 5),
                                        classes = "radnomo_nothing_selected"),
                 class = "radnomo_constant_features")
  expect_false("k" %in% sel$mwu$feature)
})

test_that("glmnet's 'dangerous ground' warning is said once, in radnomo's words, naming the block in fit_study", {
  set.seed(5)
  n <- 40
  x <- as.data.frame(matrix(rnorm(n * 6), n, 6, dimnames = list(NULL, paste0("f", 1:6))))
  y <- c(rep(1L, 9), rep(0L, n - 9))  # 9 events: fewer than 8 in every 5-fold training fit
  x$f1 <- x$f1 + 2 * y
  x$f2 <- x$f2 + 1.5 * y
  x$f3 <- x$f3 - 1.5 * y
  ws <- list()
  withCallingHandlers(select_features(x, y, nfolds = 5, seed = 1), warning = function(w) {
    ws[[length(ws) + 1L]] <<- w
    invokeRestart("muffleWarning")
  })
  msgs <- vapply(ws, conditionMessage, character(1))
  expect_false(any(grepl("dangerous ground;", msgs, fixed = TRUE)))  # glmnet's raw text is gone
  ours <- Filter(function(w) inherits(w, "radnomo_small_sample"), ws)
  expect_length(ours, 1L)
  expect_match(conditionMessage(ours[[1]]), "smaller outcome class has 9 patient\\(s\\), fewer than 8 in [0-9]+ of the 6")
  # in fit_study the message names the block
  d <- cbind(x, label = y, patient_id = sprintf("P%02d", seq_len(n)))
  w2 <- list()
  withCallingHandlers(fit_study(d, radiomics = paste0("f", 1:6), nfolds = 5, B = 10, seed = 1),
                      warning = function(w) {
                        w2[[length(w2) + 1L]] <<- w
                        invokeRestart("muffleWarning")
                      })
  m2 <- vapply(Filter(function(w) inherits(w, "radnomo_small_sample"), w2), conditionMessage, character(1))
  expect_true(any(grepl("^The radiomics block: LASSO: the smaller outcome class", m2)))
})
