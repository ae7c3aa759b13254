"""Model explanations: Grad-CAM heatmaps for the deep models (:mod:`radnomo.explain.gradcam`).

Submodules are imported on use (torch and matplotlib are heavy); nothing is
imported here.
"""
