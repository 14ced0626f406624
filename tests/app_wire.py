"""Helpers of the explorer's security tests (``tests/test_app_security.py``): the server started as a user starts
it, plain HTTP and websocket requests, the page's websocket with crafted messages added to it, and what the page may
show after them."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.test_app import ROOT, _free_port


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("SIM_APP_")}


# --- the server, started as a user starts it ------------------------------------------------------------------------

class Server:
    def __init__(self, tmp_path: pathlib.Path, *args: str, env: dict | None = None):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.results = tmp_path / "results"
        self.log = tmp_path / "server.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "app", "--port", str(self.port), "--results",
                                      str(self.results), *args], cwd=ROOT, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, env={**_env(), "PYTHONUNBUFFERED": "1", **(env or {})})
        self.base = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(self.base, timeout=2).read()
                break
            except urllib.error.HTTPError:  # 403: up, and asking for its token
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the explorer did not start: {self.output()}")
                time.sleep(0.3)
        line = next((x for x in self.output().splitlines() if x.startswith("explorer: http")), "")
        found = re.search(r"\?token=([A-Za-z0-9._~-]+)", line)
        self.token = found.group(1) if found else None
        self.url = self.base + (f"?token={self.token}" if self.token else "")

    def output(self) -> str:
        return self.log.read_text()

    def workers(self) -> list:
        """The worker processes the server runs now (its children, not the resource tracker)."""
        import psutil

        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        out = []
        for k in kids:
            try:
                if "resource_tracker" not in " ".join(k.cmdline()):
                    out.append(k)
            except psutil.Error:
                continue
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _get(url: str, headers: dict | None = None):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        r = opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10)
        return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _ws_status(server: Server, headers: dict | None = None) -> int:
    """The status a websocket handshake to the page's kernel channel gets (101 when it is accepted)."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = (f"ws://127.0.0.1:{server.port}/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}")
    try:
        with connect(url, additional_headers=headers or {}, open_timeout=10):
            return 101
    except InvalidStatus as e:
        return e.response.status_code


class Wire:
    """The page's websocket, passed through: every widget's state as the server last sent it, and crafted Jupyter
    comm messages sent to the server as if the page had sent them."""

    def __init__(self, page):
        self.states: dict[str, dict] = {}
        self.crafted: set[str] = set()
        self.server = None
        self.session = None
        page.route_web_socket(re.compile(r"/jupyter/api/kernels/"), self._route)

    def _route(self, ws) -> None:
        server = ws.connect_to_server()
        self.server, self.session = server, re.search(r"session_id=([^&]+)", ws.url).group(1)

        def down(message):
            try:
                msg = json.loads(message)
                c = msg.get("content") or {}
                data = c.get("data") or {}
                if data.get("method") == "echo_update":
                    return  # (ipywidgets echoes what it was sent: the page's slider would put a crafted value back)
                if msg.get("msg_type") == "comm_open":
                    self.states[c["comm_id"]] = dict(data.get("state") or {})
                elif msg.get("msg_type") == "comm_msg" and data.get("method") == "update":
                    self.states.setdefault(c["comm_id"], {}).update(data.get("state") or {})
            except (ValueError, TypeError, KeyError):
                pass
            ws.send(message)

        def up(message):
            if '"method":"update"' in message.replace(" ", "") and any(c in message for c in self.crafted):
                return  # the page's own widget putting back what was crafted (a hostile client would not)
            server.send(message)

        server.on_message(down)
        ws.on_message(up)

    def find(self, label: str) -> str:
        """The comm id of the widget whose label (or text) starts with ``label``."""
        for cid, st in reversed(list(self.states.items())):
            texts = [st.get("label")] + [x for x in st.get("children") or [] if isinstance(x, str)]
            if any(isinstance(t, str) and t.startswith(label) for t in texts):
                return cid
        raise AssertionError(f"no widget labelled {label!r}")

    def send(self, label: str, data_json: str) -> None:
        """Send ``data_json`` (a comm message's data, written out: it may hold NaN) to the widget ``label``."""
        cid = self.find(label)
        self.crafted.add(cid)
        header = json.dumps({"date": "2026-01-01T00:00:00.000Z", "msg_id": str(uuid.uuid4()), "msg_type": "comm_msg",
                             "session": self.session, "username": "", "version": "5.2"})
        self.server.send('{"buffers": [], "channel": "shell", "content": {"comm_id": "%s", "data": %s}, '
                         '"header": %s, "metadata": {}, "parent_header": {}}' % (cid, data_json, header))

    def set(self, label: str, value_json: str, enter: bool = False) -> None:
        self.send(label, '{"method": "update", "state": {"v_model": %s}, "buffer_paths": []}' % value_json)
        if enter:  # a text field takes its value on Enter
            self.send(label, '{"method": "custom", "content": {"event": "keyup.enter", "data": {}}}')

    def click(self, label: str) -> None:
        self.send(label, '{"method": "custom", "content": {"event": "click", "data": {}}}')


# --- what the page shows -----------------------------------------------------------------------------------------

def _clean(page) -> None:
    """No traceback and no server path in the page."""
    body = page.inner_text("body")
    for leak in ("Traceback", "Too many renders", str(ROOT), "site-packages", "/tmp/", "File \""):
        assert leak not in body, f"the page shows {leak!r}: {body[-1500:]}"


def _crafted_clicks_on_the_map(page, wire: Wire, s: Server) -> None:
    """The map sends an MSOA's code when clicked: a code of another area, or no code at all, is named in one line
    (sent again, it goes); places kept for a programme whose share went to 0 too, until they are cleared."""
    from playwright.sync_api import expect

    from app.explorer import msoas

    error, places = page.locator(".sim-input-error"), page.locator(".sim-places")
    expect(page.locator("path.sim-msoa").first).to_be_visible(timeout=30_000)  # (the map now drawn: its widget known)
    for sent, named in (('"E02003240"', "'E02003240'"), ('{"a": 1}', "'a dict'"), ('"<b>x</b>"', "'<b>x</b>'")):
        click = '{"method": "custom", "content": {"event": "toggle", "data": %s}}' % sent
        wire.send("Map of", click)
        expect(error).to_contain_text(f"error: unknown MSOA {named} in 'scenario.where.esol'; allowed: walsall's 39 "
                                      "MSOA codes", timeout=20_000)
        assert error.inner_text().count("\n") == 0 and page.locator(".sim-places b").count() == 0
        wire.click("Run against no funding")
        time.sleep(0.3)
        _clean(page)
        assert not s.results.exists() and not s.workers()
        wire.send("Map of", click)
        expect(error).to_have_count(0, timeout=20_000)
    code = msoas("walsall").codes[0]
    wire.send("Map of", '{"method": "custom", "content": {"event": "toggle", "data": "%s"}}' % code)
    expect(places).to_have_text("Where ESOL (English classes) runs: Walsall 001 (1 of 39 MSOAs)", timeout=20_000)
    wire.set("ESOL", "0.0")
    expect(error).to_contain_text("error: 'scenario.where.esol': ESOL (English classes) has no share of the budget",
                                  timeout=20_000)
    page.get_by_role("button", name="Clear ESOL (English classes)").click()
    expect(error).to_have_count(0, timeout=20_000)
    expect(places).to_have_count(0)
    wire.set("ESOL", "0.7")
