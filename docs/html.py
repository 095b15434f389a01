"""The single HTML page: every concept with NumPy, PyTorch and TensorFlow in three columns.

Self-contained: the styles are inline, the code is highlighted here by Pygments, the
figures are inline SVG data, and the page's content security policy forbids loading
anything else, so it works offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from string import Template

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from docs.bridge import PREAMBLE, Row
from docs.markdown import legend, status
from docs.worked import CONCEPT, Shown, own_modules
from nn_rosetta import cheatsheet, docstrings, names, notes
from nn_rosetta.catalog import LABELS, Group, Implementation, Translation
from nn_rosetta.parity import DTYPES, FRAMEWORKS, Cell, Summary
from reference import registry

TEMPLATES = Path(__file__).parent / "templates"
_STYLE = "default"
_BRIDGE_COLUMNS = "<colgroup>" + "".join(f'<col style="width: {w}%">' for w in (
    3, 22, 13, 20, 21, 21)) + "</colgroup>"


def cite(text: str) -> str:
    """Escaped text with each "note 002" linked to the note's entry on the page."""
    def link(match: re.Match) -> str:
        return match[1] + notes.NUMBER.sub(
            lambda n: f'<a href="#note-{n[0]}">{n[0]}</a>', match[2])
    return notes.CITATION.sub(link, html.escape(text))


def inline(text: str) -> str:
    """reST inline markup (````x````, ``**strong**``) as HTML, notes linked."""
    parts = re.split(r"(``[^`]+``|\*\*[^*]+\*\*)", docstrings.roles_to_literals(text))
    return "".join(f"<code>{html.escape(p[2:-2])}</code>" if p.startswith("``")
                   else f"<b>{cite(p[2:-2])}</b>" if p.startswith("**")
                   else cite(p) for p in parts)


def prose(text: str, linked: bool = True) -> str:
    """The project's own Markdown (single backticks) as HTML, notes linked unless the text
    goes inside a link itself (``linked=False``)."""
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(f"<code>{html.escape(p[1:-1])}</code>" if p.startswith("`")
                   else cite(p) if linked else html.escape(p) for p in parts)


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
        used = code(impl.helpers_shown)
        helpers = f"<details><summary>what it uses from the module: {names}</summary>{used}" \
            "</details>"
    return (f'<div class="column"><div class="column-head"><span>{impl.label}</span>'
            f"<code>{impl.relpath}</code></div>{code(impl.shown)}{helpers}</div>")


def _status(summary: Summary, name: str) -> str:
    return " · ".join(f"{d} {html.escape(s)}" for d, s in zip(DTYPES, status(summary, name),
                                                             strict=True))


def concept(t: Translation, summary: Summary) -> str:
    cited = f"{cite('notes ' + ', '.join(t.concept.notes))} · " if t.concept.notes else ""
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
            f'<p class="meta">{cited}parity {_status(summary, t.parity)}</p>'
            f'<div class="math">{math}</div><div class="columns">{columns}</div>{differ}'
            f"<h4>Parity</h4>{parity_table(summary, t.parity)}</section>")


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
        lines.append(f'<tr><td><a href="#bridge-{row.number}">{row.number}</a></td><td>'
                     f"{cite('note ' + row.note)}: <code>{html.escape(row.idiom)}</code></td>"
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
            f'</h3><p class="meta">{cite("note " + row.note)}: '
            f'<code>{html.escape(row.idiom)}</code> — '
            f"<b>{prose(row.verdict)}</b></p><p>{prose(row.remark)}</p>"
            f'<div class="columns">{columns}</div>'
            + (f'<div class="columns slip">{slips}</div>' if slips else "")
            + f'<p class="meta">Tested by <code>{row.test}</code>: {html.escape(measured)}</p>'
            "</div>")
    return "\n".join([*out, "</section>"])


def worked(s: Shown, summary: Summary) -> str:
    """A worked graph: what it is, the spec's factory, then the Keras functional code
    beside the torch module, and its parity."""
    g = s.graph

    def shapes(k: int) -> str:
        return ", ".join(f"<code>{html.escape(i[0])}</code> (N, {', '.join(map(str, i[k]))})"
                         for i in s.inputs)
    helpers = ""
    if s.helpers:
        names = html.escape(", ".join(h.name for h in s.helpers))
        helpers = (f"<details><summary>what it uses from the module: {names}</summary>"
                   f"{code(chr(10).join(h.bare + chr(10) for h in s.helpers).rstrip())}"
                   "</details>")
    own = "".join(f"; <code>{name}</code>: the torch mirror's own small module"
                  for name in own_modules(s))
    spec = (f'<div class="column"><div class="column-head"><span>NumPy</span>'
            f"<code>{g.factory}</code></div>{code(s.definition.bare)}{helpers}</div>")
    pair = (f'<div class="column"><div class="column-head"><span>TensorFlow</span>'
            f'<code>keras.Model</code></div><p class="column-note">inputs {shapes(1)}</p>'
            f"{code(s.keras)}</div>"
            f'<div class="column"><div class="column-head"><span>PyTorch</span>'
            f'<code>torch.fx.GraphModule</code></div><p class="column-note">inputs {shapes(2)}'
            f"{own}</p>{code(s.torch)}</div>")
    cases = "".join(f"<li>{inline(label)}</li>" for label in s.labels)
    return (f'<section class="group" id="{g.page}"><h2>Worked graph: {html.escape(g.title)}'
            f'</h2><div class="lede">{docstring(s.docstring)}</div>'
            f'<p class="meta">parity {_status(summary, g.parity)}, over its cases of '
            f'<a href="#{CONCEPT}">{CONCEPT}</a>:</p><ul>{cases}</ul>'
            "<p>The spec's graph as its registry case builds it, in float32, converted by "
            "<code>tf_impl.from_reference</code> and <code>torch_impl.from_reference</code>, "
            "and each converted model written out as code (the torch module's attributes are "
            "the GraphModule's submodules, its <code>forward</code> the GraphModule's "
            "<code>.code</code>).</p>"
            f'<div class="columns one">{spec}</div><div class="columns pair">{pair}</div>'
            f"<h4>Parity</h4>{parity_table(summary, g.parity)}</section>")


def _names(text: str) -> str:
    return " / ".join(f"<code>{html.escape(n.strip())}</code>" for n in text.split(" / "))


def sheet() -> str:
    """The cheat-sheet: one table, a heading row per section."""
    concepts = {c.name for c in registry.CONCEPTS}
    rows = []
    for k, row in enumerate(cheatsheet.ROWS, start=1):
        if k == 1 or row.section != cheatsheet.ROWS[k - 2].section:
            rows.append(f'<tr class="section"><th colspan="5">{html.escape(row.section)}</th></tr>')
        spec = (f'<a href="#{row.spec}"><code>{row.spec}</code></a>' if row.spec in concepts
                else f"<code>{html.escape(row.spec)}</code>" if row.spec else "—")
        tested = (f"<code>test_{row.test}</code>" if row.test
                  else f'<span class="meta">no test: {prose(row.reason)}</span>')
        rows.append(f'<tr id="sheet-{k}"><td>{_names(row.keras)}</td><td>{_names(row.torch)}</td>'
                    f"<td>{spec}</td><td>{prose(row.difference)}</td><td>{tested}</td></tr>")
    tested = sum(bool(r.test) for r in cheatsheet.ROWS)
    head = "".join(f"<th>{h}</th>" for h in ("Keras / TensorFlow", "PyTorch", "spec",
                                             "what differs", "tested by"))
    return ('<section class="group" id="cheatsheet"><h2>Keras / TensorFlow → PyTorch</h2>'
            f'<p class="lede">{len(cheatsheet.ROWS)} names side by side: the Keras or '
            "TensorFlow name, the PyTorch name that does the same, the spec's (linked to its "
            f"concept below) and the convention that differs. {tested} rows involve numbers, and "
            "<code>parity_tests/test_cheatsheet.py</code> runs both sides of each on the same "
            "data; the others say why they have none. In a terminal: "
            "<code>nn-rosetta cheatsheet</code>.</p>"
            f'<table class="sheet"><tr>{head}</tr>{"".join(rows)}</table></section>')


def notes_section() -> str:
    out = ['<section class="group" id="notes"><h2>The source notes</h2>',
           '<p class="lede">The pages cite the study notes the project was built from by '
           "number. They are not part of the repository; what each is, and the links it "
           "gives (pictures left out):</p>"]
    for note in notes.NOTES:
        links = "".join(f'<li><a href="{html.escape(url)}">{html.escape(label)}</a></li>'
                        for label, url in note.links) or "<li>no links beyond its pictures</li>"
        out.append(f'<div class="row" id="{note.anchor}"><h3>Note {note.number}</h3>'
                   f"<p><b>{prose(note.source)}.</b> Covers {prose(note.topics)}.</p>"
                   f'<p class="meta">file <code>{note.file}</code></p><ul>{links}</ul></div>')
    return "\n".join([*out, "</section>"])


def search_index(groups: tuple[Group, ...], rows: list[Row],
                 graphs: Sequence[Shown] = ()) -> list[list[str]]:
    """[label, target, words searched] for everything the sidebar reaches, and each name
    of the cheat-sheet."""
    found = [[f"{r.keras.split(' / ')[0]} → {r.torch.split(' / ')[0]}", f"sheet-{k}",
              f"{r.keras} {r.torch} {r.spec} {r.difference}"]
             for k, r in enumerate(cheatsheet.ROWS, start=1)]
    found += [[f"bridge {r.number}. {r.title}", f"bridge-{r.number}", f"{r.idiom} {r.remark}"]
              for r in rows]
    found += [[t.name, t.name, f"{g.title} {docstrings.plain(t.summary)}"] for g in groups
              for t in g.translations]
    found += [[f"worked graph: {s.graph.title}", s.graph.page,
               f"{s.graph.factory} {docstrings.plain(s.docstring)}"] for s in graphs]
    found += [[f"note {n.number}", n.anchor, f"{n.source} {n.topics}"] for n in notes.NOTES]
    return found


# The search, as pure functions (docs/tests runs them in node on the page's index): a query
# is first read as a name, by the CLI's rule (nn_rosetta/names.py: `searchKey` is its `key`,
# `aliases` its table), then matched word by word against every entry's text.
FIND = r"""const searchKey = word => {
  let w = word.trim().toLowerCase().split('(')[0].replaceAll('/', '.');
  if (w.endsWith('.py')) w = w.slice(0, -3);
  w = w.replace(/\.+$/, '');
  w = w.slice(w.lastIndexOf('.') + 1).replace(/[^a-z0-9]/g, '');
  return w.endsWith('loss') && w.length > 4 ? w.slice(0, -4) : w;
};
const searchFind = ({entries, aliases}, query) => {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  const byId = new Map(entries.map(([label, id]) => [id, label]));
  // a concept's own name, as written, first: relu (the function) is not ReLU (the layer)
  const own = byId.has(query.trim()) ? [[byId.get(query.trim()), query.trim()]] : [];
  const named = [...own, ...(aliases[searchKey(query)] || []).map(id => [byId.get(id), id])];
  const scored = entries.map(([label, id, text]) => {
    const l = label.toLowerCase(), all = (label + ' ' + text).toLowerCase();
    if (!words.every(w => all.includes(w))) return null;
    return [words.every(w => l.includes(w)) ? 0 : 1, label, id];
  }).filter(Boolean).sort((a, b) => a[0] - b[0]).map(([, label, id]) => [label, id]);
  const seen = new Set();
  return [...named, ...scored].filter(([, id]) => !seen.has(id) && seen.add(id)).slice(0, 12);
};"""

SEARCH = FIND + """
(() => {
  const index = JSON.parse(document.getElementById('search-index').textContent);
  const box = document.getElementById('search'), list = document.getElementById('results');
  box.addEventListener('input', () => {
    list.replaceChildren(...searchFind(index, box.value).map(([label, id]) => {
      const li = document.createElement('li'), a = document.createElement('a');
      a.href = '#' + id; a.textContent = label; li.append(a); return li; }));
  });
  box.addEventListener('keydown', e => {
    const first = list.querySelector('a');
    if (e.key !== 'Enter' || !first) return;
    location.hash = first.hash;  // the same hash twice does not scroll: scroll anyway
    document.getElementById(first.hash.slice(1)).scrollIntoView();
  });
})();"""


def search_data(groups: tuple[Group, ...], rows: list[Row],
                graphs: Sequence[Shown] = ()) -> dict:
    """What the search box reads: the entries, and the CLI's alias table."""
    return {"entries": search_index(groups, rows, graphs), "aliases": names.aliases()}


def page(groups: tuple[Group, ...], figures: dict[str, list[tuple[str, str, str]]],
         rows: list[Row], summary: Summary, graphs: Sequence[Shown] = ()) -> str:
    nav = ['<ul><li class="group"><a href="#cheatsheet">Keras / TensorFlow → PyTorch</a></li>',
           '<li class="group"><a href="#bridge">The bridge from the notes</a><ul>'
           + "".join(f'<li><a href="#bridge-{r.number}">{r.number}. '
                     f"{prose(r.title, linked=False)}</a></li>" for r in rows) + "</ul></li>"]
    for g in groups:
        links = "".join(f'<li><a href="#{t.name}">{t.name.replace("_", "_<wbr>")}</a></li>'
                        for t in g.translations)  # long names break at an underscore
        nav.append(f'<li class="group"><a href="#page-{g.page}">{html.escape(g.title)}</a>'
                   f"<ul>{links}</ul></li>")
    if graphs:
        links = "".join(f'<li><a href="#{s.graph.page}">{html.escape(s.graph.title)}</a></li>'
                        for s in graphs)
        nav.append(f'<li class="group"><a href="#{graphs[0].graph.page}">Worked graphs</a>'
                   f"<ul>{links}</ul></li>")
    nav.append('<li class="group"><a href="#notes">The source notes</a></li></ul>')
    main = ["<h1>nn-rosetta</h1>",
            '<p class="lede">Every concept written three times, side by side: the NumPy spec '
            "(<code>reference/</code>), its PyTorch mirror (<code>torch_impl/</code>) and its "
            "TensorFlow/Keras mirror (<code>tf_impl/</code>). First the Keras/TensorFlow → "
            "PyTorch cheat-sheet and the bridge from the notes' code; then every concept, its "
            "code read from the packages, where the frameworks' conventions differ and the "
            f"parity the tests measured.</p><p class=\"lede meta\">{prose(legend(summary))}"
            "</p>", sheet(), bridge(rows, summary)]
    main += [group(g, summary, figures.get(g.page, [])) for g in groups]
    main += [worked(s, summary) for s in graphs]
    main.append(notes_section())
    css = (TEMPLATES / "page.css").read_text()
    highlight_css = HtmlFormatter(style=_STYLE).get_style_defs(".hl")
    script = SEARCH
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    index = json.dumps(search_data(groups, rows, graphs), ensure_ascii=False).replace("</", "<\\/")
    return Template((TEMPLATES / "page.html").read_text()).substitute(
        css=css, highlight_css=highlight_css, nav="\n".join(nav), main="\n".join(main),
        script=script, script_hash=f"sha256-{digest}", index=index)
