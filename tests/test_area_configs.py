"""configs/area/*.yaml are generated from data/census2021 by scripts/build_area_configs.py."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_area_configs.py"
AREA_DIR = ROOT / "configs" / "area"

# share of residents aged 3+ who cannot speak English well or at all, % (data/census2021/README.md)
CANNOT_SPEAK_ENGLISH_WELL = {
    "blackburn_with_darwen": 4.15,
    "bradford": 4.15,
    "peterborough": 4.53,
    "walsall": 2.75,
    "waltham_forest": 4.93,
}
AREAS = sorted(CANNOT_SPEAK_ENGLISH_WELL)

ETHNIC_GROUPS = [
    "white_british", "white_irish", "white_gypsy_traveller", "white_roma", "white_other",
    "mixed_white_asian", "mixed_white_black_african", "mixed_white_black_caribbean", "mixed_other",
    "asian_indian", "asian_pakistani", "asian_bangladeshi", "asian_chinese", "asian_other",
    "black_african", "black_caribbean", "black_other", "other_arab", "other_any",
]


def close(got, expected, rel=0.001):
    return abs(got - expected) <= rel * expected


def load(name):
    with (AREA_DIR / f"{name}.yaml").open() as fh:
        return yaml.safe_load(fh)


def test_configs_match_script():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_exactly_the_five_areas():
    assert sorted(p.stem for p in AREA_DIR.glob("*.yaml")) == AREAS


@pytest.mark.parametrize("name", AREAS)
def test_area_config_consistent(name):
    cfg = load(name)
    assert cfg["name"] == name
    assert "neighbourhoods" not in cfg and "dissimilarity" not in cfg  # (the MSOAs' own tables: sim.places)
    c = cfg["census"]
    pop = c["population"]

    eth = c["ethnicity"]
    assert list(eth) == ETHNIC_GROUPS
    assert close(sum(eth.values()), pop)
    assert len(c["age"]) == 101
    assert close(sum(c["age"]), pop)
    assert close(sum(c["sex"].values()), pop)
    assert len(c["household_size"]) == 8
    assert close(sum(c["household_size"]), c["households"])
    assert close(c["born_uk"] + c["born_abroad"], pop)
    assert len(c["arrival"]["bands"]) == len(c["arrival"]["counts"]) == 11
    assert close(sum(c["arrival"]["counts"]), c["born_abroad"])

    ea = dict(c["economic_activity"])
    total_16plus = ea.pop("total_16plus")
    assert close(sum(ea.values()), total_16plus)

    prof = dict(c["proficiency"])
    total_3plus = prof.pop("total_3plus")
    assert close(sum(prof.values()), total_3plus)

    emp = c["employment_by_ethnicity"]
    assert close(sum(v["residents"] for v in emp.values()), pop)
    assert close(sum(v["employed"] for v in emp.values()), ea["employed"])
    assert all(0 <= v["employed"] <= v["residents"] for v in emp.values())

    for v in [pop, c["communal_residents"], c["households"], c["born_uk"], c["born_abroad"],
              total_16plus, total_3plus, *c["age"], *c["household_size"], *eth.values(),
              *ea.values(), *prof.values(), *c["arrival"]["counts"]]:
        assert isinstance(v, int) and not isinstance(v, bool) and v >= 0


@pytest.mark.parametrize("name", AREAS)
def test_model_groups(name):
    c = load(name)["census"]
    eth = c["ethnicity"]
    total = sum(eth.values())
    groups = load(name)["model_groups"]
    assert all(g in eth for g in groups)
    assert all(eth[g] / total >= 0.02 for g in groups)
    assert set(groups) == {g for g, n in eth.items() if n / total >= 0.02}
    assert [eth[g] for g in groups] == sorted((eth[g] for g in groups), reverse=True)


@pytest.mark.parametrize("name", AREAS)
def test_cannot_speak_english_well_share(name):
    p = load(name)["census"]["proficiency"]
    share = 100 * (p["not_well"] + p["not_at_all"]) / p["total_3plus"]
    assert round(share, 2) == CANNOT_SPEAK_ENGLISH_WELL[name]
