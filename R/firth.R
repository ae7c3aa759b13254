# Inference for Firth's penalised logistic regression: profile penalised
# likelihood confidence intervals and penalised likelihood-ratio p-values
# (Heinze & Schemper 2002), computed by radnomo's own constrained iterations.

#' Log(1 + exp(eta)), without overflow
#' @noRd
log1pexp <- function(eta) ifelse(eta > 0, eta + log1p(exp(-eta)), log1p(exp(eta)))

#' Firth's penalised log-likelihood of a logistic model
#'
#' `l*(beta) = l(beta) + 0.5 * log det I(beta)`, with `l` the binomial
#' log-likelihood and `I(beta) = X' W X`, `W = diag(p (1 - p))`, the Fisher
#' information (Firth, Biometrika 1993;80:27-38; Heinze & Schemper, Stat Med
#' 2002;21:2409-19, eq. 2). `x` includes the intercept column.
#' @noRd
firth_penalised_loglik <- function(x, y, beta) {
  eta <- drop(x %*% beta)
  p <- stats::plogis(eta)
  w <- p * (1 - p)
  ld <- determinant(crossprod(x, x * w), logarithm = TRUE)
  if (ld$sign <= 0) return(-Inf)
  sum(y * eta - log1pexp(eta)) + 0.5 * as.numeric(ld$modulus)
}

#' Maximise Firth's penalised log-likelihood over the free coefficients
#'
#' The coefficients not in `free` stay at their values in `beta` (a fixed
#' coefficient acts as an offset). Iterates
#' `beta[free] += I[free, free]^-1 U*[free]` with Firth's modified score
#' `U*_k = sum_i (y_i - p_i + h_i (1/2 - p_i)) x_ik`, `h_i` the diagonal of the
#' hat matrix of the *full* design `W^1/2 X I^-1 X' W^1/2` (the derivative of
#' `l*` above; Heinze & Schemper 2002, eq. 3), halving a step until `l*`
#' does not decrease and limiting a step to 5 (as logistf does). Returns
#' list(beta, loglik, converged).
#' @noRd
firth_constrained_fit <- function(x, y, beta, free, maxit = 200L, tol = 1e-10) {
  pl <- firth_penalised_loglik(x, y, beta)
  converged <- FALSE
  if (!length(free)) return(list(beta = beta, loglik = pl, converged = TRUE))
  for (it in seq_len(maxit)) {
    p <- stats::plogis(drop(x %*% beta))
    w <- p * (1 - p)
    info <- crossprod(x, x * w)
    inv <- tryCatch(solve(info), error = function(e) NULL)
    if (is.null(inv)) break
    h <- rowSums((x %*% inv) * x) * w
    u <- drop(crossprod(x, y - p + h * (0.5 - p)))[free]
    step <- tryCatch(solve(info[free, free, drop = FALSE], u), error = function(e) NULL)
    if (is.null(step) || anyNA(step)) break
    # at most 5 units per iteration (logistf's maxstep)
    if (max(abs(step)) > 5) step <- step * (5 / max(abs(step)))
    if (max(abs(u)) < tol && max(abs(step)) < tol) { converged <- TRUE; break }
    t <- 1
    repeat {
      nb <- beta
      nb[free] <- beta[free] + t * step
      npl <- firth_penalised_loglik(x, y, nb)
      if (is.finite(npl) && npl >= pl - 1e-12 * max(1, abs(pl))) break
      t <- t / 2
      if (t < 1e-10) { nb <- beta; npl <- pl; break }
    }
    moved <- max(abs(nb - beta))
    beta <- nb
    pl <- npl
    if (moved < tol) { converged <- max(abs(u)) < 1e-6; break }
  }
  list(beta = beta, loglik = pl, converged = converged)
}

#' Profile penalised likelihood CIs and penalised LR tests of a Firth fit
#'
#' For each coefficient `beta_j`, the profile penalised log-likelihood
#' `l*_j(c) = max { l*(beta) : beta_j = c }` ([firth_constrained_fit()],
#' the penalty always taken from the full model's information matrix, as in
#' Heinze & Schemper 2002, section 2.2, and R's logistf). The 95% confidence
#' interval is `{c : 2 (l*_max - l*_j(c)) <= qchisq(0.95, 1)}`: its ends are
#' bracketed by stepping out from the estimate (steps from half a standard
#' error, growing by 1.5; each constrained fit warm-started from the last
#' one inside) and found by `uniroot`; the penalised likelihood-ratio test
#' of `beta_j = 0` is `2 (l*_max - l*_j(0))` on 1 df, reached by walking
#' from the estimate to 0 in steps of at most one standard error. `l*_max` is `l*` at the
#' unconstrained maximum, reached by the same iterations started from `beta`
#' (brglm2's estimates). When the profile never falls to the threshold on
#' one side (within 200 units of the estimate) that limit is infinite (odds
#' ratio 0 or Inf), with a warning.
#'
#' @param x Design matrix with the intercept column; `y` 0/1; `beta` the
#'   Firth estimates (names = terms); `se` their standard errors (for the
#'   bracketing steps and the table's Wald `z`).
#' @return The coefficient table of [wald_table()] with `p_value` the
#'   penalised likelihood-ratio p-value, `or_lower`/`or_upper` the profile
#'   limits, plus `lr_chisq`, `ci_method` and `p_method`.
#' @noRd
firth_profile_table <- function(x, y, beta, se, term, level = 0.95) {
  x <- unname(as.matrix(x))
  y <- as.numeric(y)
  beta <- unname(as.numeric(beta))
  k <- length(beta)
  top <- firth_constrained_fit(x, y, beta, seq_len(k))
  beta_max <- if (top$converged) top$beta else beta
  pl_max <- max(top$loglik, firth_penalised_loglik(x, y, beta))
  crit <- stats::qchisq(level, 1)
  lo <- hi <- chisq <- numeric(k)
  open <- failed <- character()
  for (j in seq_len(k)) {
    free <- setdiff(seq_len(k), j)
    unit <- if (is.finite(se[j]) && se[j] > 0) min(se[j], 10) else 1
    # the constrained maximum at beta_j = c, warm-started from `from`
    at <- function(c, from) {
      b <- from
      b[j] <- c
      f <- firth_constrained_fit(x, y, b, free)
      f$dev <- 2 * (pl_max - f$loglik)
      f
    }
    # walk from the estimate towards `target` in steps of at most one unit
    # (each fit warm-started from the last), returning the fit at target
    walk <- function(target) {
      from <- beta_max
      pos <- beta_max[j]
      n_steps <- max(1L, ceiling(abs(target - pos) / unit))
      f <- NULL
      for (c in seq(pos, target, length.out = n_steps + 1L)[-1L]) {
        f <- at(c, from)
        if (!f$converged) return(f)
        from <- f$beta
      }
      f
    }
    z0 <- walk(0)
    chisq[j] <- if (isTRUE(z0$converged)) max(0, z0$dev) else NA_real_
    limit <- function(direction) {
      inside <- beta_max[j]; inside_beta <- beta_max; inside_dev <- 0
      step <- unit / 2
      repeat {
        c <- inside + direction * step
        f <- at(c, inside_beta)
        if (!f$converged) {
          step <- step / 4
          if (step < 1e-6 * unit) return(NA_real_)
          next
        }
        if (f$dev >= crit) break
        inside <- c; inside_beta <- f$beta; inside_dev <- f$dev
        if (abs(inside - beta_max[j]) > 200) return(direction * Inf)
        step <- step * 1.5
      }
      g <- function(cc) at(cc, inside_beta)$dev - crit
      ends <- if (direction > 0) c(inside, c) else c(c, inside)
      fe <- if (direction > 0) c(inside_dev, f$dev) - crit else c(f$dev, inside_dev) - crit
      stats::uniroot(g, ends, f.lower = fe[1L], f.upper = fe[2L], tol = 1e-10, maxiter = 200L)$root
    }
    lo[j] <- limit(-1)
    hi[j] <- limit(1)
    if (any(is.infinite(c(lo[j], hi[j])))) open <- c(open, term[j])
    if (anyNA(c(lo[j], hi[j], chisq[j]))) failed <- c(failed, term[j])
  }
  if (length(open)) {
    warn_classed("radnomo_undefined_metric", "The profile penalised likelihood of ", name_list(open),
                 " does not fall to the ", 100 * level, "% threshold on one side: that confidence limit is ",
                 "infinite.")
  }
  if (length(failed)) {
    warn_classed("radnomo_undefined_metric", "The profile penalised likelihood of ", name_list(failed),
                 " could not be maximised everywhere; the confidence limits or p-values it lacks are NA.")
  }
  tab <- wald_table(beta, se, term)
  tab$p_value <- stats::pchisq(chisq, 1, lower.tail = FALSE)
  tab$or_lower <- exp(lo)
  tab$or_upper <- exp(hi)
  tab$lr_chisq <- chisq
  tab$ci_method <- "profile penalised likelihood"
  tab$p_method <- "penalised likelihood ratio"
  tab
}

#' Coefficient table of a fit: Wald for maximum likelihood, profile
#' penalised likelihood for Firth's method
#'
#' `firth`: TRUE when `beta` are Firth's estimates for the design `x` (with
#' the intercept column) and outcome `y`. The profile computation is skipped
#' (Wald, labelled so) inside resampling, where the tables are not used.
#' @noRd
coefficient_table <- function(beta, se, term, firth = FALSE, x = NULL, y = NULL) {
  if (firth && !is.null(x) && !is.null(y) && !isTRUE(profile_state$skip)) {
    return(firth_profile_table(x, y, beta, se, term))
  }
  tab <- wald_table(beta, se, term)
  tab$ci_method <- "Wald"
  tab$p_method <- "Wald"
  tab
}

#' Whether coefficient tables skip the profile computation (resampling)
#' @noRd
profile_state <- new.env(parent = emptyenv())

#' Evaluate `expr` with Firth fits' coefficient tables left as Wald tables
#' (the resampling engine refits the study many times and reads no table)
#' @noRd
without_profile_ci <- function(expr) {
  old <- profile_state$skip
  profile_state$skip <- TRUE
  on.exit(profile_state$skip <- old)
  expr
}
