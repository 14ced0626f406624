"""The explorer (``make app``): its logic without a browser, and the page itself driven in Debian's Chromium.

The browser test starts ``python -m app`` on a free port with a results folder of its own, then, as a policy
analyst would: chooses an area, moves a programme slider, clicks two MSOAs on the area's map for that programme,
runs a tiny scenario against no funding, waits for the figures, checks the numbers the page shows against the
study's own CSV files and the places against its configuration, opens the study in the second tab, and keeps a
screenshot (``tests/artifacts/explorer.png``).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest
import yaml

from app import explorer as ex
from sim.params import ConfigError

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"]
TINY = dict(area="walsall", budget_gbp=1_500_000.0, scale=0.005, replicates=2, weeks=26, end_week=26, seed=3)


def _choice(**kw) -> ex.Choice:
    c = ex.Choice(**{**TINY, **kw})
    c.shares.update({"esol": 0.5, "conversation_clubs": 0.2})
    return c


def test_bad_choices_get_the_command_lines_messages(tmp_path):
    c = _choice()
    c.shares["esol"] = 0.9  # with conversation clubs at 0.2: more than the budget
    with pytest.raises(ConfigError, match="allocation"):
        ex.check(c, tmp_path)
    with pytest.raises(ConfigError, match="'scale'"):
        ex.check(_choice(scale=2.0), tmp_path)
    with pytest.raises(ConfigError, match="unknown area 'atlantis'.*allowed: blackburn_with_darwen"):
        ex.check(_choice(area="atlantis"), tmp_path)
    with pytest.raises(ConfigError, match="allowed: balanced"):
        ex.check(_choice(compare_with=("nope",)), tmp_path)
    with pytest.raises(ConfigError, match="'scenario.end_week' must be a whole week after start_week"):
        ex.check(_choice(start_week=20, end_week=10), tmp_path)
    with pytest.raises(ConfigError, match="'scenario.budget_gbp' must be a number (>= 0|from 0)"):
        ex.check(_choice(budget_gbp=-5.0), tmp_path)
    assert not any(tmp_path.iterdir())  # nothing made before the work


def test_policies_are_switches_the_page_passes_to_the_command_line(tmp_path):
    """A provided scenario's policies come with it; the command the page composes switches them on and the command
    line accepts it."""
    start = ex.from_provided("schools_first", "walsall")
    assert start["policies"] == ("mixed_intakes",) and start["shares"]["values_curriculum"] > 0
    c = _choice(policies=("citizenship_english", "mixed_intakes"))
    ov = ex.overrides(c, tmp_path)
    assert "policies: {citizenship_english: true, mixed_intakes: true}" in ex.command(ov)
    ex.check(c, tmp_path)  # composes and checks as python -m sim does
    assert set(ex.POLICY_NAMES) == set(ex.POLICIES) == {"mixed_intakes", "citizenship_english"}
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_the_command_shown_reproduces_what_the_page_ran(tmp_path):
    """The page runs the command line's own study; the command it shows gives the same numbers (ESOL confined to
    two MSOAs picked on the map)."""
    c = _choice(compare_with=("english_first",), where={"esol": ex.msoas("walsall").codes[5:7]})
    folder = ex.run(c, tmp_path / "results")
    study = ex.load(folder)
    assert study.scenarios == ["baseline", ex.USER, "english_first"]
    cmd = study.command
    assert cmd.startswith("python -m sim experiment=compare_scenarios") and f"hydra.run.dir={folder}" in cmd
    assert "where: {esol: [%s]}" % ",".join(ex.msoas("walsall").codes[5:7]) in cmd
    again = tmp_path / "again"
    argv = [a for a in __import__("shlex").split(cmd)[3:] if not a.startswith("hydra.run.dir=")]
    out = subprocess.run([sys.executable, "-m", "sim", *argv, f"hydra.run.dir={again}", "progress=false"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    pd.testing.assert_frame_equal(pd.read_csv(again / "summary.csv"), study.tables["summary"])
    pd.testing.assert_frame_equal(pd.read_csv(again / "head_to_head.csv"), study.tables["head_to_head"])
    # the page's table of key numbers is the study's cost table, row for row
    numbers = ex.key_numbers(study, "walsall", study.scenarios)
    costs = study.tables["cost_per_outcome"].set_index("scenario")
    mine = numbers[(numbers["scenario"] == ex.USER)].set_index("outcome")
    assert mine.loc[ex.OUTCOME_NAMES["extra_bridging_ties"], "gain (median)"] == \
        costs.loc[ex.USER, "extra_bridging_ties"]
    beats = ex.beats(study, "walsall", ex.USER)
    assert set(beats["against"]) == {"baseline", "english_first"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port), "--results", str(results)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the explorer did not start: {proc.stdout.read()}")
            time.sleep(0.3)
    yield url, results
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is needed for the browser tests: apt-get install -y chromium "
                    "(.ci/run installs it)")
    return path


def _select(page, label: str, option: str) -> None:
    """Choose ``option`` in the Vuetify select labelled ``label``."""
    field = page.locator(".v-select").filter(has=page.locator("label", has_text=label)).first
    field.click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()
    page.keyboard.press("Escape")


def _clickable(area: str, n: int) -> list[str]:
    """``n`` MSOAs of ``area`` whose outline holds the centre of its own box (where a click on a shape lands)."""
    from sim.config import load_area
    from sim.places.geometry import shapes

    sh = shapes(load_area(area)["ons_code"])
    out = []
    for i, rings in enumerate(sh.rings):
        xy = np.concatenate(rings)
        if sh.msoa_of(((xy.min(axis=0) + xy.max(axis=0)) / 2)[None])[0] == i:
            out.append(ex.msoas(area).codes[i])
    return out[:n]


@pytest.mark.slow
def test_a_policy_analyst_builds_runs_and_opens_a_scenario_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    url, results = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        offsite = []
        page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(
            ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)
        page.goto(url, timeout=90_000)
        expect(page.get_by_text("Run against no funding")).to_be_visible(timeout=90_000)

        _select(page, "Area", "peterborough")
        _select(page, "Run length (weeks)", "52")
        expect(page.get_by_text("Funding ends: week 52")).to_be_visible()  # kept inside the shorter run
        _select(page, "Scale (share of residents simulated)", "0.005")
        # move the ESOL slider with the keyboard, as a user can: 40 steps of 1%
        esol = page.locator(".v-input", has=page.locator("label", has_text="ESOL (English classes)")).locator(
            "[role=slider]")
        esol.focus()
        for _ in range(40):
            esol.press("ArrowRight")
        expect(page.get_by_text("ESOL (English classes): 40%")).to_be_visible()
        expect(page.get_by_text("unallocated 60%", exact=False)).to_be_visible()
        reps = page.locator(".v-input", has=page.locator("label", has_text="Replicates")).locator("[role=slider]")
        reps.focus()
        reps.press("ArrowLeft")
        reps.press("ArrowLeft")
        expect(page.get_by_text("Replicates: 2")).to_be_visible()

        # where ESOL runs: two MSOAs clicked on Peterborough's map, highlighted and listed by name
        _select(page, "Programme to place on the map", "ESOL (English classes)")
        places = _clickable("peterborough", 2)
        for code in places:
            page.locator(f"path.sim-msoa[data-code={code}]").click()
        expect(page.locator("path.sim-picked")).to_have_count(2, timeout=20_000)
        named = dict(zip(ex.msoas("peterborough").codes, ex.msoas("peterborough").names, strict=True))
        expect(page.locator(".sim-places")).to_have_text(
            f"Where ESOL (English classes) runs: {', '.join(named[c] for c in sorted(places))} (2 of 22 MSOAs)",
            timeout=20_000)

        # bad input: the command line's own message, in the page, and nothing run
        budget = page.get_by_label("Total budget (GBP, area-equivalent)")
        budget.fill("-5")
        budget.press("Enter")
        page.get_by_role("button", name="Run against no funding").click()
        expect(page.get_by_text("'scenario.budget_gbp' must be a number", exact=False)).to_be_visible(
            timeout=60_000)
        assert not ex.studies(results)
        budget.fill("1500000")
        budget.press("Enter")

        page.get_by_role("button", name="Run against no funding").click()
        expect(page.locator("#key-numbers")).to_be_visible(timeout=300_000)
        expect(page.locator("img").first).to_be_visible(timeout=60_000)

        # the numbers shown are the study's own tables
        folders = ex.studies(results)
        assert len(folders) == 1
        study = ex.load(folders[0])
        assert study.areas == ["peterborough"]
        costs = study.tables["cost_per_outcome"]
        cells = page.locator("#key-numbers").evaluate(
            "t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()))")
        shown = pd.DataFrame(cells[1:], columns=cells[0])
        for gain, name in ex.OUTCOME_NAMES.items():
            for scen in ("your_scenario",):
                row = shown[(shown["outcome"] == name) & (shown["scenario"] == scen)]
                c = costs[costs["scenario"] == scen].iloc[0]
                assert row["gain (median)"].iloc[0] == ex.fmt(c[gain])
                assert row["gain 10%"].iloc[0] == ex.fmt(c[f"{gain}_p10"])
                assert row["gain 90%"].iloc[0] == ex.fmt(c[f"{gain}_p90"])
        spent = shown["spend GBP"].iloc[0]
        assert spent == ex.fmt(costs[costs["scenario"] == ex.USER]["spend_gbp"].iloc[0])
        command = page.locator("pre.sim-command").inner_text()
        assert "'study.areas=[peterborough]'" in command and "esol: 0.4" in command and "weeks=52" in command
        assert "budget_gbp: 1500000" in command
        assert f"where: {{esol: [{','.join(sorted(places))}]}}" in command  # the places clicked, reproduced
        config = yaml.safe_load((folders[0] / ".hydra" / "config.yaml").read_text())
        assert config["study"]["scenarios"][1]["where"] == {"esol": sorted(places)}
        page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=False)

        page.get_by_role("tab", name="Open a study").click()
        expect(page.get_by_text(str(folders[0])).first).to_be_visible(timeout=30_000)
        expect(page.locator("#key-numbers").last).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "explorer_open.png"), full_page=False)

        # inside one run: Mesa's SolaraViz page, stepped a week
        page.goto(url + "inside-one-run", timeout=90_000)
        caption = page.locator(".sim-inside-caption")
        expect(caption).to_contain_text("Week 0:", timeout=90_000)
        page.get_by_role("button", name="Step").click()
        expect(caption).to_contain_text("Week 1:", timeout=60_000)
        assert "ties among them" in caption.inner_text()
        page.screenshot(path=str(ARTIFACTS / "inside_one_run.png"), full_page=False)
        browser.close()
    assert not offsite, f"the page fetched from outside this machine: {offsite[:3]}"


@pytest.mark.parametrize("args, message", [
    (["--port", "http"], "'--port' must be a whole number from 1 to 65535, got 'http'"),
    (["--port", "70000"], "'--port' must be a whole number from 1 to 65535, got 70000"),
    (["--host", "no.such.host.invalid"], "'--host' 'no.such.host.invalid' is not an address"),
    (["--results", "pyproject.toml"], "'--results' must be a folder"),
])
def test_the_app_command_refuses_bad_options_before_starting(args, message):
    out = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_cancelling_keeps_finished_runs_and_running_again_resumes(tmp_path):
    """The page's Cancel: ``should_stop`` turning true stops the workers; what finished is kept and reused."""
    from experiments.stops import Interrupted

    c = _choice(replicates=3)
    reports = []
    with pytest.raises(Interrupted, match="kept"):
        ex.run(c, tmp_path, progress=lambda d, t: reports.append((d, t)), should_stop=lambda: len(reports) > 1)
    kept = list((tmp_path / "explorer").glob("*/runs/*/*.parquet"))
    assert 0 < len(kept) < 6
    reports.clear()
    folder = ex.run(c, tmp_path, progress=lambda d, t: reports.append((d, t)))
    assert reports[0] == (len(kept), 6) and reports[-1] == (6, 6)  # resumed from the runs kept
    assert ex.load(folder).scenarios == ["baseline", ex.USER]
