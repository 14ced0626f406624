"""The chance of being in work: the employment log-odds by age band, sex and English (``PopulationParams``'
``employment_*``), shared by the population's week-0 statuses (``characteristics.economic_status``) and the weekly
employment rule (``processes/employment.py``), and the age bands' table (``BAND_OF_YEAR``, which the rule's compiled
passes take as an argument).
"""

from __future__ import annotations

import numpy as np

AGE_BANDS = np.array([18, 25, 50, 60, 65, 70])  # bands of PopulationParams.employment_age
BAND_OF_YEAR = np.searchsorted(AGE_BANDS, np.arange(131), side="right").astype(np.int8)


def employment_logit(age, female, main_english, english, trait, params, terms=None) -> np.ndarray:
    """A resident's log-odds of being in work: age band, sex, English, plus their fixed ``trait``.

    English enters continuously: the ONS 2011 gaps apply at the middle of "not well" (1.0) and of "very well"
    (3.5), with a straight line between and no gap for English as the main language. ``trait`` holds the ethnic
    group offset calibrated to RM104 and the area level calibrated to TS066. ``terms``: the caller's
    ``language_terms`` of these residents, if it has them already.
    """
    general, women = language_terms(main_english, english, female, params) if terms is None else terms
    return (np.asarray(params.employment_age)[age_band(age)] + params.employment_female * female + general + women
            + trait)


def language_terms(main_english, english, female, params):
    """The English part of the employment log-odds in two parts: the general gap (not well against very well,
    both against English as the main language) and the extra gap of women who cannot speak English well. The
    cross-sectional gaps set up the week-0 population; how much of each is a causal effect of English (what
    changes when someone learns) is ``EmploymentParams.english_effect`` / ``english_effect_women``."""
    e = np.clip(english, 0.0, 4.0)
    w = np.clip((e - 1.0) / 2.5, 0.0, 1.0)
    general = np.where(main_english, 0.0, (1 - w) * params.employment_poor_english
                       + w * params.employment_good_english)
    women = np.where(main_english, 0.0, (1 - w) * params.employment_female_poor_english * female)
    return general, women


def age_band(age) -> np.ndarray:
    """Index of the employment age band (a table lookup on whole years; the band limits are whole years)."""
    return BAND_OF_YEAR[np.minimum(np.asarray(age), 130).astype(np.int32)]
