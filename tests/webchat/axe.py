"""axe-core (from npm, pinned in package-lock.json, `make test-deps` runs `npm ci`) injected into a Playwright page.

`Audit.check(page, where)` runs axe with the WCAG 2.0/2.1 A and AA rules on the page as it is now and keeps the
violations; `Audit.assert_clean()` fails with one readable block per page, rule and element. The page's context
needs `bypass_csp=True`: Playwright injects the script inline and the app's CSP allows only its own files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from devtools.stack import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return {version: axe.version, violations: result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                                  summary: (n.failureSummary || "").replace(/\\s+/g, " ")}))}))};
}"""


def require_axe() -> None:
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing ({AXE_JS}): run `make test-deps` (npm ci from package-lock.json).")


def format_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{where}:"]
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['url']})")
        for node in violation["nodes"][:5]:
            lines.append(f"      {node['target']}  {node['html']}")
            lines.append(f"        {node['summary']}")
        if len(violation["nodes"]) > 5:
            lines.append(f"      ... and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


@dataclass
class Audit:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    version: str = ""

    def check(self, page: Page, where: str) -> None:
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(path=str(AXE_JS))
        result = page.evaluate(_RUN, WCAG_TAGS)
        self.version = result["version"]
        self.checked.append(where)
        if result["violations"]:
            self.problems.append(format_violations(f"{where} ({page.url})", result["violations"]))

    def assert_clean(self) -> None:
        assert not self.problems, (f"axe-core {self.version} found WCAG 2.1 A/AA violations on "
                                   f"{len(self.problems)} of {len(self.checked)} pages:\n" + "\n".join(self.problems))
