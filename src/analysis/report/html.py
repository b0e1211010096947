"""Rendering an executed notebook into the one HTML page a reviewer reads.

The page is a report concern; the run layer only executes notebooks and calls
:func:`render_html`. Every page is self-contained (no external scripts, images embedded), opens
with a link back to the index of its run folder, keeps long values wrapped at 1280 px and closes
with its provenance footer.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from analysis.report.tables import provenance_html

__all__ = [
    "NOT_PRODUCED_SUFFIX",
    "FAILURE_BANNER",
    "PAGE_STYLE",
    "BACK_LINK",
    "render_html",
    "with_footer",
    "failed_page",
    "visible_text",
    "reviewer_leftovers",
]

#: A notebook with nothing to show writes ``<notebook stem>`` + this suffix (one line: why);
#: :func:`render_html` then writes no page and the index shows the reason.
NOT_PRODUCED_SUFFIX = ".not_produced.txt"

#: Red banner opening a failed report (``{msg}``: the escaped reason).
FAILURE_BANNER = (
    '<div class="analysis-failure" role="alert" style="background:#f8d7da;border:3px solid #a00;'
    'padding:1em;margin:1em 0;font-size:1.2em"><strong>THIS REPORT FAILED.</strong> {msg} '
    "Its results are incomplete and must not be used.</div>"
)

#: Layout rules shared by the reports and the index: nothing wider than the page at 1280 px
#: (long words and parameter values wrap, wide tables scroll inside their own box).
PAGE_STYLE = (
    "<style>.analysis-page{max-width:100%;overflow-wrap:anywhere}"
    ".jp-RenderedHTMLCommon table{display:block;max-width:100%;overflow-x:auto}"
    "td,th{overflow-wrap:anywhere}img{max-width:100%;height:auto}"
    ".analysis-back{font-family:sans-serif;margin:0.5em 0 1em}</style>"
)

#: Link from a report (in ``<out>/<run>/``) back to ``<out>/index.html``.
BACK_LINK = (
    '<nav class="analysis-back"><a href="../index.html">&larr; All reports and tables (index)</a>'
    "</nav>"
)

# lab template without the external scripts (require.js, MathJax, mermaid from a CDN): the report
# is one file that works offline and can be emailed.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _after_body_open(body: str, fragment: str) -> str:
    i = body.find(">", body.find("<body")) + 1
    return body[:i] + fragment + body[i:]


def with_footer(body: str, provenance: dict[str, Any] | None) -> str:
    """Close an HTML page with its provenance footer.

    The footer is :func:`analysis.report.tables.provenance_html`.

    Parameters
    ----------
    body : str
        A whole HTML page.
    provenance : dict or None
        Run, commit, date, data SHA-256 and versions; None shows every field as "not recorded"
        (the run layer passes the current commit, date and versions).

    Returns
    -------
    str
        The page with the footer before ``</body>`` (appended when there is none).

    Examples
    --------
    >>> page = with_footer("<html><body><p>x</p></body></html>", {"run": "btheb"})
    >>> page.endswith("</footer></body></html>") and "<code>btheb</code>" in page
    True
    """
    footer = provenance_html(provenance or {})
    i = body.rfind("</body>")
    return body[:i] + footer + body[i:] if i >= 0 else body + footer


def failed_page(error: str, provenance: dict[str, Any] | None) -> str:
    """The page written when a notebook failed before it produced anything to render.

    Examples
    --------
    >>> "THIS REPORT FAILED" in failed_page("kernel died", None)
    True
    """
    return with_footer(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>FAILED</title>"
        + PAGE_STYLE
        + "</head><body>"
        + BACK_LINK
        + FAILURE_BANNER.format(msg=html.escape(error or "not executed"))
        + "</body></html>",
        provenance,
    )


def render_html(
    ipynb: Path, html_path: Path, failure: str = "", provenance: dict[str, Any] | None = None
) -> Path:
    """Render an executed notebook to one self-contained HTML file without code.

    Parameters
    ----------
    ipynb : Path
        Executed notebook.
    html_path : Path
        Output file.
    failure : str
        When not empty, a red failure banner with this message opens the page.
    provenance : dict, optional
        Run, commit, date, data SHA-256 and package versions (see
        :func:`analysis.report.tables.provenance_html`); closes the page as its footer. None: every
        field "not recorded" (the pipeline always passes one).

    Returns
    -------
    Path
        ``html_path``. The page opens with a link back to ``../index.html``. When the notebook
        recorded that it has nothing to show (``<ipynb stem>.not_produced.txt`` beside
        ``html_path``, see :func:`analysis.report.index.not_produced`) and did not fail, no page
        is written (a stale one is removed).
    """
    marker = Path(html_path).parent / f"{Path(ipynb).stem}{NOT_PRODUCED_SUFFIX}"
    if not failure and marker.exists():
        Path(html_path).unlink(missing_ok=True)
        return Path(html_path)
    import nbformat  # imported here: jsonschema's format checkers take seconds to import
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    title = str(nb.metadata.get("title") or "")
    if not title:
        stem = Path(ipynb).stem
        words = stem.split("_", 1)[-1] if stem[:2].isdigit() else stem
        title = words.replace("_", " ").capitalize()
    nb.metadata["title"] = ("FAILED: " if failure else "") + title
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"analysis_report.html.j2": _TEMPLATE})],
        template_file="analysis_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    i = body.rfind("</head>")
    if i >= 0:
        body = body[:i] + PAGE_STYLE + body[i:]
    top = BACK_LINK
    if failure:
        top += FAILURE_BANNER.format(msg=html.escape(failure))
    body = _after_body_open(body, top)
    body = with_footer(body, provenance)
    Path(html_path).write_text(body, encoding="utf-8")
    return Path(html_path)


class _Visible(HTMLParser):
    """Text a reader sees: no style, script, head or attribute values (images are base64)."""

    _SKIP = {"style", "script", "head", "title"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The text of an HTML page as a reader sees it (tags, styles and scripts removed).

    Examples
    --------
    >>> visible_text("<html><head><style>a_b{}</style></head><body><p>x <b>y</b></p></body>")
    'x y'
    """
    p = _Visible()
    p.feed(page)
    return re.sub(r"\s+", " ", " ".join(p.parts)).strip()


_LEFTOVERS = {
    "snake_case identifier": re.compile(
        r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-]*\.(?:csv|html|txt|yaml|json))\b"
    ),
    "nan": re.compile(r"(?<![\w.])(?:nan|NaN|<NA>|None)(?![\w])"),
    "backtick": re.compile(r"`"),
    "module path": re.compile(r"\banalysis(?:\.[a-z_]+)+"),
    "-0": re.compile(r"(?<![\w.])-0(?:\.0+)?(?![\d.])"),
}


class _Cells(HTMLParser):
    """The text of every table cell (``td``) of a page."""

    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _code_after_name() -> re.Pattern:
    """A parameter's name (as the code's words or its label) followed by one of its codes."""
    from analysis.report.tables import PARAMETER_LABELS, parameter_codes

    alts = []
    for name in PARAMETER_LABELS:
        codes = parameter_codes(name)
        if codes:
            names = {name.replace("_", " "), PARAMETER_LABELS[name]}
            if name == "cutoff_type":
                names.add("cutoff")  # "cutoff published: 13.50 points"
            name_rx = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            code_rx = "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
            # "post = last" (the index's old form), or "post last" / "post: last" not followed
            # by a further word (so "missing data: last available score", a label, is not one)
            alts.append(rf"(?:{name_rx}) = (?:{code_rx})(?![\w-])")
            alts.append(rf"(?:{name_rx}):? (?:{code_rx})(?![\w-]| [a-z])")
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + ")")


def reviewer_leftovers(page: str) -> list[tuple[str, str]]:
    """Code leftovers on a page a reviewer reads (issue 17): what and where.

    Looks, in the visible text only, for snake_case identifiers (file names such as
    ``prevalence_by_arm.csv`` excepted), "nan"/"NaN"/"None", backticks, module paths
    (``analysis.x.y``) and "-0"; and for a run parameter's value shown as its code instead of its
    label (:func:`analysis.report.tables.parameter_codes`): a table cell that is a code
    ("last", "locf", "cohort", "severe"), or a parameter's name followed by one of its codes
    ("post = last", "cutoff type default", "cutoff published: 13.50").

    No part of a page is exempt, the parameter tables included: the reports and the index show
    parameter names and values in words (:func:`analysis.report.tables.parameter_value`), and
    the exact names and values a run used, for reproducing it, are in its ``run.json``, which the
    index links (a file name, so not flagged).

    Returns
    -------
    list of (str, str)
        (kind, the text around it); empty when the page is clean.

    Examples
    --------
    >>> page = "<p>reliable_improvement: 6.0 (4.0 to nan); PABAK -0; `x`</p>"
    >>> [kind for kind, _ in reviewer_leftovers(page)]
    ['snake_case identifier', 'nan', 'backtick', 'backtick', '-0']
    >>> reviewer_leftovers("<p>see prevalence_by_arm.csv; p &lt; .001</p>")
    []
    >>> page = "<p>post = last; hlm test cohort.</p><table><tr><td>locf</td></tr></table>"
    >>> [kind for kind, _ in reviewer_leftovers(page)]
    ['parameter code', 'parameter code', 'parameter code']
    >>> reviewer_leftovers("<p>post score: the last score observed after baseline</p>")
    []
    """
    from analysis.report.tables import parameter_codes

    txt = visible_text(page)
    found = []
    for kind, rx in {**_LEFTOVERS, "parameter code": _code_after_name()}.items():
        for m in rx.finditer(txt):
            found.append((kind, txt[max(0, m.start() - 15) : m.end() + 15]))
    cells = _Cells()
    cells.feed(page)
    codes = parameter_codes()
    found += [("parameter code", c) for c in cells.cells if c in codes]
    return found
