"""Sphinx extension of the book: pages that read the same with or without a network.

- Executed notebooks show training progress as plain lines, not as tqdm widgets whose
  JavaScript comes from a CDN: the kernels that execute the pages inherit
  ``CNNLIB_PROGRESS=plain`` (see :mod:`cnnlib.progress`), also when the book is built with
  ``jupyter-book build .`` rather than ``make book``.
- sphinx-thebe adds its configuration script to every page twice, and the second
  ``const THEBE_JS_URL`` is a SyntaxError in every page's console: keep one copy of each
  inline script.
- pydata-sphinx-theme's page template starts a first visit in colour mode ``""`` (its
  ``default_mode`` is never defined) and then logs "Got invalid theme mode" as a console error:
  start in ``auto`` (the colour scheme of the reader's system).
- A code cell whose printed output nbval compares starts with the marker ``# NBVAL_CHECK_OUTPUT``;
  the page shows the cell without that line (the notebook, and so nbval, keep it).

MathJax itself is served from the build by the ``sphinx-mathjax-offline`` extension
(``_config.yml``); ``tests/test_browser.py`` checks the result in Chromium with the network off.
"""

from __future__ import annotations

import os

from docutils import nodes
from sphinx.application import Sphinx


def _one_copy_of_each_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # an inline script is added once with filename None and once with "": the same script
        key = (getattr(script, "filename", None) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def _default_colour_mode(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


NBVAL_MARKER = "# NBVAL_CHECK_OUTPUT"


def _hide_nbval_markers(app: Sphinx, doctree: nodes.document) -> None:
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if text.startswith(NBVAL_MARKER + "\n"):
            shown = text[len(NBVAL_MARKER) + 1:]
            block.rawsource = shown
            block.children = []
            block += nodes.Text(shown)


def setup(app: Sphinx) -> dict:
    os.environ.setdefault("CNNLIB_PROGRESS", "plain")
    app.connect("html-page-context", _one_copy_of_each_script)
    app.connect("html-page-context", _default_colour_mode)
    app.connect("doctree-read", _hide_nbval_markers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
