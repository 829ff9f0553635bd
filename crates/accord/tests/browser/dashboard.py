"""Drives the dashboard in headless Chromium (Playwright, Debian's chromium).

Run by crates/accord/tests/browser.rs, one phase per call:

    dashboard.py PHASE ARGS.json

ARGS: {"url", "user", "password", "chromium", "shots" (a directory for
screenshots), and per phase: "expect_total", "search", "search_id",
"partner", "title", "case"}. Prints one JSON object on its last line
(what the Rust test checks next); exits non-zero, saying what was wrong,
when the page does not show what it should.
"""

import json
import os
import sys

from playwright.sync_api import sync_playwright


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def login(page, a, password=None):
    page.goto(a["url"] + "/")
    check(page.locator("input[type=password]").count() == 1, "no login form at /")
    page.fill("input[name=user]", a["user"])
    page.fill("input[name=password]", password or a["password"])
    page.click("button[type=submit]")


def shot(page, a, name):
    os.makedirs(a["shots"], exist_ok=True)
    page.screenshot(path=os.path.join(a["shots"], name + ".png"), full_page=True)


def tour(page, a):
    """Wrong password, sign in, every page, a search, an object."""
    login(page, a, password="not-the-password")
    check(
        "Wrong user name or password." in page.content(),
        "a wrong password did not say so: " + page.content()[:2000],
    )
    login(page, a)
    check(page.url.rstrip("/") == a["url"], "after sign-in not on the overview: " + page.url)
    total = page.locator(".card .big").first.inner_text()
    check(
        total == a["expect_total"],
        f"the overview says {total!r} objects; the store holds {a['expect_total']!r}",
    )
    check(page.locator("figure.chart svg").count() >= 1, "no chart on the overview")
    shot(page, a, "overview")
    for name, path, heading in [
        ("partners", "/ui/partners", "Partners"),
        ("objects", "/ui/objects", "Objects"),
        ("sightings", "/ui/sightings", "Sightings and matching"),
        ("hotline", "/ui/cases", "Hotline cases"),
        ("log", "/ui/log", "Log"),
    ]:
        page.click(f"header nav a[href='{path}']")
        h1 = page.locator("main h1").inner_text()
        check(h1 == heading, f"{path}: heading {h1!r}, expected {heading!r}")
        shot(page, a, name)
    # Search by value, then open the object.
    page.click("header nav a[href='/ui/objects']")
    page.fill("input[name=q]", a["search"])
    page.click("form.inline button[type=submit]")
    link = page.locator(f"main table a:has-text('{a['search_id']}')")
    check(link.count() >= 1, f"searching {a['search']!r} did not find {a['search_id']}")
    shot(page, a, "search")
    link.first.click()
    check("Versions" in page.content(), "the object page has no versions")
    check(a["search"] in page.content(), "the object page does not show the value")
    shot(page, a, "object")
    # Its records in the log, and the proof of one, checked by the node.
    page.click("a:has-text('Where it came from')")
    check(page.locator("main table tbody tr").count() >= 1, "no record of the object in the log")
    page.locator("a:has-text('prove')").first.click()
    check("Checked here" in page.content(), "the proof page does not check: " + page.content()[:2000])
    shot(page, a, "proof")
    return {"ok": True}


def open_case(page, a):
    login(page, a)
    page.click("header nav a[href='/ui/cases']")
    page.select_option("select[name=partner]", a["partner"])
    page.select_option("select[name=severity]", "high")
    page.fill("input[name=title]", a["title"])
    page.fill("textarea[name=description]", "Opened from the dashboard in a browser test.")
    page.click("form[action='/ui/cases'] button[type=submit]")
    check(a["title"] in page.locator("main h1").inner_text(), "the new case's page: " + page.url)
    case = page.url.rsplit("/", 1)[-1]
    check(case.startswith("incident--"), "not a case page: " + page.url)
    shot(page, a, "case-opened")
    return {"case": case}


def acknowledge(page, a):
    login(page, a)
    page.click("header nav a[href='/ui/cases']")
    page.click(f"a[href='/ui/cases/{a['case']}']")
    page.click("button:has-text('Acknowledge')")
    state = page.locator("main table tbody tr td").nth(2).inner_text()
    check(state.startswith("acknowledged"), "after Acknowledge the case is " + state)
    page.fill("textarea[name=text]", "Blocking now.")
    page.click("button[value=reply]")
    check("Blocking now." in page.content(), "the reply is not in the thread")
    shot(page, a, "case-acknowledged")
    return {"state": state}


def state_of(page, a):
    login(page, a)
    page.goto(a["url"] + "/ui/cases/" + a["case"])
    state = page.locator("main table tbody tr td").nth(2).inner_text()
    shot(page, a, "case-seen-by-opener")
    return {"state": state, "thread": page.locator("ol.thread").inner_text()}


PHASES = {"tour": tour, "open-case": open_case, "acknowledge": acknowledge, "state": state_of}


def main():
    phase, args_file = sys.argv[1], sys.argv[2]
    with open(args_file) as f:
        a = json.load(f)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=a["chromium"], args=["--no-sandbox"])
        page = browser.new_page()
        try:
            out = PHASES[phase](page, a)
        except SystemExit:
            shot(page, a, "failure-" + phase)
            raise
        finally:
            browser.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
