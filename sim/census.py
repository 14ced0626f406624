"""The Census 2021 categories the area configs and the population's build steps share: the 19 detailed ethnic
groups of TS021, RM104's grouping of them, and the census date."""

from __future__ import annotations

# The 19 detailed ethnic groups of TS021, in a fixed order (the area configs use these names).
DETAILED_GROUPS = (
    "white_british", "white_irish", "white_gypsy_traveller", "white_roma", "white_other",
    "mixed_white_asian", "mixed_white_black_african", "mixed_white_black_caribbean", "mixed_other",
    "asian_indian", "asian_pakistani", "asian_bangladeshi", "asian_chinese", "asian_other",
    "black_african", "black_caribbean", "black_other", "other_arab", "other_any",
)  # fmt: skip
# RM104's 8-category grouping of each detailed group (employment by ethnic group is published at this level).
RM104_CATEGORY = {
    "white_british": "white_british", "white_irish": "white_irish", "white_gypsy_traveller": "white_other",
    "white_roma": "white_other", "white_other": "white_other", "mixed_white_asian": "mixed",
    "mixed_white_black_african": "mixed", "mixed_white_black_caribbean": "mixed", "mixed_other": "mixed",
    "asian_indian": "asian", "asian_pakistani": "asian", "asian_bangladeshi": "asian", "asian_chinese": "asian",
    "asian_other": "asian", "black_african": "black", "black_caribbean": "black", "black_other": "black",
    "other_arab": "other", "other_any": "other",
}  # fmt: skip
RM104_CATEGORIES = ("asian", "black", "mixed", "white_british", "white_irish", "white_other", "other")

CENSUS_YEAR = 2021.2  # 21 March 2021


def group_value(table: dict, name: str) -> float:
    """A per-group parameter's value for group ``name`` (its ``minority_default`` for a group it does not list)."""
    return float(table.get(name, table.get("minority_default", 0.0)))
