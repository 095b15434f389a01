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


def _small_modules() -> str:
    """The torch mirror's few project modules, each one step torch has no class for."""
    import torch_impl

    lines = ["## The torch mirror's own small modules\n",
             "`torch_impl.from_reference` gives an `nn.Sequential` of stock `torch.nn` modules "
             "(a model with feature maps takes torch's channels-first input, "
             "`x.permute(0, 3, 1, 2)` of a spec batch). Where torch has no class for a step, "
             "one of these few modules does it:\n"]
    for cls in torch_impl.SMALL_MODULES:
        summary = " ".join(cls.__doc__.split("\n\n")[0].split()).replace("``", "`")
        lines.append(f"- `{cls.__module__}.{cls.__name__}`: {summary}")
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
    parts.append(_small_modules())
    return "\n".join(parts)
