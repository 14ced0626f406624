"""Where a programme runs, in the explorer (issue 'real places'): the places picked on the area's map become the
scenario's ``where`` and the command line's own override, and what a browser sends for them is checked against the
area's MSOAs. The map itself is driven in Chromium by tests/test_app.py (picking) and tests/test_app_security.py
(crafted clicks)."""

from __future__ import annotations

import shlex

import pytest

from app import explorer as ex
from app import inputs
from app import places_map as pm
from sim.interventions import NAMES
from sim.params import ConfigError

WALSALL = ex.msoas("walsall").codes
PETERBOROUGH = ex.msoas("peterborough").codes


def _values(**kw) -> dict:
    """The page's values as its widgets send them (app.page.values), ESOL funded."""
    v = {"area": "walsall", "start_from": inputs.OWN, "budget": "1500000", "shares": {n: 0.0 for n in NAMES},
         "policies": {n: False for n in ex.POLICIES}, "start_week": 0, "end_week": 26, "weeks": 52,
         "scale": 0.005, "replicates": 2, "seed": "3", "parameters": "ensemble", "compare_with": (), "where": {}}
    v["shares"]["esol"] = 0.5
    return {**v, **kw}


def test_places_picked_become_the_scenarios_where_and_the_command_lines_override(tmp_path):
    picked = (WALSALL[7], WALSALL[2])  # in the order clicked
    c = inputs.read(_values(where={"esol": picked}))
    assert c.where == {"esol": (WALSALL[2], WALSALL[7])}  # in code order, as the command line keeps them
    ov = ex.overrides(c, tmp_path)
    scenarios = next(o for o in ov if o.startswith("study.scenarios="))
    assert f"where: {{esol: [{WALSALL[2]},{WALSALL[7]}]}}" in scenarios
    assert ov == ex.overrides(inputs.read(_values(where={"esol": picked[::-1]})), tmp_path)  # one folder per choice
    assert shlex.split(ex.command(ov))[3:] == ov  # the command shown is these overrides
    study, _, extra = ex.check(c, tmp_path)  # composed and checked as python -m sim does
    assert study["scenarios"][ex.USER]["where"] == {"esol": [WALSALL[2], WALSALL[7]]}
    assert f"where: {{esol: [{WALSALL[2]},{WALSALL[7]}]}}" in extra["command.txt"]
    # nothing picked: the whole area, and no where in the command
    assert "where" not in " ".join(ex.overrides(inputs.read(_values(where={"esol": ()})), tmp_path))
    # a policy switched on can be placed too
    on = _values(policies={"mixed_intakes": True, "citizenship_english": False}, where={"mixed_intakes": picked})
    assert "where: {mixed_intakes: [" in ex.command(ex.overrides(inputs.read(on), tmp_path))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("where, says", [
    ({"ncs": (WALSALL[0],)}, "'scenario.where.ncs': National Citizen Service has no share of the budget; give it a "
                             "share, or clear its places on the map"),
    ({"mixed_intakes": (WALSALL[0],)}, "'scenario.where.mixed_intakes': the policy 'mixed_intakes' is not "
                                       "switched on"),
    ({"esol": (PETERBOROUGH[0],)}, f"unknown MSOA '{PETERBOROUGH[0]}' in 'scenario.where.esol'; allowed: "
                                   "walsall's 39 MSOA codes"),
    ({"esol": ("../../etc",)}, "unknown MSOA '../../etc' in 'scenario.where.esol'"),
    ({"esol": (inputs.keep({"a": 1}),)}, "unknown MSOA 'a dict' in 'scenario.where.esol'"),
    ({"esol": (inputs.keep(float("nan")),)}, "unknown MSOA nan in 'scenario.where.esol'"),
    ({"esol": (inputs.keep([WALSALL[0]]),)}, f"unknown MSOA ('{WALSALL[0]}',) in 'scenario.where.esol'"),
    ({"../x": (WALSALL[0],)}, "unknown programme or policy 'scenario.where.../x'"),
])
def test_the_page_refuses_places_in_one_line(where, says):
    line = inputs.problem(_values(where=where))
    assert line.startswith("error: ") and says in line and "\n" not in line, line


def test_a_code_is_checked_again_before_it_is_written_into_an_override(tmp_path):
    """The page's checks come first; the study's composition refuses a code of another area before any override
    is composed from it (nothing a browser sent reaches the command line unchecked)."""
    for bad in (PETERBOROUGH[0], "x]}, budget_gbp: 1e12, y: [z"):
        c = inputs.read(_values())
        c.where = {"esol": (bad,)}
        with pytest.raises(ConfigError, match="unknown MSOA .* in 'scenario.where.esol'; allowed: walsall's 39"):
            ex.check(c, tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_click_toggles_an_msoa_and_a_new_area_clears_the_places():
    from app import page

    pm.clear()
    pm.toggle("walsall", "esol", WALSALL[4])
    pm.toggle("walsall", "esol", WALSALL[1])
    pm.toggle("walsall", "esol", WALSALL[4])  # clicked again: out
    assert pm.where.value == {"esol": (WALSALL[1],)}
    for i in range(200):  # a browser sending click after click: never more than the area's MSOAs are held
        pm.toggle("walsall", "ncs", f"junk{i}")
    assert len(pm.where.value["ncs"]) == len(WALSALL)
    pm.clear("ncs")
    assert pm.where.value == {"esol": (WALSALL[1],)}
    page.area.set("walsall")
    page._set_area("peterborough")
    assert pm.where.value == {} and page.area.value == "peterborough"
    page._set_area("walsall")


def test_what_can_be_placed_and_the_map():
    v = _values(policies={"mixed_intakes": True, "citizenship_english": False})
    v["shares"]["ncs"] = 0.1
    assert pm.offered(v) == ["esol", "ncs", "mixed_intakes"]
    v["shares"]["ncs"] = inputs.keep(float("nan"))  # a share not a number offers nothing
    assert pm.offered(v) == ["esol", "mixed_intakes"]
    for area in ex.areas():
        paths, view = pm.outlines(area)
        assert [p["code"] for p in paths] == list(ex.msoas(area).codes)
        assert [p["name"] for p in paths] == list(ex.msoas(area).names)
        width, height = map(float, view.split()[2:])
        assert max(width, height) == pm.WIDTH
        xy = [float(t) for p in paths for t in p["d"].replace("M", " ").replace("Z", " ").replace(",", " ").split()]
        assert min(xy) >= 0 and max(xy[0::2]) <= width + 0.1 and max(xy[1::2]) <= height + 0.1
