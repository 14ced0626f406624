"""English proficiency grows with exposure: guided hours, English-speaking work, school, English-speaking contacts.

Proficiency is continuous on 0-4: [0,1) cannot speak English, [1,2) not well, [2,3) well, [3,4] very well (the
Census levels); residents whose main language is English are at 4. Learning slows with age (the age-of-acquisition
gradient: Hakuta, Bialystok & Wiley 2003). There is no forgetting over two years.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from sim.params import param
from sim.population import EMPLOYED
from sim.processes.rule import Column, Rule, WeekField


@dataclasses.dataclass
class LanguageParams:
    base: float = param(0.0006604, "calibrated (experiment=calibrate): self-study and everyday exposure, about 0.03 "
                        "of a Census level a year; fitted with work, contact and school to Bradford's fall in "
                        "poor English from 4.82% (2011) to 4.15% (2021) (target bradford_poor_english_trend)",
                        low=0, high=0.05, unit="levels/week",
        plausible=(0.0001, 0.002))
    work: float = param(0.001258, "assumption: English used at work adds about 0.05 of a level a year", low=0,
                        high=0.05, unit="levels/week",
        plausible=(0.0, 0.003))
    contact: float = param(0.0004599, "assumption: per weekly contact with a fluent English speaker", low=0,
                           high=0.02, unit="levels/week/contact",
        plausible=(0.0, 0.002))
    contact_cap: float = param(6.0, "assumption: contacts beyond this add nothing more in a week", low=0, high=50,
                               unit="contacts")
    school: float = param(0.01089, "assumption: pupils reach fluency within a few school years (DfE EAL "
                          "proficiency progression, order of magnitude)", low=0, high=0.1, unit="levels/week",
        plausible=(0.005, 0.015))
    class_hour: float = param(0.002488, "calibrated (experiment=calibrate; data/calibration/): fitted with the "
                              "other language parameters to the ESOL for Integration Fund's 24% of pre-entry and "
                              "Entry 1 learners up at least one ESOL level in a year (target esol_fund_up_a_level, "
                              "through an explicit, uncertain mapping of ESOL levels to the Census scale). For "
                              "scale: the [~] Cambridge guidance is about 200 guided hours per CEFR level "
                              "(cumulative: A2 180-200, B1 350-400)", low=0, high=0.05,
                              unit="levels/guided hour",
        plausible=(0.002, 0.02))
    age_scale: float = param(28.69, "assumption: learning rate falls by e per this many years over age 20 (Hakuta, "
                             "Bialystok & Wiley 2003 show a steady decline with age of arrival)", low=5, high=200,
                             unit="years",
        plausible=(10.0, 60.0))


def age_factor(age, p: LanguageParams):
    return np.exp(-np.maximum(age - 20.0, 0.0) / p.age_scale)


def gain(age, employed, pupil, english_contacts, class_hours, p: LanguageParams, factor=1.0):
    """Levels gained this week by residents still learning (vectorised); ``factor`` scales adult learning
    (distress slows it, motivation raises it: the week's ``learn_factor``)."""
    adult = p.base + p.work * employed + p.contact * np.minimum(english_contacts, p.contact_cap)
    return age_factor(age, p) * (adult + p.class_hour * class_hours) * factor + p.school * pupil


def learn(english, age, employed, pupil, english_contacts, class_hours, p: LanguageParams, factor=1.0):
    """Proficiency after a week of learning (arrays, or one resident's values): the rule, defined once."""
    return np.minimum(english + gain(age, employed, pupil, english_contacts, class_hours, p, factor),
                      np.float32(4.0))


def learning(main_english, english):
    """Who is still learning: English is not their main language and they are below 'very well' at its top."""
    return np.logical_and(np.logical_not(main_english), english < 4.0)


@numba.njit(cache=True, nogil=True)
def learners(alive, main_english, english):  # pragma: no cover - compiled
    """Rows (in order) of live residents still learning English (``language.learning``: another main language
    and below 4)."""
    out = np.empty(alive.shape[0], dtype=np.int64)
    n = 0
    four = np.float32(4.0)
    for i in range(alive.shape[0]):  # branch-free, as could_give_birth
        out[n] = i
        n += alive[i] & (not main_english[i]) & (english[i] < four)
    return out[:n].copy()


def step(pop, week, p: LanguageParams) -> np.ndarray:
    """New proficiency for everyone (synchronous: reads this week's starting state); only learners change."""
    new = pop.english.copy()
    r = learners(pop.alive, pop.main_english, pop.english)  # rows of alive & learning(...), in one pass
    new[r] = learn(pop.english[r], pop.age[r], pop.status[r] == EMPLOYED, pop.school[r] >= 0,
                   week.english_contacts[r], week.class_hours[r], p, week.learn_factor[r])
    return new


def step_one(prev, i, english_contacts, class_hours, p: LanguageParams, factor=1.0):
    """The same rule for one resident (the per-agent engine)."""
    if not learning(prev["main_english"][i], prev["english"][i]):
        return prev["english"][i]
    return learn(prev["english"][i], prev["age"][i], prev["status"][i] == EMPLOYED, prev["school"][i] >= 0,
                 english_contacts, class_hours, p, factor)


def weekly(model, week, u=None):
    return step(model.pop, week, model.params.language)


def weekly_one(model, i, prev, week, u=None):
    return step_one(prev, i, week.english_contacts[i], week.class_hours[i], model.params.language,
                    week.learn_factor[i])


RULE = Rule(
    "language", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, group="language", params=LanguageParams,
    owns=("english",), reads=("english_contacts", "class_hours", "learn_factor"),
    columns={
        "english": Column(np.float32, birth=lambda pop, rows, rng: np.where(pop.main_english[rows], 4.0, 0.5),
                          doc="proficiency 0-4: [0,1) cannot, [1,2) not well, [2,3) well, [3,4] very well"),
        "english_entry": Column(np.float32, birth=lambda pop, rows, rng: pop.english[rows],  # (after english)
                                doc="proficiency when the resident entered the model (week 0, arrival or birth)"),
    },
    defines={"class_hours": WeekField(np.float32, 0.0, "guided hours of English classes attended (programmes)"),
             "learn_factor": WeekField(np.float32, 1.0, "multiplier of adult learning this week (distress slows "
                                                        "it; the citizenship English rule's motivation raises it)"),
             "class_uptake": WeekField(np.float32, 1.0, "multiplier of the chance of taking up an offered English "
                                                        "class place (motivation: the citizenship English rule)")},
)
