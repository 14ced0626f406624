"""Compiled (numba) passes over the tie arrays: the two hottest loops of the weekly step, fused.

Each is a plain loop over tie slots that numpy would need several passes and temporaries for. Random numbers are
drawn outside (numpy Generator streams, so seeding is unchanged); these functions only read them.
"""

from __future__ import annotations

import numba
import numpy as np

LEARNER, FLUENT, MAIN_ENGLISH = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def meet_and_expose(u, fade_p, meet_thr, a, b, setting, bridging, quality, code, fade, contacts, bridging_q,
                    english):  # pragma: no cover - compiled
    """For every tie slot: fade if u < fade_p; meet if u >= meet_thr. For met ties add, at both ends, one contact,
    the setting's quality if bridging, and an English contact for a learner whose partner speaks English to them
    (main language English, or fluent and from another group)."""
    for k in range(u.shape[0]):
        uk = u[k]
        if uk < fade_p[k]:
            fade[k] = True
            continue
        if uk < meet_thr[k]:
            continue
        i = a[k]
        j = b[k]
        contacts[i] += 1
        contacts[j] += 1
        br = bridging[k]
        if br:
            q = quality[setting[k]]
            bridging_q[i] += q
            bridging_q[j] += q
        ci = code[i]
        cj = code[j]
        if ci == LEARNER and (cj == MAIN_ENGLISH or (cj == FLUENT and br)):
            english[i] += 1.0
        if cj == LEARNER and (ci == MAIN_ENGLISH or (ci == FLUENT and br)):
            english[j] += 1.0


@numba.njit(cache=True, nogil=True)
def touching(alive, a, b, gone):  # pragma: no cover - compiled
    """Mask of live tie slots with an end in ``gone``."""
    out = np.zeros(alive.shape[0], dtype=np.bool_)
    for k in range(alive.shape[0]):
        if alive[k] and (gone[a[k]] or gone[b[k]]):
            out[k] = True
    return out
