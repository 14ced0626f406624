"""Mesa's unused spaces load on first use (sim.speed.deferred): not at import, and whole and single when used."""

import subprocess
import sys

CHECK = r"""
import sys, types
import cli.main, sim.model, experiments.runner
real = lambda name: type(sys.modules.get(name)) is types.ModuleType
print(sorted(m for m in ("networkx", "scipy.spatial", "scipy.sparse", "mesa.experimental") if real(m)))
import mesa
import networkx as nx
from mesa.space import NetworkGrid
assert isinstance(NetworkGrid(nx.path_graph(3)).G, nx.Graph)
from mesa.experimental.continuous_space import ContinuousSpace
import mesa.experimental.continuous_space as cs
assert cs.ContinuousSpace is ContinuousSpace  # one module, not two copies
assert sys.modules["mesa.experimental.continuous_space"] is cs
from mesa.experimental import devs  # a name the package itself defines: the real package loads
assert devs is sys.modules["mesa.experimental.devs"]
assert mesa.experimental is sys.modules["mesa.experimental"] and real("mesa.experimental")
assert mesa.experimental.continuous_space is cs
print("ok")
"""


def test_unused_mesa_parts_load_on_first_use():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "ok"]


def test_a_module_already_imported_is_left_alone():
    code = ("import networkx, types, sys; import sim.speed.deferred as d\n"
            "assert not d.defer('networkx') and type(sys.modules['networkx']) is types.ModuleType\n"
            "assert not d.defer('no_such_module_here') and 'no_such_module_here' not in sys.modules\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
