"""The built book, read in a real browser with the network off.

Reference: headless Chromium (Debian's ``chromium`` package) driven by Playwright, opening the
pages of ``_build/html`` from disk (``file://``, as a reader who runs ``make book`` does) while
every request that would leave the machine is refused. For every page of ``_toc.yml`` it checks:

- no error in the browser console and no uncaught script error;
- no request to the network (a script, style, font or image from a CDN would break offline);
- every formula typeset by MathJax, and no MathJax error;
- every image loaded;
- no traceback, no ``NotImplementedError``, no stderr output and no widget placeholder;
- at most 5 MB for the page and its images;

and, from the HTML files, that every internal link and anchor resolves and that the sidebar lists
every page in the order of ``_toc.yml``. It saves full-page screenshots (1280 and 390 px wide) of
the landing page and one page per chapter in ``_build/screenshots/``, to be looked at.

The book is built first (``tools/build_book.py``); in ``make test`` the notebook tests have just
filled the execution cache, so the build executes nothing. Without Chromium or Playwright the
test is skipped, with a message saying how to enable it, unless ``CNNLIB_REQUIRE_BROWSER=1``
(as in ``.ci/run``) makes it mandatory.
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MAX_PAGE_BYTES = 5 * 1024 * 1024
# The landing page and one page per chapter with formulas and figures: screenshots to look at.
SCREENSHOT_PAGES = ["book/intro", "book/01-convolution/05-stride-and-dilation", "book/02-architectures/12-looking-inside",
                    "book/03-detection/08-training-a-detector"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require() -> None:
    missing = []
    if CHROMIUM is None:
        missing.append("Chromium (Debian: `apt-get install chromium`)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("Playwright's Python package (`make install` installs it)")
    if missing:
        message = "the browser test needs " + " and ".join(missing) + "; .ci/run installs both"
        if os.environ.get("CNNLIB_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)


# -- the pages ------------------------------------------------------------------------------------

def toc_pages(root: Path = ROOT) -> list[str]:
    """The docnames of ``_toc.yml`` in reading order (globs expanded and sorted, as Jupyter Book does)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    sources = sorted(p.relative_to(root).with_suffix("").as_posix()
                     for p in root.rglob("*") if p.suffix in (".md", ".ipynb")
                     and not {".venv", "_build", ".ipynb_checkpoints"} & set(p.parts))
    order = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                order.append(entry["file"])
            if "glob" in entry:
                order.extend(s for s in sources if fnmatch(s, entry["glob"]) and s not in order)
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return order


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "script", "link", "source"):
                self.links.append((tag, attrs[key]))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


@pytest.fixture(scope="module")
def site() -> Path:
    _require()
    # --all: every page re-read, so that each shows the outputs the notebook tests just cached
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--all"], cwd=ROOT,
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, f"the book did not build:\n{result.stderr[-3000:]}\n{result.stdout[-2000:]}"
    return SITE


def test_every_internal_link_anchor_and_image_resolves(site: Path):
    parsed = {p: _parse(p) for p in site.rglob("*.html") if "_sources" not in p.parts and "_static" not in p.parts}
    broken = []
    for page, links in parsed.items():
        for tag, url in links.links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: <{tag}> {url} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html" and tag == "a":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: <a> {url} (no element with id {parts.fragment!r})")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:40])


def test_sidebar_lists_every_page_in_toc_order(site: Path):
    expected = toc_pages()
    for name in expected:
        assert (site / f"{name}.html").exists(), f"{name} of _toc.yml was not built"
    landing = (site / f"{expected[0]}.html").read_text(encoding="utf-8")
    nav = re.split(r'<nav class="[^"]*bd-docs-nav[^"]*"', landing, maxsplit=1)[1].split("</nav>", 1)[0]
    hrefs = re.findall(r'<a class="reference internal" href="([^"#]+)', nav)
    start = (site / f"{expected[0]}.html").parent
    listed = [os.path.relpath((start / unquote(h)).resolve(), site).removesuffix(".html") for h in hrefs]
    listed = list(dict.fromkeys(listed))  # each page once, in order
    assert listed == expected[1:], (
        "sidebar order differs from _toc.yml:\n" + "\n".join(f"{a!s:60} {b}" for a, b in zip(expected[1:], listed))
        + f"\nmissing: {sorted(set(expected[1:]) - set(listed))}")


def _launch(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])


CHECK_PAGE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = [...document.images];
  await Promise.all(imgs.filter(i => !i.complete).map(i => new Promise(r => { i.onload = i.onerror = r; })));
  const math = [...document.querySelectorAll('.math')];
  const outputs = [...document.querySelectorAll('.cell_output, .output')];
  return {
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60)),
    mathErrors: document.querySelectorAll('mjx-merror').length,
    brokenImages: imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    stderr: [...document.querySelectorAll('.output.stderr, .stderr')].map(e => e.textContent.slice(0, 200)),
    tracebacks: [...document.querySelectorAll('.output.traceback, .output.error')]
                  .concat(outputs.filter(o => /Traceback \\(most recent call last\\)/.test(o.textContent)))
                  .map(o => o.textContent.slice(0, 200)),
    widgets: document.body.innerHTML.includes('application/vnd.jupyter.widget') ||
             document.body.textContent.includes('Loading widget'),
  };
}"""


class Browser:
    """Headless Chromium with the network off; :meth:`check` opens one page and lists its problems."""

    def __init__(self, playwright):
        self.browser = _launch(playwright)
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        self.external: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(
            f"console {m.type}: {m.text} ({m.location.get('url', '')})") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))

    def _route(self, r) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:  # the network is off
            self.external.append(f"{r.request.resource_type} {url}")
            r.abort()

    def check(self, path: Path) -> tuple[list[str], int]:
        """The problems of the page at ``path``, and how many formulas it has."""
        self.errors.clear(), self.external.clear()
        self.page.goto(path.as_uri(), wait_until="load")
        result = self.page.evaluate(CHECK_PAGE)
        size = path.stat().st_size + sum(
            (path.parent / unquote(src)).stat().st_size for tag, src in _parse(path).links
            if tag == "img" and not urlsplit(src).scheme and (path.parent / unquote(src)).exists())
        found = [*self.errors, *(f"network request: {u}" for u in self.external)]
        found += [f"formula not typeset: {t!r}" for t in result["untypeset"][:5]]
        found += [f"{result['mathErrors']} MathJax errors"] if result["mathErrors"] else []
        found += [f"image did not load: {s}" for s in result["brokenImages"]]
        found += [f"stderr output: {t!r}" for t in result["stderr"][:3]]
        found += [f"traceback or error in an output: {t!r}" for t in result["tracebacks"][:3]]
        found += ["widget placeholder"] if result["widgets"] else []
        found += [f"page and images weigh {size / 2**20:.1f} MB > 5 MB"] if size > MAX_PAGE_BYTES else []
        return found, result["math"]

    def screenshot(self, path: Path, stem: str) -> None:
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.evaluate(CHECK_PAGE)  # formulas typeset, images loaded
        for width in (1280, 390):
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(SHOTS / f"{stem}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def close(self) -> None:
        self.browser.close()


def test_pages_in_chromium_offline(site: Path):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    problems, typeset = [], 0
    with sync_playwright() as p:
        browser = Browser(p)
        try:
            for name in toc_pages():
                found, formulas = browser.check(site / f"{name}.html")
                typeset += formulas
                problems += [f"{name}: {f}" for f in found]
                if name in SCREENSHOT_PAGES:
                    browser.screenshot(site / f"{name}.html", name.replace("/", "--"))
        finally:
            browser.close()
    assert not problems, f"{len(problems)} problems in the pages:\n" + "\n".join(problems[:60])
    assert typeset > 100, f"only {typeset} formulas on all pages: is MathJax running?"


def test_the_page_checks_catch_what_they_look_for(tmp_path):
    """A page with a CDN script, a formula nobody typesets, a broken image, stderr and a widget."""
    _require()
    from playwright.sync_api import sync_playwright

    bad = tmp_path / "bad.html"
    bad.write_text("""<html><body>
      <script src="https://cdn.example.org/mathjax.js"></script>
      <span class="math notranslate nohighlight">\\(x^2\\)</span>
      <img src="missing.png">
      <div class="cell_output"><div class="output stderr"><pre>UserWarning: x</pre></div></div>
      <div class="cell_output"><pre>Traceback (most recent call last): NotImplementedError</pre></div>
      <p>Loading widget...</p>
      <script>undefined_function();</script>
    </body></html>""")
    with sync_playwright() as p:
        browser = Browser(p)
        try:
            found, formulas = browser.check(bad)
        finally:
            browser.close()
    text = "\n".join(found)
    for expected in ("network request: script https://cdn.example.org/mathjax.js", "formula not typeset",
                     "image did not load: missing.png", "stderr output", "traceback or error in an output",
                     "widget placeholder", "script error"):
        assert expected in text, f"the checks missed {expected!r}; they found:\n{text}"
    assert formulas == 1
