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
#' does not decrease and limiting a step to 5 (as logistf does), until the
#' step's predicted gain `U*' I^-1 U*` falls below `dtol`; after 50
#' iterations without convergence, BFGS (`optim`) with the exact gradient
#' `U*` finishes the maximisation. Returns
#' list(beta, loglik, converged).
#' @noRd
firth_constrained_fit <- function(x, y, beta, free, maxit = 300L, dtol = 1e-12) {
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
    # converged when the step's predicted gain in l* (u' I^-1 u, invariant to
    # the columns' scales) is negligible
    gain <- sum(u * step)
    if (gain < dtol) { converged <- TRUE; break }
    # at most 5 units per iteration (logistf's maxstep)
    if (max(abs(step)) > 5) step <- step * (5 / max(abs(step)))
    t <- 1
    repeat {
      nb <- beta
      nb[free] <- beta[free] + t * step
      npl <- firth_penalised_loglik(x, y, nb)
      if (is.finite(npl) && npl >= pl) break
      t <- t / 2
      if (t < 1e-10) break
    }
    if (t < 1e-10) {
      # no step improves l* in floating point: at the maximum if the gain left is tiny
      converged <- gain < 1e-8
      break
    }
    beta <- nb
    pl <- npl
    if (it == 50L) break
  }
  if (!converged) {
    # Fisher scoring converges only linearly where the penalty's curvature
    # dominates (near separation): finish with BFGS on l* and its exact
    # gradient, the modified score
    grad <- function(bf) {
      b <- beta
      b[free] <- bf
      p <- stats::plogis(drop(x %*% b))
      w <- p * (1 - p)
      info <- crossprod(x, x * w)
      h <- rowSums((x %*% solve(info)) * x) * w
      -drop(crossprod(x, y - p + h * (0.5 - p)))[free]
    }
    fn <- function(bf) {
      b <- beta
      b[free] <- bf
      v <- firth_penalised_loglik(x, y, b)
      if (is.finite(v)) -v else 1e300
    }
    o <- tryCatch(stats::optim(beta[free], fn, grad, method = "BFGS",
                               control = list(maxit = maxit, reltol = 1e-15)), error = function(e) NULL)
    if (!is.null(o) && -o$value >= pl) {
      beta[free] <- o$par
      pl <- -o$value
      g <- tryCatch(grad(o$par), error = function(e) NULL)
      if (!is.null(g)) {
        p <- stats::plogis(drop(x %*% beta))
        info <- crossprod(x, x * (p * (1 - p)))
        gain <- tryCatch(sum(g * solve(info[free, free, drop = FALSE], g)), error = function(e) Inf)
        converged <- gain < max(dtol, 1e-10)
      }
    }
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
#' bracketed by stepping out from the estimate (steps of half a standard
#' error, growing to a quarter of the distance covered) and found by
#' `uniroot`; the penalised likelihood-ratio test of `beta_j = 0` is
#' `2 (l*_max - l*_j(0))` on 1 df, reached by walking from the estimate to 0
#' in steps of at most one standard error. `l*` need not be concave, so each
#' constrained fit starts from the solutions at the two nearest values
#' already profiled (continuation) and keeps the higher maximum. `l*_max` is `l*` at the
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
  top <- firth_constrained_fit(x, y, beta, seq_len(k), maxit = 1000L, dtol = 1e-20)
  beta_max <- if (top$converged) top$beta else beta
  pl_max <- max(top$loglik, firth_penalised_loglik(x, y, beta))
  crit <- stats::qchisq(level, 1)
  lo <- hi <- chisq <- numeric(k)
  open <- failed <- character()
  for (j in seq_len(k)) {
    free <- setdiff(seq_len(k), j)
    unit <- if (is.finite(se[j]) && se[j] > 0) min(se[j], 10) else 1
    # the constrained maximum at beta_j = c: l* need not be concave, so the
    # fit starts from the solutions at the two nearest values of beta_j
    # already profiled (continuation) and keeps the higher maximum
    seen_c <- beta_max[j]
    seen_b <- list(beta_max)
    at <- function(c) {
      near <- order(abs(seen_c - c))[seq_len(min(2L, length(seen_c)))]
      best <- NULL
      for (i in near) {
        b <- seen_b[[i]]
        b[j] <- c
        f <- firth_constrained_fit(x, y, b, free)
        if (f$converged && (is.null(best) || f$loglik > best$loglik)) best <- f
      }
      if (is.null(best)) return(list(converged = FALSE))
      seen_c <<- c(seen_c, c)
      seen_b[[length(seen_b) + 1L]] <<- best$beta
      best$dev <- 2 * (pl_max - best$loglik)
      best
    }
    # walk from the estimate to 0 in steps of at most one unit
    walk <- function(target) {
      pos <- beta_max[j]
      n_steps <- max(1L, ceiling(abs(target - pos) / unit))
      f <- NULL
      for (c in seq(pos, target, length.out = n_steps + 1L)[-1L]) {
        f <- at(c)
        if (!f$converged) return(f)
      }
      f
    }
    z0 <- walk(0)
    chisq[j] <- if (isTRUE(z0$converged)) max(0, z0$dev) else NA_real_
    # step out from the estimate (half a unit, growing to a quarter of the
    # distance covered) until the deviance passes the threshold, then uniroot
    limit <- function(direction) {
      inside <- beta_max[j]; inside_dev <- 0
      step <- unit / 2
      retries <- 0L
      repeat {
        c <- inside + direction * step
        f <- at(c)
        if (!f$converged) {
          # a shorter step from the last point inside, at most 3 times
          retries <- retries + 1L
          if (retries > 3L) return(NA_real_)
          step <- step / 4
          next
        }
        if (f$dev >= crit) break
        inside <- c; inside_dev <- f$dev
        if (abs(inside - beta_max[j]) > 200) return(direction * Inf)
        step <- max(unit / 2, abs(inside - beta_max[j]) / 4)
      }
      g <- function(cc) {
        v <- at(cc)
        if (!v$converged) stop("the profile fit did not converge")
        v$dev - crit
      }
      ends <- if (direction > 0) c(inside, c) else c(c, inside)
      fe <- if (direction > 0) c(inside_dev, f$dev) - crit else c(f$dev, inside_dev) - crit
      tryCatch(stats::uniroot(g, ends, f.lower = fe[1L], f.upper = fe[2L], tol = 1e-10, maxiter = 200L)$root,
               error = function(e) NA_real_)
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
