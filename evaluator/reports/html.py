"""Jinja2 rendering of the report model to HTML. Autoescape is on for every template:
organization names, reasons and evidence are text typed by organizations."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from .. import resources
from .labels import NUMERALS

CSS_FILE = "report.css"
TEMPLATES = {"scorecard": "scorecard.html.j2", "summary": "summary.html.j2", "lists": "lists.html.j2"}


def assets_dir() -> Path:
    return resources.reports_dir()


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(assets_dir())),
        autoescape=True,                      # every template, whatever its file name
        undefined=jinja2.StrictUndefined,     # a typo in a template is an error, not a blank
        trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["ZH_NUMERALS"] = NUMERALS     # （十一）, not （11）, after the tenth section
    return env


@cache
def css_text() -> str:
    return (assets_dir() / CSS_FILE).read_text(encoding="utf-8")


SCREEN_CSS_FILE = "screen.css"      # screen and phone rules, for the .html files only


@cache
def screen_css_text() -> str:
    """The stylesheet inlined into .html files: without @font-face, whose font files stay with
    agrade (a browser uses the fonts of the reader's system), plus the screen and phone rules
    (WeasyPrint does not understand media features such as max-width, so it never sees them)."""
    return (re.sub(r"@font-face\s*\{[^}]*\}\s*", "", css_text()).rstrip() + "\n\n"
            + (assets_dir() / SCREEN_CSS_FILE).read_text(encoding="utf-8"))


def render_html(kind: str, model: dict, *, standalone: bool, attached: bool = False) -> str:
    """HTML of one document. `standalone` inlines the stylesheet (for the .html files people
    open); for PDF the parsed stylesheet is passed to WeasyPrint instead, once per worker."""
    template = environment().get_template(TEMPLATES[kind])
    # Our own stylesheet, read from the package: the only markup that is not escaped.
    inline = Markup(screen_css_text()) if standalone else ""
    return template.render(**model, inline_css=inline, attached=attached, standalone=standalone)
