"""Weekly rules. Each file holds one rule: its parameters, its vectorised form (all residents at once), its
per-resident form (called by ``Resident.step``) and, at its end, its declaration ``RULE`` (see
``sim.processes.rule``). A change to a rule is one edit in one place; adding a rule is a new file here and one
entry in ``RULES``.

Update semantics (both engines): synchronous. Every rule reads the state as it was at the start of the week (and
this week's contacts, drawn first); all changes are applied together at the end of the week.
"""

from __future__ import annotations

from sim.population import COLUMN_SPECS, PopulationParams
from sim.processes import attitude, contact, demography, employment, language, mental_health, ties
from sim.processes.rule import KINDS, Rule, Week, WeekField

# the rules, in the order of their parameter groups in the config and the parameter table
RULES: tuple[Rule, ...] = (ties.RULE, contact.RULE, language.RULE, employment.RULE, attitude.RULE, mental_health.RULE,
                          demography.RULE)

# the rules that update columns from the week's inputs, in the order their changes are applied (language before
# employment: a new job's work team is chosen by the week's new English)
COLUMN_RULES: tuple[Rule, ...] = tuple(r for r in RULES if r.kind == "column")

# config key -> parameter dataclass: the population generator's group, then each rule's
PARAM_GROUPS: dict[str, type] = {"population": PopulationParams,
                                 **{r.group: r.params for r in RULES if r.group is not None}}

# every weekly input, from the rules that define them
WEEK_FIELDS: dict[str, WeekField] = {name: f for r in RULES for name, f in r.defines.items()}

# population column -> the rule that changes it week by week (the others are set when a resident is made)
OWNER: dict[str, str] = {c: r.name for r in RULES for c in r.owns}


def check_declarations(rules=RULES) -> None:
    """A mis-declared rule fails here, at import, rather than as a wrong number later."""
    seen_groups, seen_cols, seen_inputs = set(), {}, set()
    for r in rules:
        if r.kind not in KINDS:
            raise TypeError(f"rule '{r.name}': unknown kind '{r.kind}'; allowed: {', '.join(KINDS)}")
        if r.kind == "column" and (not r.owns or r.step_one is None):
            raise TypeError(f"rule '{r.name}': a column rule owns at least one column and has a per-resident form")
        if r.group is not None:
            if r.group in seen_groups or r.group == "population" or r.params is None:
                raise TypeError(f"rule '{r.name}': parameter group '{r.group}' is taken or has no dataclass")
            seen_groups.add(r.group)
        for c in r.owns:
            if c not in COLUMN_SPECS:
                raise TypeError(f"rule '{r.name}' owns '{c}', which is not a population column")
            if c in seen_cols:
                raise TypeError(f"column '{c}' is owned by both '{seen_cols[c]}' and '{r.name}'")
            seen_cols[c] = r.name
        for name in r.defines:
            if name in seen_inputs:
                raise TypeError(f"weekly input '{name}' is defined twice (rule '{r.name}')")
            seen_inputs.add(name)
    defined = {name for r in rules for name in r.defines}
    for r in rules:
        missing = set(r.reads) - defined
        if missing:
            raise TypeError(f"rule '{r.name}' reads weekly input(s) no rule defines: {sorted(missing)}")


check_declarations()


def new_week(n: int) -> Week:
    """This week's inputs for ``n`` rows, all at their neutral values."""
    return Week(WEEK_FIELDS, n)


__all__ = ["RULES", "COLUMN_RULES", "PARAM_GROUPS", "WEEK_FIELDS", "OWNER", "Week", "new_week", "check_declarations"]
