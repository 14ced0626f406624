"""Weekly rules. Each file holds one rule's parameters, its vectorised form (all residents at once) and its scalar
form (one resident, called by ``Resident.step``), so a change to a rule is one edit in one place.

Update semantics (both engines): synchronous. Every rule reads the state as it was at the start of the week (and
this week's contacts, drawn first); all changes are applied together at the end of the week.
"""
