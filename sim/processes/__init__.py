"""Weekly rules. Each file holds one rule: its parameters, the population columns it brings, its vectorised form
(all residents at once), its per-resident form (called by ``Resident.step``), its own compiled passes and, at its
end, its declaration ``RULE`` (see ``sim.processes.rule``). Adding a rule is a new file here and its name in the
registry below (``RULE_MODULES``: one entry, nothing to import); the config's parameter groups, the population's
columns, ``Resident``'s attributes, the Week's inputs and both engines follow from the declarations.

Update semantics (both engines): synchronous. Every rule reads the state as it was at the start of the week (and
this week's contacts, drawn first); all changes are applied together at the end of the week.
"""

from __future__ import annotations

import importlib

from sim.columns import BASE_COLUMNS, declare_columns
from sim.population import PopulationParams
from sim.processes.rule import KINDS, Rule, Week, WeekField

# what follows from the declarations, filled in by register() (in place: modules that imported them see a rule
# registered later, as the test of the rule recipe does)
RULES: tuple[Rule, ...] = ()  # in the order of their parameter groups in the config and the parameter table
# the rules that update columns from the week's inputs, in the order their changes are applied (language before
# employment: a new job's work team is chosen by the week's new English)
COLUMN_RULES: list[Rule] = []
# config key -> parameter dataclass: the population generator's group, then each rule's
PARAM_GROUPS: dict[str, type] = {"population": PopulationParams}
WEEK_FIELDS: dict[str, WeekField] = {}  # every weekly input, from the rules that define them
OWNER: dict[str, str] = {}  # population column -> the rule that changes it week by week (the others: set when a
# resident is made)


def check_declarations(rules=None) -> None:
    """A mis-declared rule fails here, at import, rather than as a wrong number later."""
    rules = RULES if rules is None else rules
    seen_groups, seen_cols, seen_inputs, declared = set(), {}, set(), set(BASE_COLUMNS)
    for r in rules:
        if r.kind not in KINDS:
            raise TypeError(f"rule '{r.name}': unknown kind '{r.kind}'; allowed: {', '.join(KINDS)}")
        if r.kind == "column" and (not r.owns or r.step_one is None):
            raise TypeError(f"rule '{r.name}': a column rule owns at least one column and has a per-resident form")
        if r.group is not None:
            if r.group in seen_groups or r.group == "population" or r.params is None:
                raise TypeError(f"rule '{r.name}': parameter group '{r.group}' is taken or has no dataclass")
            seen_groups.add(r.group)
        for c in r.columns:
            if c in declared:
                raise TypeError(f"rule '{r.name}' declares population column '{c}', which is declared already")
            declared.add(c)
    for r in rules:
        for c in r.owns:
            if c not in declared:
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


def register(rule: Rule) -> None:
    """Add a rule to the registry (checked with the rules before it): its columns to the population's table, its
    parameter group, weekly inputs and columns to the tables above. Modules that build on these at import (the
    config's ``ModelParams``, ``Resident``'s attributes) see the rules registered before they are imported."""
    global RULES
    check_declarations(RULES + (rule,))
    declare_columns(rule.columns)
    RULES += (rule,)
    if rule.kind == "column":
        COLUMN_RULES.append(rule)
    if rule.group is not None:
        PARAM_GROUPS[rule.group] = rule.params
    WEEK_FIELDS.update(rule.defines)
    OWNER.update({c: rule.name for c in rule.owns})


# the registry: the module of every rule (sim/processes/<name>.py, ending in its RULE), in the order of their
# parameter groups, which is also the order in which the column rules' changes are applied at the end of a week.
# A new rule is one more line here (at the end, unless its changes must apply before another rule's).
RULE_MODULES = (
    "ties",
    "contact",
    "language",
    "employment",
    "attitude",
    "mental_health",
    "demography",
)
for _name in RULE_MODULES:
    register(importlib.import_module(f"{__name__}.{_name}").RULE)


def new_week(n: int) -> Week:
    """This week's inputs for ``n`` rows, all at their neutral values."""
    return Week(WEEK_FIELDS, n)


__all__ = ["RULE_MODULES", "RULES", "COLUMN_RULES", "PARAM_GROUPS", "WEEK_FIELDS", "OWNER", "Week", "new_week",
           "check_declarations", "register"]
