"""The page's inputs: the Vuetify widgets Solara's own inputs draw, but every value a browser sends goes through
:func:`app.inputs.keep` before the page's state sees it, and a handler never raises.

Solara's inputs convert first (a slider's ``float(value)`` raised on a string, inside the handler) and hold what
they get (a NaN, unequal to itself, made the page draw itself again until Solara gave up with a traceback).
"""

from __future__ import annotations

import sys

import reacton.ipyvuetify as rv
import solara
from solara.components.input import use_change

from app.inputs import keep


def safe(on_value):
    def handler(x):
        try:
            on_value(keep(x))
        except Exception as e:  # a bad value is named by the page's checks; never a traceback in the page
            print(f"explorer: refused an input: {type(e).__name__}", file=sys.stderr, flush=True)
    return handler


@solara.component
def Select(label: str, values: list, value, on_value, multiple: bool = False, labels: dict | None = None):
    """``labels``: the text shown for a value (the value itself is what the page is sent)."""
    items = [{"text": labels.get(x, str(x)), "value": x} for x in values] if labels else list(values)
    return rv.Select(v_model=list(value) if multiple else value, on_v_model=safe(on_value), items=items,
                     label=label, multiple=multiple, dense=False)


@solara.component
def Slider(label: str, value: float, on_value, min: float, max: float, step: float):
    return rv.Slider(v_model=value, on_v_model=safe(on_value), label=label, min=min, max=max, step=step)


@solara.component
def Checkbox(label: str, value: bool, on_value):
    return rv.Checkbox(v_model=bool(value) if isinstance(value, bool) else False, on_v_model=safe(on_value),
                       label=label)


@solara.component
def Text(label: str, value: str, on_value):
    """A text field that sends its value on Enter or when it loses focus (as Solara's InputText)."""
    field = rv.TextField(v_model=value if isinstance(value, str) else str(value), label=label,
                         on_v_model=lambda _: None, hide_details="auto")
    use_change(field, safe(on_value))
    return field
