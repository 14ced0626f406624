"""This week's contacts: which ties meet, which fade, and what each resident took from meeting.

One uniform draw per tie decides both: it fades if u < fade, and the pair meet if u >= 1 - meet (disjoint when
fade + meet <= 1). From the ties that met, each resident gets: contacts outside the household, quality-weighted
bridging contacts (for attitudes) and contacts with fluent English speakers across language lines (for English).
"""

from __future__ import annotations

import numpy as np

from sim.network import SETTINGS, TieParams


def setting_table(p: TieParams, key: str) -> np.ndarray:
    return np.array([getattr(p, key).get(s, 0.0) for s in SETTINGS], dtype=np.float32)


def speaks_english(pop) -> np.ndarray:
    """Fluent in English: main language English, or 'very well'."""
    return pop.main_english | (pop.english >= 3.0)


def draw(net, p: TieParams, rng) -> tuple[np.ndarray, np.ndarray]:
    """(fade mask, meet mask) over tie slots for this week."""
    fade_p = np.where(net.lapsed, np.float32(p.fade_lapsed), setting_table(p, "fade")[net.setting])
    meet_p = setting_table(p, "meet")[net.setting]
    u = rng.random(len(net.alive), dtype=np.float32)
    fade = net.alive & (u < fade_p)
    meet = net.alive & ~fade & (u >= 1.0 - meet_p)
    return fade, meet


def exposure(pop, net, meet: np.ndarray, p: TieParams):
    """Per resident: contacts, bridging quality and English-speaking contacts from the ties that met."""
    n = len(pop.alive)
    a, b, s = net.a[meet], net.b[meet], net.setting[meet]
    bridging = net.bridging[meet]
    contacts = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    q = np.where(bridging, setting_table(p, "quality")[s], 0.0)
    bridging_q = np.bincount(a, weights=q, minlength=n) + np.bincount(b, weights=q, minlength=n)
    fluent = speaks_english(pop)
    # English is the language of a contact when the partner is fluent and either speaks it as a main language
    # or the pair do not share a group (and so, most likely, not another language)
    to_a = fluent[b] & (bridging | pop.main_english[b])
    to_b = fluent[a] & (bridging | pop.main_english[a])
    english = np.bincount(a, weights=to_a, minlength=n) + np.bincount(b, weights=to_b, minlength=n)
    return contacts.astype(np.int32), bridging_q.astype(np.float32), english.astype(np.float32)


# --- scalar forms (per-agent engine) ---------------------------------------------------------------------------


def draw_one(slot: int, net, p: TieParams, rng) -> tuple[bool, bool]:
    s = SETTINGS[net.setting[slot]]
    fade_p = p.fade_lapsed if net.lapsed[slot] else p.fade.get(s, 0.0)
    u = rng.random()
    fade = u < fade_p
    return fade, (not fade) and u >= 1.0 - p.meet.get(s, 0.0)


def exposure_one(i: int, slots, prev, net, met: np.ndarray, p: TieParams) -> tuple[int, float, float]:
    contacts, bq, eng = 0, 0.0, 0.0
    for k in slots:
        if not met[k]:
            continue
        j = int(net.b[k]) if net.a[k] == i else int(net.a[k])
        contacts += 1
        br = bool(net.bridging[k])
        if br:
            bq += p.quality.get(SETTINGS[net.setting[k]], 0.0)
        if (prev["main_english"][j] or prev["english"][j] >= 3.0) and (br or prev["main_english"][j]):
            eng += 1.0
    return contacts, bq, eng
