# Decision curve analysis following rmda's definitions (Kerr et al., rmda 1.6).

#' Decision curves (net benefit) for one or more risk models
#'
#' Re-implements the definitions of the rmda package (which cannot be a hard
#' dependency here). With prevalence `rho = mean(y)` and a patient "high
#' risk" when `risk >= threshold`:
#' * **opt-in** (default; treat the high-risk patients):
#'   `NB = TPR * rho - FPR * (1 - rho) * t / (1 - t)`, `sNB = NB / rho`;
#' * **opt-out** (withhold treatment from the low-risk patients):
#'   `NB = TNR * (1 - rho) - FNR * rho * (1 - t) / t`, `sNB = NB / (1 - rho)`.
#'
#' Rows for the reference strategies are added as models `"all"` (everyone
#' high risk: TPR = FPR = 1) and `"none"` (no one: TPR = FPR = 0). Where the
#' threshold odds are undefined (t = 1 for opt-in, t = 0 for opt-out) the net
#' benefits are `NA`. To match rmda's output exactly, at t = 1 the `"all"` row
#' has TPR = FPR = 0 (rmda's convention), and at t = 0 (opt-in) `"none"` has
#' net benefit 0.
#'
#' Bootstrap intervals (`bootstraps > 0`): patients are resampled with
#' replacement (seeded with `seed`; caller's RNG state restored), net benefits
#' recomputed from the *given* risks (no model refitting, like rmda with
#' `fitted.risk = TRUE`), and percentile intervals at `conf_level` reported.
#' These intervals describe the sampling uncertainty of the net benefit of
#' fixed risks; they do not correct for the optimism of a model evaluated on
#' the patients it was fitted on. For a decision curve corrected for the
#' whole modelling process (selection included), see [validate_study()]'s
#' `decision` table, which draws its resamples from the same engine (with the
#' same `seed` and `method = "boot"`, its bootstrap draws are these).
#'
#' Thresholds: the default, 0 to 1 by 0.01, is rmda's grid (at 1 the opt-in
#' net benefit is undefined, NA); [fit_study()], [evaluate_study()] and
#' [validate_study()] use 0 to 0.99.
#'
#' @param y Binary outcome (0/1, logical or two-level factor, second level = event).
#' @param risks Named list or data.frame of predicted risks in \[0, 1\] (one
#'   element per model), or a single numeric vector (named "model").
#' @param thresholds Risk thresholds in \[0, 1\].
#' @param policy `"opt-in"` or `"opt-out"`.
#' @param bootstraps Number of bootstrap resamples for confidence intervals (0 = none).
#' @param seed Optional integer seed for the bootstrap.
#' @param conf_level Confidence level of the percentile intervals.
#' @param event The value of the outcome that is the event (coded 1), e.g.
#'   `"Poor"`; by default 1 / `TRUE`, or the second level of a factor
#'   (announced with a message).
#' @param outcome_name The outcome's name in messages (e.g. the outcome
#'   column, `"recurrence"`); by default the expression passed as `y` when it
#'   is a variable or a data-frame column (`d$recurrence`), else `"y"`.
#' @return data.frame model, threshold, tpr, fpr, net_benefit,
#'   standardized_net_benefit (+ nb_lower, nb_upper, snb_lower, snb_upper
#'   when `bootstraps > 0`); the models first, then `"all"` and `"none"`.
#'   Attributes `prevalence` and `policy`.
#' @examples
#' set.seed(1)
#' risk <- runif(200)
#' y <- rbinom(200, 1, risk)
#' head(decision_curve(y, list(model = risk)))
#' @export
decision_curve <- function(y, risks, thresholds = seq(0, 1, by = 0.01), policy = c("opt-in", "opt-out"),
                           bootstraps = 0, seed = NULL, conf_level = 0.95, event = NULL, outcome_name = NULL) {
  policy <- match_arg(policy)
  y <- check_binary(y, outcome_label(outcome_name, substitute(y)), event)
  risks <- check_score_list(risks, length(y), "risks", probability = TRUE)
  if (any(names(risks) %in% c("all", "none"))) abort("'risks' cannot use the reserved model names 'all' or 'none'.")
  if (!is.numeric(thresholds) || !length(thresholds) || anyNA(thresholds) || any(thresholds < 0 | thresholds > 1)) {
    abort("'thresholds' must be numeric values in [0, 1].")
  }
  check_number(bootstraps, "bootstraps", 0, 1e5, integer = TRUE)
  check_number(conf_level, "conf_level", 0, 1, lower_open = TRUE, upper_open = TRUE)
  seed <- check_seed(seed)

  out <- dca_table(y, risks, thresholds, policy)
  if (bootstraps > 0) {
    # the bootstrap draws of validate_study(method = "boot") with the same seed
    band <- dca_bootstrap(y, risks, thresholds, policy, bootstrap_indices(length(y), bootstraps, seed), conf_level)
    out$nb_lower <- band$nb[, 1L]; out$nb_upper <- band$nb[, 2L]
    out$snb_lower <- band$snb[, 1L]; out$snb_upper <- band$snb[, 2L]
  }
  attr(out, "prevalence") <- mean(y)
  attr(out, "policy") <- policy
  out
}

#' Percentile intervals of net benefit over bootstrap draws of the patients, risks fixed
#'
#' rmda's bootstrap (`fitted.risk = TRUE`): each draw (a vector of row
#' numbers from [bootstrap_indices()] or the resamples of validate_study())
#' recomputes the net benefit of the *given* risks on the drawn patients; a
#' draw with a single outcome class gives NA. Returns `nb` and `snb`, each a
#' (rows of [dca_table()]) x 2 matrix of the lower and upper percentiles.
#' @noRd
dca_bootstrap <- function(y, risks, thresholds, policy, draws, conf_level = 0.95) {
  n_rows <- (length(risks) + 2L) * length(thresholds)
  boot <- run_resamples(length(draws), function(b) {
    i <- draws[[b]]
    yy <- y[i]
    if (length(unique(yy)) < 2L) return(matrix(NA_real_, n_rows, 2L))
    t <- dca_table(yy, lapply(risks, `[`, i), thresholds, policy)
    cbind(t$net_benefit, t$standardized_net_benefit)
  }, workers = 1L, progress = FALSE)
  a <- (1 - conf_level) / 2
  q <- function(k) {
    m <- matrix(vapply(boot, function(b) b[, k], numeric(n_rows)), n_rows)
    t(apply(m, 1L, stats::quantile, probs = c(a, 1 - a), na.rm = TRUE, names = FALSE))
  }
  list(nb = q(1L), snb = q(2L))
}

#' Net benefit table without intervals
#' @noRd
dca_table <- function(y, risks, thresholds, policy) {
  rho <- mean(y)
  n1 <- sum(y == 1L); n0 <- sum(y == 0L)
  one <- function(name, tpr, fpr) {
    if (policy == "opt-in") {
      nb <- tpr * rho - fpr * (1 - rho) * thresholds / (1 - thresholds)
      nb[thresholds == 1] <- NA_real_
      snb <- nb / rho
    } else {
      nb <- (1 - fpr) * (1 - rho) - (1 - tpr) * rho * (1 - thresholds) / thresholds
      nb[thresholds == 0] <- NA_real_
      snb <- nb / (1 - rho)
    }
    data.frame(model = name, threshold = thresholds, tpr = tpr, fpr = fpr,
               net_benefit = nb, standardized_net_benefit = snb, stringsAsFactors = FALSE)
  }
  rows <- lapply(names(risks), function(m) {
    high <- outer(risks[[m]], thresholds, ">=")
    one(m, colSums(high[y == 1L, , drop = FALSE]) / n1, colSums(high[y == 0L, , drop = FALSE]) / n0)
  })
  at1 <- thresholds == 1
  all_rows <- one("all", ifelse(at1, 0, 1), ifelse(at1, 0, 1))
  none_rows <- one("none", rep(0, length(thresholds)), rep(0, length(thresholds)))
  if (policy == "opt-in") none_rows$net_benefit[thresholds == 0] <- none_rows$standardized_net_benefit[thresholds == 0] <- 0
  out <- do.call(rbind, c(rows, list(all_rows, none_rows)))
  rownames(out) <- NULL
  out
}

#' Plot decision curves to a file
#'
#' Net benefit against threshold probability for each model and the "Treat
#' all" and "Treat none" strategies. Default y-limits run from -0.05 to 1.1
#' times the largest net benefit.
#'
#' @param dc A data.frame from [decision_curve()] (one set; a `set` column, if
#'   any, must hold a single value).
#' @param file Output path ending in `.png`, `.pdf` or `.svg`.
#' @param ylim Optional y-axis limits.
#' @param title Optional title.
#' @param width,height Figure size in inches.
#' @return `file`, invisibly.
#' @examples
#' set.seed(1)
#' risk <- runif(200)
#' dc <- decision_curve(rbinom(200, 1, risk), list(model = risk))
#' f <- plot_decision_curve(dc, tempfile(fileext = ".png"), title = "Simulated")
#' @export
plot_decision_curve <- function(dc, file, ylim = NULL, title = NULL, width = 7, height = 5.5) {
  need <- c("model", "threshold", "net_benefit")
  if (!is.data.frame(dc) || !all(need %in% names(dc))) {
    abort("'dc' must be a data.frame from decision_curve() with columns ", name_list(need), ".")
  }
  if ("set" %in% names(dc) && length(unique(dc$set)) > 1L) abort("'dc' holds several sets; plot one set at a time.")
  open_device(file, width, height)
  on.exit(grDevices::dev.off(), add = TRUE)
  draw_decision_curve(dc, ylim = ylim, title = title)
  invisible(file)
}

#' Draw a decision-curve table on the current device
#'
#' The drawing behind [plot_decision_curve()], for knitr chunks and
#' `par(mfrow = ...)` layouts: net benefit against threshold probability for
#' each model, "treat all" and "treat none".
#'
#' @param dc A data.frame from [decision_curve()] (one set).
#' @param ylim Optional y-axis limits.
#' @param title Optional title.
#' @return `dc`, invisibly.
#' @examples
#' set.seed(1)
#' risk <- runif(200)
#' draw_decision_curve(decision_curve(rbinom(200, 1, risk), list(model = risk)))
#' @export
draw_decision_curve <- function(dc, ylim = NULL, title = NULL) {
  need <- c("model", "threshold", "net_benefit")
  if (!is.data.frame(dc) || !all(need %in% names(dc))) {
    abort("'dc' must be a data.frame from decision_curve() with columns ", name_list(need), ".")
  }
  if ("set" %in% names(dc) && length(unique(dc$set)) > 1L) abort("'dc' holds several sets; plot one set at a time.")
  old <- graphics::par(no.readonly = TRUE)["mar"]
  on.exit(graphics::par(old), add = TRUE)
  nb_max <- max(dc$net_benefit, na.rm = TRUE)
  if (is.null(ylim)) ylim <- c(-0.05, max(nb_max * 1.1, 0.05))
  models <- setdiff(unique(dc$model), c("all", "none"))
  cols <- grDevices::hcl.colors(max(3L, length(models)), "Dark 3")[seq_along(models)]
  graphics::par(mar = c(4.5, 4.5, if (is.null(title)) 1.5 else 3, 1))
  graphics::plot(NA, xlim = range(dc$threshold), ylim = ylim, xlab = "Threshold probability",
                 ylab = "Net benefit", main = if (is.null(title)) "" else title, las = 1)
  graphics::abline(h = 0, col = "grey85")
  draw <- function(m, col, lty, lwd) {
    s <- dc[dc$model == m, ]
    graphics::lines(s$threshold, s$net_benefit, col = col, lty = lty, lwd = lwd)
  }
  draw("all", "grey50", 1, 1.5)
  draw("none", "black", 2, 1.5)
  for (k in seq_along(models)) draw(models[k], cols[k], 1, 2.2)
  graphics::legend("topright", legend = c(models, "Treat all", "Treat none"),
                   col = c(cols, "grey50", "black"), lty = c(rep(1, length(models)), 1, 2),
                   lwd = c(rep(2.2, length(models)), 1.5, 1.5), bty = "n", cex = 0.85)
  invisible(dc)
}
