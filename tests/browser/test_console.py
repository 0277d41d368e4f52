#!/usr/bin/env python3
"""The console's pages as a person uses them (issue 11 §5, docs/console.md#browser-tests):
headless Chromium drives the real sonde-console, over HTTPS, on a copy of the data seeded by
seed.py (a simulated fortnight of five establishments, four of collectivité D031).

usage: test_console.py TEST --seed SEED_DIR --console SONDE_CONSOLE [--screenshots DIR]
TEST: login_logout | every_page | csv_export | pdf_export | limited_user

Reference of the figures. Every table the browser shows is read cell by cell and compared
with the JSON API of the same URL and session (its values, states, minima and maxima): that
checks the rendering, the markers and the non-colour cues, not the arithmetic, which the page
and the API share. The arithmetic is checked against an independent reference: the oracle of
the shim's replay (seed.py's report.json, the connections it counted hour by hour in each
base's local time, not read from any snapshot), for the figures it has: every hour of *Suivi
heure par heure*, every day of *Suivi journalier*, and the Connexions totals of each
establishment over *Dernier jour*. The rest of the arithmetic is tested against IngestStore
by tests/console/test_pages.cc."""
import argparse
import collections
import datetime
import glob
import html.parser
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ADMIN = "thomas.dubois@cd31.example"
ADMIN_PASSWORD = "Console#31-essai"
LIMITED = "lea.martin@cd31.example"
LIMITED_PASSWORD = "Lecture%31-essai"
NBSP = "\u202f"
# The guide's 7 menus (docs/console.md#the-menus).
MENUS = ["Comptes utilisateurs", "Connexions", "Moyens généraux", "Social", "Scolarité",
         "Communications", "Demandes de travaux"]
FAILURES = []
COUNTS = collections.Counter()  # what was compared, for the summary line


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("FAILED:", what)
    return condition


class Session:
    def __init__(self, args, name):
        self.args = args
        self.work = harness.workdir(name)
        self.seed = args.seed
        data = os.path.join(self.work, "data")
        shutil.copytree(os.path.join(args.seed, "template"), data)
        self.console = harness.Console(args.console, args.seed, data)
        self.console.start()
        self.downloads = os.path.join(self.work, "downloads")
        os.makedirs(self.downloads)
        self.driver = harness.chromium(self.downloads)
        self.cafile = os.path.join(args.seed, "tls.crt")
        import json
        with open(os.path.join(args.seed, "seed.json")) as f:
            self.seeded = json.load(f)
        with open(os.path.join(args.seed, "report.json")) as f:
            self.report = json.load(f)

    def seeded_last_day(self):
        first = datetime.date.fromisoformat(self.seeded["first_day"])
        return (first + datetime.timedelta(days=self.seeded["days"] - 1)).isoformat()

    def close(self):
        try:
            self.driver.quit()
        finally:
            self.console.stop()
        if not FAILURES:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("kept for inspection:", self.work, "(console log:", self.console.log + ")")

    # ---- the browser, as a person ----
    def by(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def one(self, css):
        found = self.by(css)
        assert found, f"no {css} on {self.driver.current_url}"
        return found[0]

    def click_link(self, text, within="body", navigates=True):
        links = [a for a in self.by(within + " a") if a.text.strip() == text]
        assert links, f"no link '{text}' in {within} on {self.driver.current_url}"
        if navigates:
            self.click_and_wait(links[0])
        else:
            links[0].click()  # a download: the page stays

    def click_and_wait(self, element):
        """Clicks and waits until the next page has replaced this one (hang guard only).

        The old page is recognised by a mark set on its window object, which a new document
        never carries. (Selenium's staleness_of asks about a DOM node, and chromedriver may
        answer that question with an error instead of "stale" while the navigation is under
        way.)"""
        from selenium.common.exceptions import WebDriverException
        self.driver.execute_script("window.__sonde_old_page = true;")
        element.click()
        deadline = time.monotonic() + 60  # hang guard
        while time.monotonic() < deadline:
            try:
                if not self.driver.execute_script("return window.__sonde_old_page === true;"):
                    break
            except WebDriverException:
                pass  # asked in the middle of the navigation: ask again
            time.sleep(0.05)
        else:
            raise AssertionError(f"no new page within 60 s after a click on {self.driver.current_url}")
        self.wait_loaded()

    def wait_loaded(self):
        from selenium.common.exceptions import WebDriverException
        deadline = time.monotonic() + 60  # hang guard
        while time.monotonic() < deadline:
            try:
                if self.driver.execute_script("return document.readyState") == "complete":
                    return
            except WebDriverException:
                pass  # the document is being replaced: ask again
            time.sleep(0.05)
        raise AssertionError(f"{self.driver.current_url} not loaded within 60 s")

    def type_into(self, css, text):
        e = self.one(css)
        e.clear()
        e.send_keys(text)

    def submit(self, label):
        from selenium.webdriver.common.by import By
        buttons = [b for b in self.driver.find_elements(By.CSS_SELECTOR, "button")
                   if b.text.strip() == label]
        assert buttons, f"no button '{label}' on {self.driver.current_url}"
        self.click_and_wait(buttons[0])

    def path(self):
        u = self.driver.current_url
        return u[u.index("/", 8):]

    def cookie_header(self):
        return "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())

    def http(self):
        return harness.Http(self.cafile, self.cookie_header())

    def screenshot(self, name, height=900):
        if self.args.screenshots:
            os.makedirs(self.args.screenshots, exist_ok=True)
            # The page down to `height` pixels, beyond the window (Chromium's DevTools).
            import base64
            page_height = int(self.driver.execute_script("return document.body.scrollHeight"))
            width = int(self.driver.execute_script("return document.body.scrollWidth"))
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": min(page_height, height),
                         "scale": 1}})
            with open(os.path.join(self.args.screenshots, name + ".png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))

    # ---- accounts ----
    def accept_invitation(self, link, password):
        self.driver.get(link)  # the link of the mail, as clicked in a mail reader
        self.wait_loaded()
        self.type_into("input[name=password]", password)
        self.type_into("input[name=confirmation]", password)
        self.submit("Créer mon compte")
        check("Inscription terminée" in self.driver.page_source
              or "inscription" in self.driver.page_source.lower(),
              "the invitation page confirms the account")

    def login(self, email, password):
        self.driver.get(self.console.url("/"))  # a person types the address once
        self.wait_loaded()
        check(self.path().startswith("/login"), "an anonymous visitor is sent to the login")
        self.type_into("input[name=email]", email)
        self.type_into("input[name=password]", password)
        self.submit("Se connecter")
        check(self.path() == "/", f"logged in, at home (at {self.path()})")

    def admin(self):
        out = self.console.cli(["users", "add-admin", "--collectivite", "D031", "--email", ADMIN,
                                "--name", "DUBOIS", "--first-name", "Thomas"])
        link = re.search(r"https://\S+/invitation\?token=\S+", out).group(0)
        self.accept_invitation(link, ADMIN_PASSWORD)
        self.login(ADMIN, ADMIN_PASSWORD)

    def logout(self):
        self.submit("Se déconnecter")

    # ---- reading a page ----
    def tables(self):
        """Every table.data of the page as the browser has it (its DOM, serialised once):
        id, caption, rows of body and foot cells (text, classes, state, value, screen-reader
        text)."""
        parser = TableParser()
        parser.feed(self.driver.page_source)
        return parser.tables


class TableParser(html.parser.HTMLParser):
    """table.data elements: for each cell, its text, class, data-state, the text of its
    span.v (the value) and of its span.sr (what a screen reader adds)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.table, self.section, self.row, self.cell = [], None, None, None, None
        self.spans, self.in_caption = [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data" in (a.get("class") or "").split():
            self.table = {"id": a.get("id"), "caption": "", "rows": [], "foot": []}
        elif self.table is None:
            return
        elif tag == "caption":
            self.in_caption = True
        elif tag in ("tbody", "tfoot", "thead"):
            self.section = tag
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = {"text": "", "class": a.get("class") or "", "state": a.get("data-state"),
                         "value": None, "sr": ""}
        elif tag == "span" and self.cell is not None:
            self.spans.append((a.get("class") or "").split())

    def handle_endtag(self, tag):
        if self.table is None:
            return
        if tag == "span" and self.spans:
            self.spans.pop()
        elif tag == "caption":
            self.in_caption = False
        elif tag in ("td", "th") and self.cell is not None:
            c = self.cell
            c["text"] = c["text"].strip()
            c["value"] = (c["value"] if c["value"] is not None else c["text"]).strip()
            c["sr"] = c["sr"].strip()
            self.row.append(c)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.section == "tbody":
                self.table["rows"].append(self.row)
            elif self.section == "tfoot":
                self.table["foot"].append(self.row)
            self.row = None
        elif tag == "table":
            self.tables.append(self.table)
            self.table = None

    def handle_data(self, data):
        if self.in_caption:
            self.table["caption"] += data
        if self.cell is None:
            return
        classes = [c for cl in self.spans for c in cl]
        if "sr" in classes:
            self.cell["sr"] += data
            return  # off screen: not part of the visible text
        self.cell["text"] += data
        if "v" in classes:
            self.cell["value"] = (self.cell["value"] or "") + data


# ---- numbers as the pages write them (docs/console.md#how-each-figure-is-computed) ----
def page_number(text):
    """'1 234' -> 1234, '12,5 %' -> 12.5; None if not a plain number."""
    t = text.replace(NBSP, "").replace(" %", "").replace(",", ".").strip()
    try:
        return float(t)
    except ValueError:
        return None


def expected_text(cell, rate):
    """The text docs/console.md gives each state of a JSON cell."""
    if cell["state"] == "suppressed":
        return "s"
    if cell["state"] == "missing":
        return "—"
    return None  # a number: compared by value


def compare_table(s, shown, api_table, where):
    """A Par établissement table as shown against the API's: same establishments, same cells
    and states; the maxima and minima marked by colour class AND by a cue that is not colour."""
    cols = api_table["columns"]
    check(len(shown["rows"]) == len(api_table["rows"]),
          f"{where}: {len(shown['rows'])} rows shown, API {len(api_table['rows'])}")
    for row, api_row in zip(shown["rows"], api_table["rows"]):
        check(row[0]["text"] == api_row["uai"] and row[1]["text"] == api_row["name"],
              f"{where}: row {row[0]['text']} is {api_row['uai']} in the API")
        for cell, api_cell, col in zip(row[3:3 + len(cols)], api_row["cells"], cols):
            what = f"{where} {api_row['uai']} {col['id']}"
            COUNTS["cells compared with the API"] += 1
            COUNTS["cells " + api_cell["state"]] += 1
            COUNTS["maxima"] += api_cell["max"]
            check(cell["state"] == api_cell["state"], f"{what}: state {cell['state']} "
                  f"shown, {api_cell['state']} in the API")
            want = expected_text(api_cell, col["rate"])
            if want is not None:
                check(cell["value"] == want, f"{what}: '{cell['value']}' shown for "
                      f"{api_cell['state']}, not '{want}'")
            else:
                v = cell["value"]
                if api_cell["state"] == "rounded":
                    check(v.startswith("≈ "), f"{what}: rounded shown without ≈: {v}")
                    v = v[2:]
                n = page_number(v)
                check(n is not None and abs(n - api_cell["value"]) <= (0.05 if col["rate"]
                                                                        or isinstance(
                                                                            api_cell["value"],
                                                                            float) else 0),
                      f"{what}: '{cell['value']}' shown, {api_cell['value']} in the API")
            # Red maxima and green minima, each with a cue that is not colour (RGAA).
            is_max, is_min = "max" in cell["class"].split(), "min" in cell["class"].split()
            check(is_max == api_cell["max"] and is_min == api_cell["min"],
                  f"{what}: max/min marks differ from the API")
            if is_max:
                check(cell["text"].startswith("▲") and "(maximum)" in cell["sr"],
                      f"{what}: a maximum without its ▲ and '(maximum)'")
            if is_min:
                check(cell["text"].startswith("▼") and "(minimum)" in cell["sr"],
                      f"{what}: a minimum without its ▼ and '(minimum)'")
            if not is_max and not is_min:
                check(not cell["text"].startswith(("▲", "▼")), f"{what}: a cue on a plain cell")
    # The rule itself (docs): the largest known value of a column is the maximum, the smallest
    # the minimum; held-back, rounded and missing cells never are; all equal marks nothing.
    for i, col in enumerate(cols):
        known = [(r["cells"][i]["value"], r["cells"][i]) for r in api_table["rows"]
                 if r["cells"][i]["state"] == "known"]
        for r in api_table["rows"]:
            c = r["cells"][i]
            if c["state"] != "known":
                check(not c["max"] and not c["min"], f"{where} {col['id']}: a {c['state']} "
                      "cell marked minimum or maximum")
        values = [v for v, _ in known]
        if len(set(values)) > 1:
            check(all(c["max"] == (v == max(values)) for v, c in known),
                  f"{where} {col['id']}: the maxima are not the largest known values")
            check(all(c["min"] == (v == min(values)) for v, c in known),
                  f"{where} {col['id']}: the minima are not the smallest known values")
        else:
            check(not any(c["max"] or c["min"] for _, c in known),
                  f"{where} {col['id']}: equal values marked")


def compare_page(s, where):
    """The page's tables against /api + the same URL, with the same session."""
    api = s.http().json(s.console.url("/api" + s.path()))
    shown = {t["id"]: t for t in s.tables()}
    if "tables" not in api:
        return api
    for t in api["tables"]:
        if api["page"] == "synthese":
            st = shown.get(t["id"])
            if not check(st is not None, f"{where}: table {t['id']} not shown"):
                continue
            for row, col, total in zip(st["rows"], t["columns"], t["total"]):
                check(row[0]["text"] == col["label"], f"{where}: row {row[0]['text']}")
                want = expected_text(total, col["rate"])
                got = row[1]["value"]
                if want is not None:
                    check(got == want, f"{where} {col['id']}: '{got}' for {total['state']}")
                else:
                    n = page_number(got[2:] if got.startswith("≈ ") else got)
                    check(n is not None and abs(n - total["value"]) <= 0.05,
                          f"{where} {col['id']}: '{got}' shown, {total['value']} in the API")
                check(page_number(row[2]["text"]) == total["excluded"],
                      f"{where} {col['id']}: excluded count")
        else:
            st = shown.get(t["id"])
            if check(st is not None, f"{where}: table {t['id']} not shown"):
                compare_table(s, st, t, where)
    return api


# ---- the oracle (seed.py's report.json) ----
def oracle_hours(s, uais):
    """{(local date, local hour): connections} summed over the bases, as the oracle counted."""
    out = collections.Counter()
    for section in s.report["snapshots"]:
        if section["base"] not in uais:
            continue
        for r in section["hour_connections"]:
            out[(r["date"], int(r["local"].split(":")[0]))] += r["oracle"]  # "08:00 +01:00"
    return out


# ================================================================================ the tests
def login_logout(s):
    s.admin()
    cookies = {c["name"]: c for c in s.driver.get_cookies()}
    session = cookies.get("__Host-sonde_session")
    if check(session is not None, f"a session cookie after the login ({sorted(cookies)})"):
        check(session["secure"], "the session cookie is Secure")
        check(session["httpOnly"], "the session cookie is HttpOnly")
        check(session.get("sameSite") == "Strict", f"SameSite=Strict ({session.get('sameSite')})")
        check("expiry" not in session, "the session cookie ends with the browser")
        check(session.get("path") == "/", "the session cookie's path is /")
    old = s.cookie_header()
    status, _, _ = harness.Http(s.cafile, old).get(s.console.url("/api/menus/connexions/synthese"))
    check(status == 200, f"the API answers with the session ({status})")
    s.logout()
    check(s.path().startswith("/login") or "Se connecter" in s.driver.page_source,
          "after the logout, the login page")
    for path in ("/", "/menus/connexions/synthese", "/api/menus/connexions/synthese",
                 "/csv/menus/connexions/etablissements"):
        status, _, headers = harness.Http(s.cafile, old).get(s.console.url(path))
        check(status in (303, 401) and (status != 303 or headers.get("Location", "")
                                        .endswith("/login")),
              f"the old cookie after logout: {path} -> {status}")
    # The browser itself, given the old cookie back, is at the login again.
    s.driver.get(s.console.url("/login"))
    s.driver.delete_all_cookies()
    s.driver.add_cookie({"name": "__Host-sonde_session", "value": session["value"], "path": "/",
                         "secure": True})
    s.driver.get(s.console.url("/menus/connexions/synthese"))
    check(s.path().startswith("/login"), "the old cookie in the browser leads to the login")


def every_page(s):
    s.admin()
    d031 = [e["uai"] for e in s.seeded["establishments"] if e["collectivite"] == "D031"]
    home = s.tables()
    shown_uais = {r[0]["text"] for t in home if t["id"] == "etablissements" for r in t["rows"]}
    check(shown_uais == set(d031), f"home lists the collectivité's establishments: {shown_uais}")
    check(all("aucune donnée" not in r[3]["text"] for t in home if t["id"] == "etablissements"
              for r in t["rows"]), "every establishment shows 'données au'")
    compare_page(s, "home")
    header_items(s, "home")
    # The accounts per school year (the guide's home, "filtrable par année"): one row per year
    # of the API's per_year, each total as the API has it, the extremes marked as the API says.
    api = s.http().json(s.console.url("/api" + s.path()))
    per_year = {t["id"]: t for t in home}.get("comptes-par-annee")
    if check(per_year is not None and len(api["per_year"]["rows"]) >= 1
             and len(per_year["rows"]) == len(api["per_year"]["rows"]),
             "home: the accounts per school year, one row per year of the API"):
        for row, api_row in zip(per_year["rows"], api["per_year"]["rows"]):
            year = f"{api_row['year']}-{api_row['year'] + 1}"
            check(row[0]["text"] == year, f"home: year {row[0]['text']}, API {year}")
            for cell, api_cell in zip(row[1:], api_row["cells"]):
                COUNTS["per-year cells compared with the API"] += 1
                check(cell["state"] == api_cell["state"], f"home {year}: state {cell['state']}")
                if api_cell["state"] == "known":
                    check(page_number(cell["value"]) == api_cell["value"],
                          f"home {year}: '{cell['value']}' shown, {api_cell['value']} in the API")
                is_max, is_min = "max" in cell["class"].split(), "min" in cell["class"].split()
                check(is_max == api_cell["max"] and is_min == api_cell["min"],
                      f"home {year}: extremes as the API's")
            check(row[-1]["text"] == str(api_row["establishments"]),
                  f"home {year}: {row[-1]['text']} establishments, API {api_row['establishments']}")
    s.screenshot("home")
    nav = [a.text.strip() for a in s.by("nav a")]
    check(all(m in nav for m in MENUS), f"an administrator sees the 7 menus: {nav}")
    menus = [m for m in MENUS if m in nav]
    pages_seen = 0
    for menu in menus:
        s.click_link(menu, "nav")
        page_labels = page_links(s)
        for label in page_labels:
            s.click_link(label, "p.pages")
            where = f"{menu} / {label}"
            compare_page(s, where)
            pages_seen += 1
            tabs = [a.text.strip() for a in s.by("p.tabs a")]
            for tab in tabs[1:]:
                s.click_link(tab, "p.tabs")
                compare_page(s, f"{where} / {tab}")
                pages_seen += 1
            if label == "Par établissement":
                if tabs:
                    s.click_link(tabs[0], "p.tabs")
                if menu == "Connexions":
                    s.screenshot("par-etablissement", 760)
                pages_seen += periods_and_modes(s, where)
                if menu == "Connexions":
                    series_windows(s)
            if label == "Suivi heure par heure":
                hourly(s, d031)
                s.screenshot("suivi-horaire", 640)
            if label == "Suivi journalier":
                daily(s, d031)
    print(f"every_page: {pages_seen} pages opened by clicks and compared")
    connections_last_day(s, d031)
    sorting(s)
    s.click_link("Gestion des utilisateurs", "header")
    header_items(s, "Gestion des utilisateurs")


def header_items(s, where):
    """The header's items are separate (a list, each with its accessible name), not one run of
    text such as "Gestion des utilisateursLogo de la collectivité"."""
    admin = s.by("header nav[aria-label=Administration] li")
    names = [li.text.strip() for li in admin]
    check(names == ["Gestion des utilisateurs", "Logo de la collectivité"],
          f"{where}: the administrator's header items {names}")
    for li in admin:
        links = li.find_elements("css selector", "a")
        check(len(links) == 1 and links[0].accessible_name == li.text.strip(),
              f"{where}: the header link {li.text!r} has its own accessible name")
    text = s.one("header").text
    check(not re.search(r"utilisateursLogo|collectivitéSe|[a-z]Se déconnecter", text),
          f"{where}: the header's words run together: {text!r}")
    check(s.by("header button")[0].accessible_name == "Se déconnecter",
          f"{where}: the logout button's name")
    skip = s.by("body > a.skip")
    check(bool(skip) and skip[0].get_attribute("href").endswith("#contenu")
          and s.by("main#contenu"), f"{where}: a skip link to the main content")
    check(s.driver.find_element("css selector", "html").get_attribute("lang") == "fr"
          and s.driver.title.endswith("Console territoriale") and len(s.driver.title) > 25,
          f"{where}: lang and title ({s.driver.title!r})")


def series_windows(s):
    """A period chosen on Par établissement (the last one of periods_and_modes) does not follow
    the links to Suivi journalier and Suivi heure par heure: they have their own fixed windows,
    the last 4 and 3 weeks (the guide), and say so, not the period."""
    for label, weeks, days in (("Suivi journalier", 4, 28), ("Suivi heure par heure", 3, 21)):
        select_and_show(s, "periode", "annee-derniere")
        check("periode=annee-derniere" in s.path(), f"the period chosen ({s.path()})")
        s.click_link(label, "p.pages")
        check("periode=" not in s.path() and "mode=" not in s.path(),
              f"{label}: the URL carries no period ({s.path()})")
        text = s.one("main").text
        check(f"{weeks} dernières semaines" in text and f"les {days} jours du" in text,
              f"{label}: the page states its window of {days} days")
        check(not any(p in text for p in ("Année scolaire", "Mois en cours", "Mois dernier",
                                          "Dernier jour")), f"{label}: a period shown")
        check(not s.by("select[name=periode]"), f"{label}: a period list on the page")
        hrefs = [a.get_attribute("href") for a in s.by("main a")]
        check(not any("periode=" in h for h in hrefs), f"{label}: a link carries a period on")
        s.click_link("Par établissement", "p.pages")


def sorting(s):
    """A click on a column's title sorts by it, a second click reverses; the title says so."""
    s.click_link("Connexions", "nav")
    s.click_link("Par établissement", "p.pages")
    for clicks, order in ((1, "ascending"), (2, "descending")):
        title = [a for a in s.by("table.data thead a") if a.text.split(" ")[0] == "Total"]
        s.click_and_wait(title[0])  # "Total", then "Total ▲"
        api = compare_page(s, f"sorted by Total ({order})")
        table = api["tables"][0]
        col = [c["id"] for c in table["columns"]].index("total")
        values = [r["cells"][col]["value"] for r in table["rows"]
                  if r["cells"][col]["state"] == "known"]
        check(len(values) > 1 and values == sorted(values, reverse=order == "descending"),
              f"sorted by Total, {order}: {values}")
        th = [h for h in s.by("table.data thead th") if h.text.startswith("Total")]
        check(th and th[0].get_attribute("aria-sort") == order
              and th[0].text.endswith("▲" if order == "ascending" else "▼"),
              f"the Total title says {order}")


def page_links(s):
    """The pages of the current menu (the exports and the JSON are a list of their own)."""
    return [a.text.strip() for a in s.by("p.pages a")]


def select_and_show(s, name, value):
    from selenium.webdriver.support.ui import Select
    Select(s.one(f"select[name={name}]")).select_by_value(value)
    s.submit("Afficher")


def periods_and_modes(s, where):
    from selenium.webdriver.support.ui import Select
    n = 0
    periods = [o.get_attribute("value") for o in s.by("select[name=periode] option")]
    check(periods == ["dernier-jour", "mois-en-cours", "mois-dernier", "annee-en-cours",
                      "annee-derniere"], f"{where}: the periods {periods}")
    for p in periods:
        select_and_show(s, "periode", p)
        check(f"periode={p}" in s.path(), f"{where}: period {p} in the URL")
        api = compare_page(s, f"{where} ({p})")
        check(api["period"] == p, f"{where}: the API's period {api['period']}")
        n += 1
    modes = [o.get_attribute("value") for o in s.by("select[name=mode] option")]
    if modes:
        check(modes == ["valeurs", "taux"], f"{where}: the Valeurs / T% switch {modes}")
        select_and_show(s, "mode", "taux")
        check(Select(s.one("select[name=mode]")).first_selected_option.text == "T%",
              f"{where}: T% selected")
        api = compare_page(s, f"{where} (T%)")
        check(api["mode"] == "taux", f"{where}: T% mode in the API")
        check(all("T%" in t["caption"] for t in s.tables()), f"{where}: the caption says T%")
        select_and_show(s, "mode", "valeurs")
        n += 2
    return n


def hourly(s, uais):
    table = next(t for t in s.tables() if t["id"] == "horaire")
    shown = collections.Counter()
    for r in table["rows"]:
        shown[r[0]["text"]] += page_number(r[1]["value"])
    check(len(s.by("svg")) >= 1, "Suivi heure par heure has its chart")
    api = s.http().json(s.console.url("/api" + s.path()))
    days = {datetime.date.fromisoformat(api["reference_date"]) - datetime.timedelta(days=k)
            for k in range(21)}
    want = collections.Counter()
    for (date, hour), v in oracle_hours(s, uais).items():
        if datetime.date.fromisoformat(date) in days and v:
            dd = datetime.date.fromisoformat(date)
            want[f"{dd.day:02d}/{dd.month:02d}/{dd.year} {hour} h"] += v
    check(sum(want.values()) > 0, "the oracle has connections in the 3 weeks")
    COUNTS["hours compared with the oracle"] += len(want)
    check(dict(want) == shown, f"Suivi heure par heure: {len(shown)} hours shown, oracle "
          f"{len(want)}; differing: "
          f"{sorted(set(want.items()) ^ set(shown.items()))[:6]}")


def daily(s, uais):
    table = next(t for t in s.tables() if t["id"] == "journalier")
    shown = {r[0]["text"]: page_number(r[1]["value"]) for r in table["rows"]}
    check(len(s.by("svg")) >= 2, "Suivi journalier has its two charts")
    per_day = collections.Counter()
    for (date, _), v in oracle_hours(s, uais).items():
        dd = datetime.date.fromisoformat(date)
        per_day[f"{dd.day:02d}/{dd.month:02d}/{dd.year}"] += v
    COUNTS["days compared with the oracle"] += len(shown)
    check(len(shown) == 28, f"Suivi journalier shows 28 days ({len(shown)})")
    bad = [(d, v, per_day.get(d, 0)) for d, v in shown.items() if v != per_day.get(d, 0)]
    check(not bad, f"Suivi journalier: days differing from the oracle (day, page, oracle): "
          f"{bad[:6]}")
    check(sum(v for v in shown.values()) > 0, "Suivi journalier has connections")


def connections_last_day(s, uais):
    """Connexions / Par établissement / Dernier jour: each establishment's total of
    authenticated connections is its local yesterday's, as the oracle counted them."""
    s.click_link("Connexions", "nav")
    s.click_link("Par établissement", "p.pages")
    select_and_show(s, "periode", "dernier-jour")
    api = s.http().json(s.console.url("/api" + s.path()))
    table = api["tables"][0]
    col = [c["id"] for c in table["columns"]].index("total")
    yesterday = (datetime.date.fromisoformat(api["reference_date"])
                 - datetime.timedelta(days=1)).isoformat()
    rows = {r[0]["text"]: r for t in s.tables() for r in t["rows"]}
    for uai in uais:
        want = sum(v for (date, _), v in oracle_hours(s, {uai}).items() if date == yesterday)
        row = rows.get(uai)
        if check(row is not None, f"Dernier jour: {uai} shown"):
            cell = row[3 + col]
            got = page_number(cell["value"])
            COUNTS["last-day totals compared with the oracle"] += 1
            # A day the replay did not reach (the date turned since the seed) has no figure.
            check(got == want or (want == 0 and cell["state"] == "missing"),
                  f"Dernier jour {uai}: {cell['value']} connections shown, oracle {want}")
            check(want > 0 or yesterday > s.seeded_last_day(),
                  f"Dernier jour {uai}: the oracle has connections on {yesterday}")


def csv_cell_text(cell):
    """docs/console.md#csv: a JSON cell as the CSV writes it."""
    if cell["state"] == "suppressed":
        return "s"
    if cell["state"] == "missing":
        return "nd"
    v = cell["value"]
    t = str(v) if isinstance(v, int) else f"{v:.1f}".replace(".", ",")
    return ("≈" + t) if cell["state"] == "rounded" else t


def export_click(s, label, suffix):
    """Clicks an export link as a person does; the file Chromium saved: (name, bytes)."""
    before = set(os.listdir(s.downloads))
    s.click_link(label, "ul.exports", navigates=False)
    name, data = wait_download(s, before, suffix)
    print(f"{label}: {name} ({len(data)} bytes)")
    return name, data


def csv_export(s):
    s.admin()
    held = 0
    # (menu, table tab or None, mode, period): Connexions in T% for decimal figures, Social's
    # Élèves for held-back figures (the plugin holds back the small counts of the replay).
    for label, tab, mode, period in (("Comptes utilisateurs", None, None, None),
                                     ("Connexions", None, "taux", "mois-dernier"),
                                     ("Scolarité", None, None, None),
                                     ("Social", "Élèves", None, "annee-en-cours")):
        s.click_link(label, "nav")
        s.click_link("Par établissement", "p.pages")
        if tab:
            s.click_link(tab, "p.tabs")
        if period:
            select_and_show(s, "periode", period)
        if mode:
            select_and_show(s, "mode", mode)
        shown = s.tables()[0]
        api = s.http().json(s.console.url("/api" + s.path()))
        table = api["tables"][0]
        name, data = export_click(s, "Export CSV", ".csv")
        # The file's name says the page, the period and the day (Content-Disposition).
        check(name.endswith(".csv") and api["reference_date"] in name
              and ("Par établissement" in name or "par-etablissement" in name)
              and any(p in name for p in (period_label_of(api["period"]), api["period"])),
              f"{label}: the CSV's file name {name!r}")
        check(data.startswith(b"\xef\xbb\xbf"), f"{label}: the CSV starts with a BOM")
        text = data[3:].decode("utf-8")
        lines = text.split("\r\n")
        head = lines[0].split(";")
        check(head[:3] == ["UAI", "Nom", "Commune"], f"{label}: the CSV's columns {head[:3]}")
        check(head[3:-1] == [c["label"] + (" (%)" if c["rate"] else "") for c in table["columns"]],
              f"{label}: the CSV's column titles {head[3:]}")
        body = [l.split(";") for l in lines[1:] if l and not l.startswith(";")]
        check(len(body) == len(shown["rows"]) == len(table["rows"]),
              f"{label}: {len(body)} CSV rows, {len(shown['rows'])} on the page")
        decimal = 0
        for csv_row, row, api_row in zip(body, shown["rows"], table["rows"]):
            check(csv_row[:3] == [row[0]["text"], row[1]["text"], row[2]["text"]]
                  == [api_row["uai"], api_row["name"], api_row["commune"]],
                  f"{label}: CSV row {csv_row[:3]}")
            for csv_cell, cell, api_cell in zip(csv_row[3:-1], row[3:-1], api_row["cells"]):
                v = cell["value"]
                want = {"s": "s", "—": "nd"}.get(v)
                if want is None:
                    want = v.replace(NBSP, "").replace(" %", "").replace("≈ ", "≈")
                check(csv_cell == want, f"{label} {row[0]['text']}: CSV '{csv_cell}', page "
                      f"'{v}'")
                check(csv_cell == csv_cell_text(api_cell), f"{label} {row[0]['text']}: CSV "
                      f"'{csv_cell}', API {api_cell}")
                decimal += "," in csv_cell
                held += csv_cell == "s"
                COUNTS["CSV cells compared with the page and the API"] += 1
                check("." not in csv_cell, f"{label}: a decimal point in the CSV: {csv_cell}")
        # The total and the count of establishments left out of it.
        tail = [l.split(";") for l in lines[1:] if l.startswith(";")]
        check(len(tail) == 2 and tail[0][1] == "Total"
              and tail[0][3:3 + len(table["total"])] == [csv_cell_text(c) for c in table["total"]]
              and tail[1][3:3 + len(table["total"])] == [str(c["excluded"])
                                                         for c in table["total"]],
              f"{label}: the CSV's total lines {tail}")
        if label == "Connexions":
            check(decimal > 0, "the T% CSV has decimal commas")
    check(held > 0, f"the CSVs keep the held-back marker 's' ({held} cells)")
    COUNTS["held-back cells in the CSVs"] += held
    # A series: its fixed window in the name, not the period chosen before.
    s.click_link("Connexions", "nav")
    s.click_link("Par établissement", "p.pages")
    select_and_show(s, "periode", "dernier-jour")
    s.click_link("Suivi journalier", "p.pages")
    name, data = export_click(s, "Export CSV", ".csv")
    check("28" in name and "Dernier jour" not in name and "dernier-jour" not in name,
          f"Suivi journalier: the CSV's name {name!r}")
    days = [l for l in data[3:].decode("utf-8").split("\r\n")[1:] if l]
    check(len(days) == 28, f"Suivi journalier: {len(days)} days in the CSV")
    audit = s.console.cli(["audit", "list", "--collectivite", "D031"])
    check(audit.count("export.csv") >= 5, "every CSV export is in the audit log")


def period_label_of(period_id):
    return {"dernier-jour": "Dernier jour", "mois-en-cours": "Mois en cours",
            "mois-dernier": "Mois dernier", "annee-en-cours": "Année scolaire en cours",
            "annee-derniere": "Année scolaire dernière"}.get(period_id, "?")


def wait_download(s, before, suffix):
    """The file Chromium saves in the download directory (hang guard only); renamed afterwards
    so that the next export may come under the same name."""
    deadline = time.monotonic() + 300  # hang guard: a PDF is converted by WeasyPrint first
    while time.monotonic() < deadline:
        new = [n for n in set(os.listdir(s.downloads)) - before
               if not n.endswith((".crdownload", ".tmp", ".read"))]
        if new:
            time.sleep(0.2)
            path = os.path.join(s.downloads, new[0])
            with open(path, "rb") as f:
                data = f.read()
            os.rename(path, path + ".read")
            check(new[0].endswith(suffix), f"downloaded {new[0]!r}, not a {suffix}")
            return new[0], data
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} downloaded")


# ---- PDF (pdftotext -layout, poppler-utils) ----
def pdf_text_pages(s, data):
    path = os.path.join(s.work, "export.pdf")
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    pages = out.split("\f")
    return [p for p in pages if p.strip()]


def squeeze(text):
    return re.sub(r"[\s\u202f\u00a0]+", "", text)


def utc_text(unix):
    t = datetime.datetime.fromtimestamp(unix, datetime.timezone.utc)
    return t.strftime("%d/%m/%Y %H:%M UTC")


def check_pdf_pages(where, pages):
    """"page X / Y" on every page, X its number and Y their count."""
    for i, text in enumerate(pages):
        m = re.findall(r"page (\d+) / (\d+)", text)
        check(m == [(str(i + 1), str(len(pages)))], f"{where}: page {i + 1} numbered {m}")


def pdf_export(s):
    s.admin()
    # Par établissement, a period chosen: the filters, the data date, every figure.
    s.click_link("Demandes de travaux", "nav")
    s.click_link("Par établissement", "p.pages")
    select_and_show(s, "periode", "mois-dernier")
    select_and_show(s, "mode", "taux")
    shown = s.tables()[0]
    api = s.http().json(s.console.url("/api" + s.path()))
    name, data = export_click(s, "Export PDF", ".pdf")
    check(data.startswith(b"%PDF"), "the PDF is a PDF")
    check(api["reference_date"] in name and ("Mois dernier" in name or "mois-dernier" in name)
          and ("Par établissement" in name or "par-etablissement" in name),
          f"the PDF's file name {name!r}")
    pages = pdf_text_pages(s, data)
    check_pdf_pages("Demandes de travaux", pages)
    first = squeeze(pages[0])
    day = datetime.date.fromisoformat(api["reference_date"]).strftime("%d/%m/%Y")
    for words in (f"Période : Mois dernier (jour de référence {day})",
                  f"Établissements : tous ({len(api['establishments'])})", "Affichage : T%",
                  "Données au " + utc_text(max(e["fresh_unix"] for e in api["establishments"]))):
        check(squeeze(words) in first, f"the PDF's first page says {words!r}")
    check("Export CSV" not in "".join(pages) and "Se déconnecter" not in "".join(pages),
          "the PDF has no navigation nor forms")
    lines = [l for p in pages for l in p.splitlines()]
    for row in shown["rows"]:
        line = next((l for l in lines if row[0]["text"] in l), None)
        if check(line is not None, f"the PDF has a line for {row[0]['text']}"):
            want = "".join(squeeze(c["text"]) for c in row[3:-1])
            check(want in squeeze(line), f"the PDF's line of {row[0]['text']}: {line.strip()!r}, "
                  f"the page's figures {want!r}")
            COUNTS["PDF rows compared with the page"] += 1
    # A long table: Suivi heure par heure, over several pages, its header on each.
    s.click_link("Connexions", "nav")
    s.click_link("Suivi heure par heure", "p.pages")
    shown = {r[0]["text"]: r[1]["value"] for r in next(t for t in s.tables()
                                                       if t["id"] == "horaire")["rows"]}
    name, data = export_click(s, "Export PDF", ".pdf")
    pages = pdf_text_pages(s, data)
    check(len(pages) >= 3, f"Suivi heure par heure: {len(pages)} PDF pages")
    check_pdf_pages("Suivi heure par heure", pages)
    check(squeeze("Période : les 21 jours jusqu'au") in squeeze(pages[0]),
          "Suivi heure par heure: its window in the PDF's filters")
    in_pdf = {}
    for i, text in enumerate(pages):
        rows = re.findall(r"^\s*(\d\d/\d\d/\d{4} \d{1,2} h)\s+([\d\u202f\u00a0 ]*\d)\s*$",
                          text, re.M)
        heads = [l for l in text.splitlines() if re.fullmatch(r"\s*Heure\s+Connexions\s*", l)]
        if rows:
            check(len(heads) == 1, f"Suivi heure par heure, PDF page {i + 1}: the table's "
                  f"header {len(heads)} times")
            COUNTS["PDF pages with the table's header"] += 1
        in_pdf.update(rows)
    check({k: squeeze(v) for k, v in in_pdf.items()} == {k: squeeze(v) for k, v in shown.items()},
          f"Suivi heure par heure: {len(in_pdf)} hours in the PDF, {len(shown)} on the page")
    COUNTS["PDF hours compared with the page"] += len(in_pdf)
    audit = s.console.cli(["audit", "list", "--collectivite", "D031"])
    check(audit.count("export.pdf") >= 2, "every PDF export is in the audit log")


def limited_user(s):
    from selenium.webdriver.common.by import By
    s.admin()
    mine, other, foreign = "0310002B", "0310001A", "0310005E"  # foreign: collectivité D074
    s.click_link("Gestion des utilisateurs")
    s.type_into("input[name=name]", "MARTIN")
    s.type_into("input[name=first_name]", "Léa")
    s.type_into("input[name=email]", LIMITED)
    for box in s.by("input[name=uai]"):  # all checked by default: keep one
        if (box.get_attribute("value") != mine) == box.is_selected():
            box.click()
    s.submit("Valider")
    s.click_link("MARTIN Léa")
    granted = []
    for box in s.by("input[name=category]"):  # every widget by default: take some away
        value = box.get_attribute("value")
        if value.startswith(("social", "moyens-generaux/salles", "communications")):
            if box.is_selected():
                box.click()
        elif box.is_selected():
            granted.append(value)
    s.submit("Valider")
    mails = sorted(glob.glob(os.path.join(s.console.data, "outbox", "*.eml")))
    link = None
    for m in mails:
        text = open(m, encoding="utf-8").read()
        if LIMITED in text:
            link = re.search(r"https://\S+/invitation\?token=\S+", text).group(0)
    check(link is not None, "the invitation mail of the new user")
    s.logout()
    s.accept_invitation(link, LIMITED_PASSWORD)
    s.login(LIMITED, LIMITED_PASSWORD)
    nav = [a.text.strip() for a in s.by("nav a")]
    check("Connexions" in nav, "Connexions is always visible")
    check("Social" not in nav and "Communications" not in nav,
          f"the categories taken away are not in the menu: {nav}")
    home = {r[0]["text"] for t in s.tables() if t["id"] == "etablissements" for r in t["rows"]}
    check(home == {mine}, f"the home lists only the user's establishment: {home}")
    check(not s.by("a[href='/gestion/utilisateurs']"), "no user management for a user")
    # Every page they can reach by clicking shows only their establishment.
    for menu in [m for m in MENUS if m in nav]:
        s.click_link(menu, "nav")
        for label in page_links(s):
            s.click_link(label, "p.pages")
            api = compare_page(s, f"limited {menu} / {label}")
            check([e["uai"] for e in api["establishments"]] == [mine],
                  f"limited {menu} / {label}: establishments {api['establishments']}")
            for t in s.tables():
                for r in t["rows"]:
                    check(not re.fullmatch(r"\d{7}[A-Z]", r[0]["text"]) or r[0]["text"] == mine,
                          f"limited {menu} / {label}: row {r[0]['text']}")
            options = [o.get_attribute("value") for o in s.by("select[name=etab] option")]
            check(options in ([], [mine]), f"the establishment filter offers {options}")
            if menu == "Connexions" and label == "Par établissement":
                s.screenshot("utilisateur-limite", 640)
    # Another establishment's figures, anywhere: pages, API, CSV (and PDF if the service has
    # it), of the same collectivité and of another one, by UAI filter; and forbidden menus.
    http = s.http()
    pages = ["/", "/menus/connexions/synthese", "/menus/connexions/etablissements",
             "/menus/connexions/journalier", "/menus/connexions/horaire",
             "/menus/comptes/etablissements", "/menus/scolarite/niveaux"]
    tried = 0
    for uai in (other, foreign):
        for page in pages:
            for prefix in ("", "/api", "/csv", "/pdf"):
                status, body, _ = http.get(s.console.url(f"{prefix}{page}?etab={uai}"))
                tried += 1
                check(status == 403 and uai.encode() not in body,
                      f"limited user, {prefix}{page}?etab={uai}: {status}")
    for page in ("/menus/social/synthese", "/menus/social/etablissements",
                 "/menus/communications/etablissements", "/menus/moyens-generaux/etablissements"
                 "?tableau=salles"):
        for prefix in ("", "/api", "/csv", "/pdf"):
            status, _, _ = http.get(s.console.url(prefix + page))
            tried += 1
            check(status == 403, f"limited user, forbidden category {prefix}{page}: {status}")
    # The browser shows the refusal too.
    s.driver.get(s.console.url(f"/menus/connexions/etablissements?etab={other}"))
    check(other not in s.driver.find_element(By.TAG_NAME, "body").text,
          "the browser shows nothing of the other establishment")
    # Their own CSV holds only their establishment.
    status, body, _ = http.get(s.console.url("/csv/menus/connexions/etablissements"))
    rows = [l.split(";")[0] for l in body.decode("utf-8-sig").split("\r\n")[1:] if l[:1].isdigit()]
    check(status == 200 and rows == [mine], f"the user's CSV has only {mine}: {rows}")
    # The PDF of their own page, downloaded as they would: only their establishment in it.
    s.driver.get(s.console.url("/"))
    s.wait_loaded()
    s.click_link("Connexions", "nav")
    s.click_link("Par établissement", "p.pages")
    _, data = export_click(s, "Export PDF", ".pdf")
    text = "".join(pdf_text_pages(s, data))
    check(mine in text and other not in text and foreign not in text,
          "the user's own PDF holds only their establishment")
    print(f"limited_user: {tried} requests for figures out of reach refused")


TESTS = {"login_logout": login_logout, "every_page": every_page, "csv_export": csv_export,
         "pdf_export": pdf_export, "limited_user": limited_user}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("test", choices=sorted(TESTS))
    p.add_argument("--seed", required=True)
    p.add_argument("--console", required=True)
    p.add_argument("--screenshots")
    args = p.parse_args()
    harness.require_browser()
    if not os.path.exists(os.path.join(args.seed, "seed.json")):
        raise SystemExit(f"no seeded data in {args.seed} (ctest fixture browser:seed)")
    started = time.monotonic()
    s = Session(args, args.test)
    try:
        TESTS[args.test](s)
    except Exception:
        FAILURES.append("exception")
        raise
    finally:
        s.close()
    print(", ".join(f"{k}: {v}" for k, v in sorted(COUNTS.items())))
    print(f"{args.test}: {'FAILED' if FAILURES else 'passed'} in "
          f"{time.monotonic() - started:.1f} s, {len(FAILURES)} failures")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
