"""``python -m sim.places <area>``: the area's MSOAs, one a line (code, name, residents at the 2021 Census), the
codes a scenario restricts a programme to (``scenario.where.<programme>=[E02...,E02...]``). Too many (up to 63) to
name in an error line, so the checks point here."""

from __future__ import annotations

import os
import pathlib
import sys

import yaml

from sim.checks import fail
from sim.places import places

AREAS = pathlib.Path(__file__).resolve().parent.parent.parent / "configs" / "area"


def ons_codes() -> dict[str, str]:
    """Area name -> ONS code, from the area files (sim.config would bring the model's rules with it)."""
    out = {}
    for p in sorted(AREAS.glob("*.yaml")):
        with open(p) as f:
            out[p.stem] = yaml.safe_load(f)["ons_code"]
    return out


def listing(area: str) -> str:
    """The lines printed for ``area`` (a name in configs/area/)."""
    pl = places(ons_codes()[area])
    width = max(len(n) for n in pl.names)
    lines = [f"{'code':<9}  {'name':<{width}}  residents"]
    lines += [f"{c:<9}  {n:<{width}}  {r:>9,}" for c, n, r in zip(pl.codes, pl.names, pl.residents.tolist())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    known = ons_codes()
    if len(argv) != 1 or argv[0] not in known:
        got = f"'{' '.join(argv)}'" if argv else "nothing"
        fail(f"unknown area {got} for key 'area' (python -m sim.places <area>); allowed: {', '.join(known)}")
    try:
        print(listing(argv[0]), flush=True)
    except BrokenPipeError:  # (piped into head: the rest is not wanted)
        sys.stdout = open(os.devnull, "w")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
