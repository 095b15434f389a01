"""The weight-layout page: ``reference.layouts``'s tables, as a porter reads them."""

from __future__ import annotations

from docs.markdown import GENERATED
from reference.layouts import LAYOUTS, Layout

PAGE = "weight-layouts"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(layout: Layout) -> str:
    if not layout.rows:
        return "No weights.\n"
    lines = ["| spec | torch | Keras | spec → torch | spec → Keras | kind | convention |",
             "|---|---|---|---|---|---|---|"]
    for row in layout.rows:
        spec, torch_names, keras_names = (", ".join(f"`{name}`" for name in names) for names in
                                          (row.spec_names, row.torch_names, row.keras_names))
        kind = "parameter" if row.trainable else "state"
        lines.append(f"| {spec} | {torch_names} | {keras_names} | {row.to_torch.name} | "
                     f"{row.to_keras.name} | {kind} | {_cell(row.note)} |")
    return "\n".join(lines) + "\n"


def page() -> str:
    """The page, one section per spec layer kind."""
    parts = [GENERATED, "# Weight layouts: spec, PyTorch and Keras\n",
             "Where each weight of a spec layer lives in torch and in Keras, and how its "
             "layout changes on the way. `torch_impl.from_reference` / `to_reference` and "
             "`tf_impl.from_reference` / `to_reference` are driven by these same tables "
             "(`reference/layouts.py`), so what is written here is what the converters do. "
             "Torch names are attributes of the module (`module.weight`); Keras names are "
             "attributes of the layer (`layer.kernel`).\n"]
    for layout in LAYOUTS.values():
        parts.append(f"## {layout.kind}: `{layout.torch_module}` ↔ `{layout.keras_layer}`\n")
        if layout.note:
            parts.append(f"{layout.note[0].upper()}{layout.note[1:]}.\n")
        parts.append(_table(layout))
    return "\n".join(parts)
