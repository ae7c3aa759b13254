"""Published liver-function scores, as the synthetic cohort derives them from its lab values.

* ALBI score = 0.66 * log10(bilirubin, umol/L) - 0.085 * albumin (g/L)
  (Johnson et al., J Clin Oncol 2015;33:550);
* MELD = 3.78 ln(bilirubin mg/dL) + 11.2 ln(INR) + 9.57 ln(creatinine mg/dL)
  + 6.43, each lab value floored at 1 (Kamath et al., Hepatology 2001;33:464; UNOS convention);
* Child-Pugh points from bilirubin (<34, 34-50, >50 umol/L), albumin (>35, 28-35, <28 g/L),
  INR (<1.7, 1.7-2.3, >2.3), ascites and no encephalopathy.
"""

from __future__ import annotations

import numpy as np


def albi_score(tbil_umol_l, alb_g_l):
    """ALBI score (Johnson 2015): 0.66 log10(bilirubin umol/L) - 0.085 albumin g/L."""
    return 0.66 * np.log10(tbil_umol_l) - 0.085 * np.asarray(alb_g_l, dtype=float)


def meld_score(tbil_umol_l, inr, creat_mg_dl):
    """MELD (Kamath 2001, UNOS form): 3.78 ln(bili mg/dL) + 11.2 ln(INR) + 9.57 ln(creat mg/dL) + 6.43.

    Bilirubin is converted with 17.1 umol/L per mg/dL; each value below 1 is set to 1.
    """
    bili = np.maximum(np.asarray(tbil_umol_l, dtype=float) / 17.1, 1.0)
    inr = np.maximum(np.asarray(inr, dtype=float), 1.0)
    creat = np.maximum(np.asarray(creat_mg_dl, dtype=float), 1.0)
    return 3.78 * np.log(bili) + 11.2 * np.log(inr) + 9.57 * np.log(creat) + 6.43


def child_pugh_points(tbil_umol_l: float, alb_g_l: float, inr: float, ascites: int) -> int:
    """Child-Pugh points (5-15) with no encephalopathy; ``ascites`` 0 none, 1 mild, 2 moderate."""
    pts = 1 + (tbil_umol_l >= 34) + (tbil_umol_l > 50)
    pts += 1 + (alb_g_l <= 35) + (alb_g_l < 28)
    pts += 1 + (inr >= 1.7) + (inr > 2.3)
    pts += 1 + int(ascites)
    pts += 1  # encephalopathy: none
    return int(pts)
