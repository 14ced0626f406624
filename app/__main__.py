"""``python -m app`` (``make app``): start the explorer on a local port and print its address.

Options: ``--port N`` (default 8765, or the next free port), ``--host`` (default 127.0.0.1: this machine only; any
other address needs a token), ``--token T`` (or ``SIM_APP_TOKEN``; made and printed when needed and not given),
``--results DIR`` (where studies are read and written; default ``results``), ``--max-studies N`` and
``--max-workers N`` (studies and worker processes at once, over every session; default 1 and the usable CPUs),
``--disk-quota-mb N`` (no new study while ``results/explorer/`` holds more; default 2000), ``--idle-stop-s S``
(a study whose page has gone is stopped after S seconds; default 60). Nothing is fetched from the internet: the
page's assets come from the installed packages (solara-assets), and Solara's usage statistics are off.
"""
from __future__ import annotations

import argparse
import logging
import os
import pathlib
import socket
import sys

from app import caps, guard


def free_port(host: str, start: int) -> int:
    """``start`` if it is free on ``host``, else the next free port above it."""
    for port in range(start, min(start + 200, 65536)):
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise SystemExit(f"error: no free port from {start} to {min(start + 199, 65535)} on {host}; give --port")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m app", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", default="8765", help="port to serve on (default 8765, or the next free one)")
    ap.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1; any other one "
                    "needs a token)")
    ap.add_argument("--results", default="results", help="folder of studies (default results)")
    ap.add_argument("--token", default=None, help="the token a browser must bring (default: SIM_APP_TOKEN, or one "
                    "made and printed when --host is not this machine)")
    ap.add_argument("--max-studies", default="1", help="studies run at once over every session (default 1)")
    ap.add_argument("--max-workers", default=None, help="worker processes at once over every study (default: the "
                    "usable CPUs)")
    ap.add_argument("--disk-quota-mb", default="2000", help="no new study while results/explorer/ holds more "
                    "(default 2000)")
    ap.add_argument("--idle-stop-s", default="60", help="stop a study this many seconds after its page has gone "
                    "(default 60)")
    args = ap.parse_args(argv)
    limits = {}
    for name, kind, low, high in (("max_studies", int, 1, 64), ("max_workers", int, 1, 1024),
                                  ("disk_quota_mb", float, 1, 1e9), ("idle_stop_s", float, 1, 86400)):
        raw, option = getattr(args, name), "--" + name.replace("_", "-")
        if raw is None:
            continue
        what = "a whole number" if kind is int else "a number"
        try:
            value = kind(raw)
        except ValueError:
            ap.exit(2, f"error: '{option}' must be {what} from {low:g} to {high:g}, got {raw!r}\n")
        if not low <= value <= high:  # (NaN fails this too)
            ap.exit(2, f"error: '{option}' must be {what} from {low:g} to {high:g}, got {raw}\n")
        limits[name] = value
    args.limits = caps.Limits(**limits)
    if args.limits.max_studies > args.limits.max_workers:
        ap.exit(2, f"error: '--max-studies' ({args.limits.max_studies}) cannot be more than '--max-workers' "
                   f"({args.limits.max_workers}): each study needs a worker process\n")
    source = "'--token'" if args.token is not None else "SIM_APP_TOKEN"
    token = args.token if args.token is not None else (os.environ.get("SIM_APP_TOKEN") or None)  # (set empty: unset)
    if token is not None:
        complaint = guard.check_token(token, source)
        if complaint:
            ap.exit(2, f"error: {complaint}\n")
    elif not guard.is_local(args.host):
        token = guard.new_token()
    args.token = token
    try:
        args.port = int(args.port)
    except ValueError:
        ap.exit(2, f"error: '--port' must be a whole number from 1 to 65535, got {args.port!r}\n")
    if not 1 <= args.port <= 65535:
        ap.exit(2, f"error: '--port' must be a whole number from 1 to 65535, got {args.port}\n")
    results = pathlib.Path(args.results)
    if results.exists() and not results.is_dir():
        ap.exit(2, f"error: '--results' must be a folder, got the file '{results}'\n")
    try:
        socket.getaddrinfo(args.host, None)
    except OSError:
        ap.exit(2, f"error: '--host' {args.host!r} is not an address of this machine (e.g. 127.0.0.1)\n")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_CHECK_HOOKS", "off")  # Mesa's SolaraViz trips Solara's hook linter (harmless)
    os.environ["SIM_RESULTS"] = str(pathlib.Path(args.results).absolute())
    port = free_port(args.host, args.port)
    os.environ["SOLARA_APP"] = "app.page"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = args.host, str(port)
    logging.getLogger("MESA").setLevel(logging.WARNING)
    import uvicorn

    os.environ.update(args.limits.to_env())
    from solara.server.starlette import app as solara_app

    app = guard.TokenGate(solara_app, args.token, port)
    # the websocket's pings are the page's heartbeat: a page that stops answering is disconnected within 40 s,
    # and its study is stopped --idle-stop-s later
    config = uvicorn.Config(app, host=args.host, port=port, log_level="warning", ws_ping_interval=20.0,
                            ws_ping_timeout=20.0)
    server = uvicorn.Server(config)
    shown = socket.gethostname() if args.host in ("0.0.0.0", "::", "") else args.host
    shown = f"[{shown}]" if ":" in shown else shown
    query = f"?token={args.token}" if args.token else ""
    print(f"explorer: http://{shown}:{port}/{query}  (Ctrl-C to stop)", flush=True)
    server.run()


if __name__ == "__main__":
    main()
