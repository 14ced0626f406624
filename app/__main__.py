"""``python -m app`` (``make app``): start the explorer on a local port and print its address.

Options: ``--port N`` (default 8765, or the next free port), ``--host`` (default 127.0.0.1: this machine only),
``--results DIR`` (where studies are read and written; default ``results``). Nothing is fetched from the internet:
the page's assets come from the installed packages (solara-assets), and Solara's usage statistics are off.
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import socket
import sys


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
    ap.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    ap.add_argument("--results", default="results", help="folder of studies (default results)")
    args = ap.parse_args(argv)
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

    config = uvicorn.Config("solara.server.starlette:app", host=args.host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    print(f"explorer: http://{args.host}:{port}/  (Ctrl-C to stop)", flush=True)
    server.run()


if __name__ == "__main__":
    main()
