"""Feature extraction: radiomics (:mod:`radnomo.features.radiomics`, with radnomo's own engine in
:mod:`radnomo.features.engine` and its PyRadiomics parameters in :mod:`radnomo.features.params`) and
deep features (:mod:`radnomo.features.deep`: DenseNet-169 fine-tuning and extraction).

Each module is imported where it is used (PyRadiomics and torch are heavy); there is no registry.
"""
