"""Which feature blocks, and so which models, a run has — and how the report words them.

A study fits the clinical model, a Rad score from the radiomics block, a DL score from the deep
block (``deep.enabled``) and the nomogram that combines them. With the deep block off there is no
DL score: the captions, section texts and checklist answers of such a run must not describe one,
and the nomogram is a Rad-Clinical nomogram. :class:`ModelScope` is that one fact (per block: on
or off) with the words that follow from it; the report's tables, figures and checklists take their
wording from it instead of assuming every block.

The radiomics block has no switch in the configuration (it is always on); the flag exists so the
wording does not assume it either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Radnomo's name of the nomogram over every block (the reference study's name).
FULL_NOMOGRAM = "DL-Rad-Clinical nomogram"

_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


def join_words(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class ModelScope:
    """The feature blocks of a run (``radiomics``, ``deep``: on or off) and the models they give."""

    radiomics: bool = True
    deep: bool = True

    @classmethod
    def from_config(cls, config: Any) -> ModelScope:
        """The scope of a :class:`~radnomo.pipeline.config.StudyConfig` (``deep.enabled``)."""
        return cls(deep=bool(config.deep.enabled))

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> ModelScope:
        """The scope of a configuration as a plain mapping (the run record's ``configuration``)."""
        return cls(deep=bool((config.get("deep") or {}).get("enabled")))

    # -- models ------------------------------------------------------------------------------------
    @property
    def scores(self) -> tuple[str, ...]:
        """The score models of the run's blocks: ``rad_score`` and/or ``dl_score``."""
        return tuple(m for m, on in (("rad_score", self.radiomics), ("dl_score", self.deep)) if on)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model the run can fit, in report order."""
        return ("clinical", *self.scores, "nomogram")

    def has(self, block: str | None) -> bool:
        """Whether the run has ``block`` (``"radiomics"``/``"deep"``; ``None``: always)."""
        return block is None or bool(getattr(self, block))

    # -- words -------------------------------------------------------------------------------------
    @property
    def nomogram_name(self) -> str:
        """``"DL-Rad-Clinical nomogram"``, ``"Rad-Clinical nomogram"`` without the deep block, ..."""
        parts = [p for p, on in (("DL", self.deep), ("Rad", self.radiomics)) if on]
        return "-".join([*parts, "Clinical"]) + " nomogram"

    @property
    def n_models(self) -> str:
        """The number of models in words ("four")."""
        return _NUMBER_WORDS.get(len(self.models), str(len(self.models)))

    def score_names(self) -> str:
        """``"Rad and DL scores"``, ``"Rad score"``, ``"DL score"`` (or ``""`` without either)."""
        short = [{"rad_score": "Rad", "dl_score": "DL"}[s] for s in self.scores]
        if not short:
            return ""
        return f"{join_words(short)} score" + ("s" if len(short) > 1 else "")

    def model_list(self) -> str:
        """``"the clinical model, Rad score, DL score and nomogram"``."""
        names = {"clinical": "clinical model", "rad_score": "Rad score", "dl_score": "DL score",
                 "nomogram": "nomogram"}
        return "the " + join_words([names[m] for m in self.models])

    def nomogram_inputs(self) -> str:
        """``"the Rad score, the DL score and the selected clinical variables"``."""
        names = {"rad_score": "the Rad score", "dl_score": "the DL score"}
        return join_words([names[s] for s in self.scores] + ["the selected clinical variables"])

    def feature_blocks(self) -> str:
        """``"radiomics and deep features"``, ``"radiomics features"``, ..."""
        blocks = [b for b, on in (("radiomics", self.radiomics), ("deep", self.deep)) if on]
        return f"{join_words(blocks)} features" if blocks else "no image features"

    def words(self, nomogram: str | None = None) -> dict[str, str]:
        """The placeholders of the report's declared titles, captions and section texts:
        ``{nomogram}`` (the study's label of the nomogram, ``nomogram``), ``{models}``, ``{n_models}``,
        ``{scores}``, ``{nomogram_inputs}``, ``{explained}``."""
        explained = "SHAP values of the score models' terms"
        if self.deep:
            explained += " and Grad-CAM maps of the deep models"
        return {"nomogram": nomogram or self.nomogram_name, "models": self.model_list(), "n_models": self.n_models,
                "scores": self.score_names(), "nomogram_inputs": self.nomogram_inputs(), "explained": explained}
