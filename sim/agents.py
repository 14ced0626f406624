"""Resident: a Mesa agent that is a view onto one row of the model's columnar state.

Reading ``resident.english`` reads the model's array; writing it writes the array. ``step()`` applies the weekly
rules to this one resident in their readable scalar form (the ``engine=agents`` path): it reads last week's state
(``model.stepper.prev``) and writes this week's, so the result does not depend on the order agents are stepped in.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.columns import COLUMN_SPECS, STATUS_NAMES
from sim.network import SETTINGS
from sim.processes import COLUMN_RULES, contact, demography, ties

LEVELS = ("cannot speak English", "not well", "well", "very well")


def _column(name, doc):
    def get(self):
        v = getattr(self.model.pop, name)[self.row]
        return v.item() if hasattr(v, "item") else v

    def set_(self, value):
        getattr(self.model.pop, name)[self.row] = value

    return property(get, set_, doc=doc)


class Resident(mesa.Agent):
    """One resident of the pilot area."""

    # every population column is an attribute of that name (``resident.english``), from the column table: set
    # below, except where a readable form is defined here (``status``: its name)

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = row

    @property
    def sex(self) -> str:
        return "female" if self.female else "male"

    @property
    def ethnic_group(self) -> str:
        return self.model.pop.groups[self.model.pop.group[self.row]]

    @property
    def status(self) -> str:
        return STATUS_NAMES[self.model.pop.status[self.row]]

    @property
    def english_level(self) -> str:
        """The Census category: 'main language English' or how well English is spoken."""
        if self.main_english:
            return "main language English"
        return LEVELS[min(int(self.english), 3)]

    @property
    def contacts(self) -> list:
        """The residents this one has a tie with (outside the household; everyday and programme ties)."""
        out = []
        for net in self.model.networks:
            slots = net.incident(self.row)
            others = np.where(net.a[slots] == self.row, net.b[slots], net.a[slots])
            out += [self.model.agent_of(int(j)) for j in others]
        return out

    @property
    def ties_by_setting(self) -> dict:
        s = np.concatenate([net.setting[net.incident(self.row)] for net in self.model.networks])
        return {SETTINGS[k]: int((s == k).sum()) for k in np.unique(s)}

    def __repr__(self) -> str:
        return (f"<Resident {self.unique_id} row={self.row} {self.age:.0f}y {self.ethnic_group} "
                f"{self.english_level} {self.status}>")

    # --- the per-agent engine -----------------------------------------------------------------------------------

    def meet(self, n: int) -> None:
        """Draw this week's meeting and fading for the ties of network ``n`` (0 everyday, 1 programme) this
        resident owns (the 'a' end); everyday ties meet less when programme meetings took the time."""
        m = self.model
        e = m.stepper
        net = m.networks[n]
        keep = e.keep if n == 0 else None
        for k in e.owned_slots(self.row, n):
            e.fade_mask[n][k], e.meet_mask[n][k] = contact.draw_one(k, net, e.rng, keep)

    def step(self) -> None:
        """This resident's week: contacts, then each column rule (English, work, attitude), new ties, a week
        older: each rule's per-resident form, reading the start-of-week state ``prev``; the engine applies the
        new values together at the end of the week."""
        m, i = self.model, self.row
        e, week, p = m.stepper, m.week, m.params
        prev = e.prev
        n_contacts, bq, eng = 0, 0.0, 0.0
        for n, net in enumerate(m.networks):
            c, q, en = contact.exposure_one(i, e.incident_slots(i, n), prev, net, e.meet_mask[n], p.ties)
            n_contacts, bq, eng = n_contacts + c, bq + q, eng + en
        week.contacts[i], week.bridging_q[i], week.english_contacts[i] = n_contacts, bq, eng
        for r in COLUMN_RULES:  # language, employment, attitude: each rule's per-resident form
            e.new[r.name][i] = r.step_one(m, i, prev, week, e.draws[r.name])
        pop = m.pop
        e.pending_ties.extend(ties.new_ties_one(i, prev, m.indices, p.ties, e.rng, m.attitude_ref))
        pop.age[i] = demography.older(prev["age"][i])
        pop.years_in_uk[i] = demography.older(prev["years_in_uk"][i])


for _name, _spec in COLUMN_SPECS.items():  # (the rules' columns included: sim.processes registered them above)
    if not hasattr(Resident, _name):
        setattr(Resident, _name, _column(_name, _spec.doc))
