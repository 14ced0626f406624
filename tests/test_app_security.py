"""The explorer shared on a network (issue 32, trust boundaries): a token on every request, a cap on the studies
and worker processes of one server, a disk quota, studies stopped when their page has gone, and every value a
browser sends checked before it is drawn or run.

The server tests start ``python -m app`` on a free port with a results folder of their own; the browser tests use
Debian's Chromium (as ``tests/test_app.py``) and, to send what no widget would, Playwright's websocket routing:
the page's own websocket, with crafted Jupyter comm messages added to it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from tests.app_wire import Server, Wire, _clean, _crafted_clicks_on_the_map, _env, _get, _ws_status
from tests.test_app import CHROMIUM_FLAGS, ROOT, _chromium

TIMEOUT = 90_000


@pytest.fixture
def start(tmp_path):
    servers = []

    def make(*args, env=None):
        s = Server(tmp_path / f"s{len(servers)}", *args, env=env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


# --- (a) the token --------------------------------------------------------------------------------------------------

def test_a_server_on_the_network_refuses_every_request_without_its_token(start):
    s = start("--host", "0.0.0.0")
    assert s.token and len(s.token) >= 16, s.output()  # made and printed, as Jupyter does
    for path in ("", "inside-one-run", "static/main.js", "readyz", "resourcez", "_solara/api/close/x"):
        status, _, body = _get(s.base + path)
        assert status == 403, (path, status)
        assert b"token" in body and b"solara" not in body.lower()
    assert _get(s.base + "?token=" + "x" * len(s.token))[0] == 403  # a wrong token
    assert _ws_status(s) == 403
    assert _ws_status(s, {"Cookie": f"sim_app_token_{s.port}={'y' * 32}"}) == 403

    # the printed address: a cookie, and back to the same address without the token
    status, headers, _ = _get(s.url)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie == f"sim_app_token_{s.port}={s.token}" and "HttpOnly" in headers["Set-Cookie"]
    status, _, body = _get(s.base, {"Cookie": cookie})
    assert status == 200 and b"solara" in body.lower()
    assert _get(s.base + "readyz", {"Authorization": f"token {s.token}"})[0] == 200
    assert _ws_status(s, {"Cookie": cookie}) == 101
    assert _ws_status(s, {"Cookie": cookie, "Origin": "http://elsewhere.example"}) == 403  # another site's page


def test_a_token_given_on_this_machine_is_honoured_and_none_is_asked_without_one(start):
    token = "a-token-of-our-own-0123456789"
    s = start("--token", token)
    assert s.token == token
    assert _get(s.base)[0] == 403 and _ws_status(s) == 403
    assert _get(s.base, {"Authorization": f"Bearer {token}"})[0] == 200
    t = start()
    assert t.token is None and _get(t.base)[0] == 200 and _ws_status(t) == 101
    # no token on this machine: still no websocket opened by another site's page
    assert _ws_status(t, {"Origin": "http://elsewhere.example"}) == 403


def _raw_status(port: int, path: str, host: str, upgrade: bool = False) -> int:
    """The status line's code for a request naming ``host`` in Host (as a page of a rebound name would)."""
    import base64
    import os
    import socket

    extra = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n") if upgrade else ""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode())
        return int(c.recv(64).split()[1])


def test_another_sites_name_resolving_here_cannot_drive_the_explorer(start):
    """DNS rebinding: without a token the explorer answers only requests that name this machine."""
    t = start()
    ws = f"/jupyter/api/kernels/{'0' * 8}/channels?session_id=x"
    assert _raw_status(t.port, "/", f"127.0.0.1:{t.port}") == 200
    assert _raw_status(t.port, "/", f"localhost:{t.port}") == 200
    assert _raw_status(t.port, "/", f"evil.example:{t.port}") == 403
    assert _raw_status(t.port, ws, f"evil.example:{t.port}", upgrade=True) == 403


def test_the_token_redirect_stays_on_this_server(start):
    s = start("--host", "0.0.0.0")
    status, headers, _ = _get(s.base + "/evil.example/x?token=" + s.token)
    assert status == 303 and headers["Location"] == "/evil.example/x"
    status, headers, _ = _get(s.base + "a%0d%0aSet-Cookie:x=y?token=" + s.token)
    assert status == 303 and "\n" not in headers["Location"] and headers["Location"].startswith("/a%0D%0A")


def test_the_page_works_through_the_printed_address_in_a_real_browser(start):
    from playwright.sync_api import expect, sync_playwright

    s = start("--host", "0.0.0.0")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(s.base, timeout=TIMEOUT)
        assert "needs its token" in page.inner_text("body")
        page.goto(s.url, timeout=TIMEOUT)
        assert "token=" not in page.url
        expect(page.get_by_text("Run against no funding")).to_be_visible(timeout=TIMEOUT)  # its websocket passed
        browser.close()


@pytest.mark.parametrize("args, env, message", [
    (["--token", "short"], {}, "'--token' must be at least 16 characters long, got 5"),
    (["--token", ""], {}, "'--token' is empty"),
    (["--token", "0123456789abcdef ghij"], {}, "'--token' may hold only letters, digits"),
    ([], {"SIM_APP_TOKEN": "abc"}, "SIM_APP_TOKEN must be at least 16 characters long, got 3"),
    (["--max-studies", "0"], {}, "'--max-studies' must be a whole number from 1 to 64, got 0"),
    (["--max-workers", "lots"], {}, "'--max-workers' must be a whole number from 1 to 1024, got 'lots'"),
    (["--max-studies", "3", "--max-workers", "2"], {}, "'--max-studies' (3) cannot be more than '--max-workers'"),
    (["--disk-quota-mb", "nan"], {}, "'--disk-quota-mb' must be a number from 1 to 1e+09, got nan"),
    (["--idle-stop-s", "-1"], {}, "'--idle-stop-s' must be a number from 1 to 86400, got -1"),
])
def test_bad_security_options_get_one_line_and_status_2(args, env, message):
    out = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**_env(), **env})
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("error: ") and message in out.stderr, out.stderr
    assert "short" not in out.stderr and "abc" not in out.stderr  # a token is never echoed


# --- (b) what a browser may send ------------------------------------------------------------------------------------

# (widget, crafted value, Enter?, the line the page must show, the good value put back)
CRAFTED = [
    ("Total budget", "NaN", True, "'scenario.budget_gbp' must be a finite number, got nan", '"2000000"'),
    ("Total budget", '"nan"', True, "'scenario.budget_gbp' must be a finite number, got nan", '"2000000"'),
    ("Total budget", "-Infinity", True, "'scenario.budget_gbp' must be a finite number, got -inf", '"2000000"'),
    ("Total budget", '"1e300"', True, "'scenario.budget_gbp' must be a number <= 1,000,000,000", '"2000000"'),
    ("ESOL", "-0.5", False, "'scenario.allocation.esol' must be a number from 0 to 1 in the explorer, got -0.5",
     "0.0"),
    ("ESOL", "NaN", False, "'scenario.allocation.esol' must be a finite number, got nan", "0.0"),
    ("ESOL", '"a lot"', False, "'scenario.allocation.esol' must be a number, got 'a lot'", "0.0"),
    ("Conversation clubs", "1.5", False, "'scenario.allocation.conversation_clubs' must be a number from 0 to 1",
     "0.0"),
    ("Replicates", "1000000000", False, "'replicates' must be a whole number from 2 to 32 in the explorer", "4"),
    ("Replicates", "[2]", False, "'replicates' must be a whole number, got (2,)", "4"),
    ("Seed", '"-1"', True, "'seed' must be a whole number from 0 to 4,294,967,295", '"1"'),
    ("Run length", "4", False, "'weeks' must be one of 52, 104, 156, 208 in the explorer, got 4", "104"),
    ("Scale", "1000", False, "'scale' must be one of 0.005, 0.01, 0.02, 0.05, 0.1 in the explorer", "0.02"),
    ("Funding ends", "-3", False, "'scenario.end_week' must be a whole number from 0 to 104", "104"),
    ("Area", '"../../etc"', False, "unknown area '../../etc'; allowed: blackburn_with_darwen", '"walsall"'),
    ("Start from", '"../baseline"', False, "unknown scenario to start from '../baseline'", '"(your own)"'),
    ("Compare with", '["../../configs/scenario/baseline"]', False,
     "unknown scenario to compare with '../../configs/scenario/baseline'", "[]"),
    ("Parameters", '{"a": 1}', False, "unknown parameters 'a dict'", '"ensemble"'),
]


def test_crafted_values_get_one_line_in_the_page_and_nothing_runs(start):
    from playwright.sync_api import expect, sync_playwright

    s = start("--disk-quota-mb", "1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        wire = Wire(page)
        page.goto(s.url, timeout=TIMEOUT)
        expect(page.get_by_text("Run against no funding")).to_be_visible(timeout=TIMEOUT)
        error = page.locator(".sim-input-error")
        for label, bad, enter, message, good in CRAFTED:
            wire.set(label, bad, enter)
            expect(error).to_contain_text(f"error: {message}", timeout=20_000)
            assert error.inner_text().count("\n") == 0
            wire.click("Run against no funding")  # the button is greyed out; a crafted click is refused too
            time.sleep(0.3)
            _clean(page)
            assert not s.results.exists() and not s.workers(), label
            wire.set(label, good, enter)
            expect(error, label).to_have_count(0, timeout=20_000)

        # shares adding up to more than the budget cannot be made: each takes at most what the others leave
        wire.set("ESOL", "0.7")
        _crafted_clicks_on_the_map(page, wire, s)
        wire.set("Conversation clubs", "0.6")
        expect(page.get_by_text("Conversation clubs: 30%")).to_be_visible(timeout=20_000)
        expect(page.get_by_text("unallocated 0%", exact=False)).to_be_visible()

        # a good choice, but the explorer's folder is over its quota: one line, and nothing started
        junk = s.results / "explorer" / "earlier"
        junk.mkdir(parents=True)
        (junk / "big.bin").write_bytes(b"\0" * 2_000_000)
        page.get_by_role("button", name="Run against no funding").click()
        expect(page.get_by_text("error: the explorer's studies already use 2 MB, more than this server's quota of "
                                "1 MB (--disk-quota-mb)", exact=False)).to_be_visible(timeout=30_000)
        _clean(page)
        assert [q.name for q in (s.results / "explorer").iterdir()] == ["earlier"] and not s.workers()

        # inside one run: Mesa's controls remake the model from what they are sent
        page.goto(s.base + "inside-one-run", timeout=TIMEOUT)
        expect(page.locator(".sim-inside-caption")).to_contain_text("Week 0:", timeout=TIMEOUT)
        wire.set("Scale", "1000000")
        wire.set("Area", '"../../etc"')
        wire.click("Reset")
        expect(page.get_by_text("error: unknown area '../../etc'; the default is shown")).to_be_visible(
            timeout=30_000)
        wire.set("Neighbourhood", "NaN")
        time.sleep(0.5)
        _clean(page)
        browser.close()
    assert "Traceback" not in s.output()


# --- (c) the cap, (d) the idle stop ---------------------------------------------------------------------------------

def test_the_queue_starts_a_study_only_when_there_is_room():
    """One study at a time: the second waits (its place reported), starts when the first is released, and a
    cancelled one leaves the queue."""
    from app import caps

    sched = caps.Scheduler(caps.Limits(max_studies=1, max_workers=2, idle_stop_s=60))
    first = sched.submit(None)
    sched.wait(first)
    assert first.workers == 2 and sched.running == [first]
    second, third = sched.submit(None), sched.submit(None)
    places, started = [], threading.Event()
    waiter = threading.Thread(target=lambda: (sched.wait(second, places.append), started.set()))
    waiter.start()
    gone = []
    stop = threading.Event()
    other = threading.Thread(target=lambda: gone.append(pytest.raises(caps.Stopped, sched.wait, third,
                                                                      should_stop=stop.is_set)))
    other.start()
    time.sleep(0.6)
    assert not started.is_set() and places == [1] and sched.position(third) == 2
    stop.set()
    other.join(5)
    assert gone and third not in sched.queue
    sched.release(first)
    assert started.wait(5) and sched.running == [second]
    waiter.join(5)
    sched.release(second)
    assert not sched.running and not sched.queue
    assert caps.Limits(max_studies=2, max_workers=5).workers_per_study == 2


def test_a_study_whose_page_has_gone_is_stopped_after_the_idle_time():
    from app import caps

    now = [0.0]
    present = {"a": True, "b": False}
    sched = caps.Scheduler(caps.Limits(max_studies=1, max_workers=1, idle_stop_s=60), held=lambda o: present[o],
                           clock=lambda: now[0])
    kept, left = sched.submit("a"), sched.submit("b")
    sched.wait(kept)
    sched.sweep()
    now[0] = 59.0
    sched.sweep()
    assert not left.stop.is_set() and left in sched.queue  # gone for 59 s: still waiting
    now[0] = 60.5
    present["a"] = False
    sched.sweep()
    assert left.stop.is_set() and left not in sched.queue and "60 s (--idle-stop-s)" in left.reason
    assert not kept.stop.is_set()  # its page went only now
    present["a"] = True
    now[0] = 200.0
    sched.sweep()
    assert not kept.stop.is_set()  # back before the time was up
    present["a"] = False
    sched.sweep()
    now[0] = 261.0
    sched.sweep()
    assert kept.stop.is_set()


def test_the_quota_refuses_a_study_before_it_waits_or_writes(tmp_path):
    from app import caps
    from sim.params import ConfigError
    from tests.test_app import _choice

    (tmp_path / "explorer" / "old").mkdir(parents=True)
    (tmp_path / "explorer" / "old" / "big.bin").write_bytes(b"\0" * 3_000_000)
    sched = caps.Scheduler(caps.Limits(max_studies=1, max_workers=1, disk_quota_mb=2))
    with pytest.raises(ConfigError, match="already use 3 MB, more than this server's quota of 2 MB"):
        caps.run(_choice(), tmp_path, sched=sched)
    assert not sched.queue and sorted(p.name for p in (tmp_path / "explorer").iterdir()) == ["old"]


def _long_study(page) -> None:
    """A choice that keeps a worker busy for a while (52 weeks, 2 x 32 runs at the smallest scale)."""
    from tests.test_app import _select

    _select(page, "Run length (weeks)", "52")
    _select(page, "Scale (share of residents simulated)", "0.005")
    reps = page.locator(".v-input", has=page.locator("label", has_text="Replicates")).locator("[role=slider]")
    reps.focus()
    reps.press("End")


def _open(browser, s: Server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(s.url, timeout=TIMEOUT)
    expect(page.get_by_text("Run against no funding")).to_be_visible(timeout=TIMEOUT)
    return context, page


def _until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"not within {seconds} s: {what}")


def test_a_second_study_is_queued_while_one_runs_and_starts_when_it_ends(start):
    from playwright.sync_api import expect, sync_playwright

    s = start("--max-studies", "1", "--max-workers", "1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        (_, first), (_, second) = _open(browser, s), _open(browser, s)  # two sessions, as two users
        for page in (first, second):
            _long_study(page)
        second.get_by_label("Seed").fill("2")
        second.get_by_label("Seed").press("Enter")
        first.get_by_role("button", name="Run against no funding").click()
        expect(first.get_by_text("Running:", exact=False)).to_be_visible(timeout=30_000)
        _until(lambda: (s.results / "explorer").exists(), 30, "the first study's folder")
        second.get_by_role("button", name="Run against no funding").click()
        queued = second.locator(".sim-queued")
        expect(queued).to_contain_text("Queued: number 1 in this server's queue (it runs 1 study at a time)",
                                       timeout=30_000)
        for _ in range(8):  # while it waits: one study's folder, at most one worker process
            assert len(list((s.results / "explorer").iterdir())) == 1
            assert len(s.workers()) <= 1, s.workers()
            time.sleep(0.25)
        first.get_by_role("button", name="Cancel").click()
        expect(second.get_by_text("Running:", exact=False)).to_be_visible(timeout=60_000)
        _until(lambda: len(list((s.results / "explorer").iterdir())) == 2, 30, "the second study's folder")
        second.get_by_role("button", name="Cancel").click()
        expect(second.get_by_text("Cancelled", exact=False)).to_be_visible(timeout=60_000)
        browser.close()
    _until(lambda: not s.workers(), 30, "no worker left")


def test_a_study_is_stopped_when_its_page_has_gone(start):
    from playwright.sync_api import expect, sync_playwright

    s = start("--idle-stop-s", "1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        context, page = _open(browser, s)
        _long_study(page)
        page.get_by_role("button", name="Run against no funding").click()
        expect(page.get_by_text("Running:", exact=False)).to_be_visible(timeout=30_000)
        _until(lambda: s.workers(), 60, "a worker process")
        context.close()  # the tab goes
        _until(lambda: "a study was stopped: its page was gone for 1 s (--idle-stop-s)" in s.output(), 30,
               "the study stopped")
        _until(lambda: not s.workers(), 30, "no worker left")
        runs = list((s.results / "explorer").glob("*/runs/*/*.parquet"))
        time.sleep(2)
        assert list((s.results / "explorer").glob("*/runs/*/*.parquet")) == runs  # nothing more was run
        assert len(runs) < 64
        browser.close()
    assert "Traceback" not in s.output()
