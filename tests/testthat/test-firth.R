# Inference for Firth fits: profile penalised likelihood confidence
# intervals and penalised likelihood-ratio p-values (Heinze & Schemper, Stat
# Med 2002;21:2409-19; the convention of R's logistf, which Debian lacks).
# References computed here by brute force from the penalised log-likelihood
# written out independently of R/firth.R:
# * a 2x2 table with a zero cell, where Firth's estimates are the empirical
#   logits with 0.5 added to every cell and det I(beta) = n0 w0 n1 w1, so the
#   penalised log-likelihood has a closed form; its profile over the
#   intercept is maximised with optimize() on a fine grid of the slope;
# * larger models (MASS::birthwt with a quasi-separating marker), where the
#   profile at the reported limits is recomputed with optim() and must sit
#   exactly on the chi-squared threshold.

# 2x2 table: x = 0: 6 events of 20; x = 1: 8 events of 8 (quasi-complete
# separation, the maximum-likelihood slope is infinite)
table_2x2 <- function() {
  data.frame(x = c(rep(0, 20), rep(1, 8)), y = c(rep(1, 6), rep(0, 14), rep(1, 8)))
}

# closed-form penalised log-likelihood of the 2x2 model (b0, b1)
pl_2x2 <- function(b0, b1, n0 = 20, e0 = 6, n1 = 8, e1 = 8) {
  p0 <- plogis(b0); p1 <- plogis(b0 + b1)
  e0 * log(p0) + (n0 - e0) * log1p(-p0) + e1 * log(p1) + (n1 - e1) * log1p(-p1) +
    0.5 * log(n0 * p0 * (1 - p0) * n1 * p1 * (1 - p1))
}

# crossings of f on a grid, linearly interpolated
grid_roots <- function(grid, f) {
  i <- which(diff(sign(f)) != 0)
  grid[i] - f[i] * (grid[i + 1L] - grid[i]) / (f[i + 1L] - f[i])
}

test_that("Firth 2x2 table: estimates, profile CIs and penalised LR p-values match brute force", {
  d <- table_2x2()
  r <- suppressWarnings(score_model(d, d$y, "x"))
  tab <- r$coefficients
  expect_equal(r$separation$method, "firth")
  # Firth's estimates of a 2x2 table: empirical logits with 0.5 added per cell
  b0 <- log(6.5 / 14.5)
  b1 <- log(8.5 / 0.5) - b0
  expect_equal(tab$estimate, c(b0, b1), tolerance = 1e-7)
  # ... and brglm2's own fit
  ref <- glm(y ~ x, data = d, family = binomial(), method = brglm2::brglmFit, type = "AS_mean")
  expect_equal(tab$estimate, unname(coef(ref)), tolerance = 1e-8)
  expect_equal(tab$ci_method, rep("profile penalised likelihood", 2))
  expect_equal(tab$p_method, rep("penalised likelihood ratio", 2))

  pl_max <- pl_2x2(b0, b1)
  crit <- qchisq(0.95, 1)
  # slope: profile over the intercept on a grid of step 1e-3
  prof_b1 <- function(c) optimize(function(a) pl_2x2(a, c), c(-20, 20), maximum = TRUE, tol = 1e-12)$objective
  grid <- seq(-1, 11, by = 1e-3)
  dev <- 2 * (pl_max - vapply(grid, prof_b1, 0))
  lim <- grid_roots(grid, dev - crit)
  expect_length(lim, 2L)
  expect_lt(max(abs(log(c(tab$or_lower[2], tab$or_upper[2])) - lim)), 1e-4)
  expect_equal(tab$p_value[2], pchisq(2 * (pl_max - prof_b1(0)), 1, lower.tail = FALSE), tolerance = 1e-6)
  # the Wald interval differs markedly (what was reported before)
  wald_upper <- b1 + qnorm(0.975) * tab$std_error[2]
  expect_gt(abs(log(tab$or_upper[2]) - wald_upper), 1)
  # intercept: profile over the slope
  prof_b0 <- function(c) optimize(function(b) pl_2x2(c, b), c(-30, 30), maximum = TRUE, tol = 1e-12)$objective
  grid0 <- seq(-3, 1.5, by = 1e-3)
  lim0 <- grid_roots(grid0, 2 * (pl_max - vapply(grid0, prof_b0, 0)) - crit)
  expect_lt(max(abs(log(c(tab$or_lower[1], tab$or_upper[1])) - lim0)), 1e-4)
  expect_equal(tab$p_value[1], pchisq(2 * (pl_max - prof_b0(0)), 1, lower.tail = FALSE), tolerance = 1e-6)
})

test_that("radnomo's own penalised-likelihood maximisation reproduces brglm2's estimates", {
  bw <- MASS::birthwt
  set.seed(7)
  bw$qsep <- as.integer(bw$low == 1 & stats::runif(nrow(bw)) < 0.3)
  ref <- glm(low ~ lwt + age + qsep, data = bw, family = binomial(), method = brglm2::brglmFit, type = "AS_mean")
  x <- model.matrix(ref)
  own <- radnomo:::firth_constrained_fit(x, bw$low, rep(0, 4), 1:4)
  expect_true(own$converged)
  expect_equal(unname(own$beta), unname(coef(ref)), tolerance = 1e-6)
})

# penalised log-likelihood of a logistic model, written out for the tests
pl_design <- function(x, y, b) {
  eta <- drop(x %*% b)
  p <- plogis(eta)
  sum(dbinom(y, 1, p, log = TRUE)) + 0.5 * log(det(crossprod(x, x * (p * (1 - p)))))
}

# 2 (pl_max - profile at beta_j = c), the profile by optim() over the others
profile_dev <- function(x, y, b_hat, j, c) {
  pl_max <- optim(b_hat, function(b) -pl_design(x, y, b), method = "BFGS",
                  control = list(reltol = 1e-15, maxit = 1000))
  prof <- optim(b_hat[-j], function(b) {
    full <- numeric(length(b_hat)); full[j] <- c; full[-j] <- b
    -pl_design(x, y, full)
  }, method = "BFGS", control = list(reltol = 1e-15, maxit = 1000))
  2 * (prof$value - pl_max$value)
}

test_that("profile limits of Firth's nomogram and clinical model sit on the chi-squared threshold", {
  bw <- MASS::birthwt
  set.seed(7)
  bw$qsep <- as.integer(bw$low == 1 & stats::runif(nrow(bw)) < 0.3)
  bw$lwt10 <- bw$lwt / 10
  nm <- suppressWarnings(fit_nomogram(bw, "low", c("lwt10", "qsep")))
  expect_equal(nm$separation$method, "firth")
  tab <- nm$coefficients
  expect_equal(unique(tab$ci_method), "profile penalised likelihood")
  x <- cbind(1, bw$lwt10, bw$qsep)
  crit <- qchisq(0.95, 1)
  for (j in 1:3) {
    for (lim in log(c(tab$or_lower[j], tab$or_upper[j]))) {
      expect_lt(abs(profile_dev(x, bw$low, tab$estimate, j, lim) - crit), 1e-5)
    }
    # the estimate lies inside its interval; p-value from the profile at 0
    expect_true(tab$or_lower[j] < tab$odds_ratio[j] && tab$odds_ratio[j] < tab$or_upper[j])
    expect_equal(tab$p_value[j], pchisq(profile_dev(x, bw$low, tab$estimate, j, 0), 1, lower.tail = FALSE),
                 tolerance = 1e-5)
  }
  # the clinical model's multivariable Firth refit reports the same intervals
  cl <- suppressWarnings(clinical_logistic(bw, "low", c("lwt10", "qsep"), alpha = 1))
  expect_equal(cl$multivariable$or_lower, tab$or_lower[2:3], tolerance = 1e-6)
  expect_equal(cl$multivariable$or_upper, tab$or_upper[2:3], tolerance = 1e-6)
  expect_equal(unique(cl$multivariable$ci_method), "profile penalised likelihood")
  # univariable maximum-likelihood models stay Wald
  expect_equal(unique(cl$univariable$ci_method), "Wald")
  expect_output(print(nm), "profile penalised likelihood")
})

test_that("maximum-likelihood fits keep Wald intervals; resampling skips the profile", {
  bw <- MASS::birthwt
  sc <- score_model(bw, bw$low, c("lwt", "age"))
  ref <- glm(low ~ lwt + age, data = bw, family = binomial)
  expect_equal(sc$coefficients$or_upper, unname(exp(confint.default(ref)[, 2])), tolerance = 1e-8)
  expect_equal(unique(sc$coefficients$ci_method), "Wald")
  d <- table_2x2()
  w <- suppressWarnings(radnomo:::without_profile_ci(score_model(d, d$y, "x")))
  expect_equal(unique(w$coefficients$ci_method), "Wald")
  # the state is restored afterwards
  p <- suppressWarnings(score_model(d, d$y, "x"))
  expect_equal(unique(p$coefficients$ci_method), "profile penalised likelihood")
  expect_equal(w$coefficients$estimate, p$coefficients$estimate)
})

test_that("profile limits follow the global profile where the penalised likelihood is not concave", {
  # a separated Rad score refit of the robustness sweep (cohort tiny3x1: 56
  # patients, 5 selected radiomics terms); a fit started far from the
  # estimate lands on a lower local maximum, so the limits need continuation.
  # Reference: the profile traced by optim() in 400 small steps from the
  # estimate, each started from the previous solution.
  d <- utils::read.csv(test_path("firth-nonconcave.csv"))
  x <- cbind(1, as.matrix(d[, setdiff(names(d), "y")]))
  ref <- glm(y ~ ., data = d, family = binomial(), method = brglm2::brglmFit, type = "AS_mean")
  tab <- radnomo:::firth_profile_table(x, d$y, coef(ref), sqrt(diag(vcov(ref))), names(coef(ref)))
  b_hat <- unname(coef(ref))
  nll <- function(b) -pl_design(x, d$y, b)
  pm <- optim(b_hat, nll, method = "BFGS", control = list(reltol = 1e-15, maxit = 5000))$value
  walk_limit <- function(j, to) {
    cs <- seq(b_hat[j], to, length.out = 400)
    st <- b_hat[-j]
    dv <- numeric(length(cs))
    for (i in seq_along(cs)) {
      r <- optim(st, function(b) { full <- numeric(length(b_hat)); full[j] <- cs[i]; full[-j] <- b; nll(full) },
                 method = "BFGS", control = list(reltol = 1e-15, maxit = 5000))
      st <- r$par
      dv[i] <- 2 * (r$value - pm)
    }
    i <- which(diff(sign(dv - qchisq(0.95, 1))) != 0)[1L]
    cs[i] + (qchisq(0.95, 1) - dv[i]) * (cs[i + 1L] - cs[i]) / (dv[i + 1L] - dv[i])
  }
  expect_lt(abs(log(tab$or_upper[3]) - walk_limit(3, log(400))), 1e-3)
  expect_lt(abs(log(tab$or_lower[1]) - walk_limit(1, log(1e-4))), 1e-3)
})
