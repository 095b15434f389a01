"""The single HTML page: every concept with NumPy, PyTorch and TensorFlow in three columns.

Self-contained: the styles are inline, the code is highlighted here by Pygments, the
figures are inline SVG data, and the page's content security policy forbids loading
anything else, so it works offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from string import Template

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from docs.bridge import PREAMBLE, Row
from docs.markdown import legend, status
from nn_rosetta import docstrings
from nn_rosetta.catalog import LABELS, Group, Implementation, Translation
from nn_rosetta.parity import DTYPES, FRAMEWORKS, Cell, Summary

TEMPLATES = Path(__file__).parent / "templates"
_STYLE = "default"
_BRIDGE_COLUMNS = "<colgroup>" + "".join(f'<col style="width: {w}%">' for w in (
    3, 22, 13, 20, 21, 21)) + "</colgroup>"


def inline(text: str) -> str:
    """reST inline markup as HTML."""
    parts = re.split(r"(``[^`]+``)", docstrings.roles_to_literals(text))
    return "".join(f"<code>{html.escape(p[2:-2])}</code>" if p.startswith("``")
                   else html.escape(p) for p in parts)


def prose(text: str) -> str:
    """The project's own Markdown (single backticks) as HTML."""
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(f"<code>{html.escape(p[1:-1])}</code>" if p.startswith("`")
                   else html.escape(p) for p in parts)


def docstring(text: str) -> str:
    out = []
    for block in docstrings.blocks(text):
        if block.kind == "p":
            out.append(f"<p>{inline(block.text)}</p>")
        elif block.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in block.items) + "</ul>")
        else:
            out.append(f'<pre class="text">{html.escape(docstrings.plain(block.text))}</pre>')
    return "\n".join(out)


def code(source: str) -> str:
    """Highlighted code, a block per line: a wrapped line hangs 4 columns past its indent
    (an indent of 16 at most, so that a deep one cannot push the text out of its column)."""
    lines = highlight(source, PythonLexer(), HtmlFormatter(nowrap=True)).rstrip("\n").split("\n")
    indents = [min(len(x) - len(x.lstrip(" ")), 16) for x in source.splitlines()]
    return '<div class="hl"><pre>' + "".join(
        f'<span class="l" style="--indent: {n}">{x}</span>' if n else f'<span class="l">{x}</span>'
        for x, n in zip(lines, indents, strict=True)) + "</pre></div>"


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="num">—</td>'
    return f'<td class="num {"ok" if cell.passed else "bad"}">{html.escape(cell.text())}</td>'


def parity_table(summary: Summary, concept: str) -> str:
    cells = summary.of(concept)
    if not cells:
        return "<p>Parity not measured yet: run <code>nox -s parity</code>, then " \
               "<code>nox -s docs</code>.</p>"
    kinds = summary.kinds(concept)
    head = "".join(f"<th>{label} {kind}</th>" for label in FRAMEWORKS.values() for kind in kinds)
    rows = []
    for dtype in DTYPES:
        if dtype in cells:
            tds = "".join(_cell(cells[dtype].get(fw, {}).get(k)) for fw in FRAMEWORKS
                          for k in kinds)
            rtol = summary.status(concept, dtype).rtol
            rows.append(f"<tr><th>{dtype}</th>{tds}<td class=\"num\">{rtol:g}</td></tr>")
    return (f'<table class="parity"><tr><th>dtype</th>{head}<th>rtol</th></tr>'
            + "".join(rows) + "</table>")


def _column(impl: Implementation | None) -> str:
    if impl is None:
        return '<div class="column"><div class="column-head">missing</div></div>'
    helpers = ""
    if impl.helpers:
        names = html.escape(", ".join(h.name for h in impl.helpers))
        used = code("\n\n".join(h.source for h in impl.helpers))
        helpers = f"<details><summary>what it uses from the module: {names}</summary>{used}" \
            "</details>"
    return (f'<div class="column"><div class="column-head"><span>{impl.label}</span>'
            f"<code>{impl.relpath}</code></div>{code(impl.code)}{helpers}</div>")


def _status(summary: Summary, name: str) -> str:
    return " · ".join(f"{d} {html.escape(s)}" for d, s in zip(DTYPES, status(summary, name),
                                                             strict=True))


def concept(t: Translation, summary: Summary) -> str:
    notes = f"notes {', '.join(t.concept.notes)} · " if t.concept.notes else ""
    math = "".join(docstring(doc) if k == 0 else
                   docstring(doc).replace("<p>", f"<p><code>{name}</code>: ", 1)
                   for k, (name, doc) in enumerate(t.math))
    differ = ""
    if t.differences:
        items = "".join(f"<li><b>{LABELS[p]}</b>: {inline(i)}</li>" for p, text in t.differences
                        for b in docstrings.blocks(text) for i in (b.items or (b.text,)))
        differ = f'<div class="differ"><h4>Where the frameworks differ</h4><ul>{items}</ul></div>'
    columns = "".join(_column(impl) for impl in t.implementations)
    return (f'<section class="concept" id="{t.name}"><h3 class="mono">{t.name}</h3>'
            f'<p class="meta">{notes}parity {_status(summary, t.name)}</p>'
            f'<div class="math">{math}</div><div class="columns">{columns}</div>{differ}'
            f"<h4>Parity</h4>{parity_table(summary, t.name)}</section>")


def group(g: Group, summary: Summary, figures: list[tuple[str, str, str]]) -> str:
    out = [f'<section class="group" id="page-{g.page}"><h2>{html.escape(g.title)}</h2>']
    out += [f'<div class="lede">{docstring(text)}</div>' for text in g.intro]
    for name, caption, svg in figures:
        data = base64.b64encode(svg.encode()).decode()
        out.append(f'<figure id="figure-{name}"><img src="data:image/svg+xml;base64,{data}" '
                   f'alt="{name} figure"><figcaption>{prose(caption)}</figcaption>'
                   "</figure>")
    if g.conventions:
        out.append("<h4>How the mirrors are written</h4>")
        out += [f'<div class="lede"><p><b>{LABELS[p]}</b></p>{docstring(text)}</div>'
                for p, text in g.conventions]
    out += [concept(t, summary) for t in g.translations]
    return "\n".join([*out, "</section>"])


def bridge(rows: list[Row], summary: Summary) -> str:
    head = "".join(f"<th>{x}</th>" for x in ("", "in the notes", "verdict", "TensorFlow",
                                             "PyTorch", "NumPy (the spec)"))
    lines = []
    for row in rows:
        quoted = "".join("<td>" + "<br>".join(f"<code>{html.escape(x)}</code>"
                                              for x in c.idioms) + "</td>" for _, c in row.sides)
        lines.append(f'<tr><td><a href="#bridge-{row.number}">{row.number}</a></td><td>note '
                     f"{row.note}: <code>{html.escape(row.idiom)}</code></td>"
                     f"<td>{prose(row.verdict)}</td>{quoted}</tr>")
    out = ['<section class="group" id="bridge"><h2>The bridge from the notes</h2>',
           '<p class="lede">Each TensorFlow idiom of the notes (note 000), and note 004\'s '
           "PyTorch module, with its equivalents. <code>parity_tests/test_bridge.py</code> runs "
           "every row in TensorFlow, PyTorch and NumPy on the same data and compares the "
           "numbers; the code shown is the code those tests run. Where a note slips, the slip "
           "is shown, and a test makes it happen.</p>",
           f'<table class="bridge">{_BRIDGE_COLUMNS}<tr>{head}</tr>{"".join(lines)}</table>',
           f"<p>The code assumes:</p>{code(PREAMBLE)}"]
    for row in rows:
        columns = "".join(f'<div class="column"><div class="column-head"><span>{label}</span>'
                          f"</div>{code(c.source)}</div>" for label, c in row.sides)
        slips = "".join(
            f'<div class="column"><div class="column-head"><span>the slip</span></div>'
            f'<p class="column-note">shown by <code>{html.escape(", ".join(s.tests))}</code></p>'
            f"{code(s.code.source)}</div>" for s in row.slips)
        cells = [f"{label} {c.text()} ({dtype})" for dtype, fws in
                 summary.of(f"bridge: {row.key}").items() for fw, label in FRAMEWORKS.items()
                 for c in fws.get(fw, {}).values()]
        measured = "; ".join(cells) if cells else "not measured yet"
        out.append(
            f'<div class="row" id="bridge-{row.number}"><h3>{row.number}. {prose(row.title)}'
            f'</h3><p class="meta">note {row.note}: <code>{html.escape(row.idiom)}</code> — '
            f"<b>{prose(row.verdict)}</b></p><p>{prose(row.remark)}</p>"
            f'<div class="columns">{columns}</div>'
            + (f'<div class="columns slip">{slips}</div>' if slips else "")
            + f'<p class="meta">Tested by <code>{row.test}</code>: {html.escape(measured)}</p>'
            "</div>")
    return "\n".join([*out, "</section>"])


def page(groups: tuple[Group, ...], figures: dict[str, list[tuple[str, str, str]]],
         rows: list[Row], summary: Summary) -> str:
    nav = ["<ul>"]
    for g in groups:
        links = "".join(f'<li><a href="#{t.name}">{t.name.replace("_", "_<wbr>")}</a></li>'
                        for t in g.translations)  # long names break at an underscore
        nav.append(f'<li class="group"><a href="#page-{g.page}">{html.escape(g.title)}</a>'
                   f"<ul>{links}</ul></li>")
    nav.append('<li class="group"><a href="#bridge">The bridge from the notes</a><ul>'
               + "".join(f'<li><a href="#bridge-{r.number}">{r.number}. {prose(r.title)}</a></li>'
                         for r in rows) + "</ul></li></ul>")
    main = ["<h1>nn-rosetta</h1>",
            '<p class="lede">Every concept written three times, side by side: the NumPy spec '
            "(<code>reference/</code>), its PyTorch mirror (<code>torch_impl/</code>) and its "
            "TensorFlow/Keras mirror (<code>tf_impl/</code>). The code is read from the "
            "packages; under each concept, where the frameworks' conventions differ and the "
            f"parity the tests measured.</p><p class=\"lede meta\">{prose(legend(summary))}"
            "</p>"]
    main += [group(g, summary, figures.get(g.page, [])) for g in groups]
    main.append(bridge(rows, summary))
    css = (TEMPLATES / "page.css").read_text()
    highlight_css = HtmlFormatter(style=_STYLE).get_style_defs(".hl")
    return Template((TEMPLATES / "page.html").read_text()).substitute(
        css=css, highlight_css=highlight_css, nav="\n".join(nav), main="\n".join(main))
