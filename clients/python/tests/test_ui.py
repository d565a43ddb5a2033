"""The web page at ``/ui`` in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``scripts/install-browser.sh``) driven through Selenium against a
real server holding three of the Audi sustainability reports (from ``../shared/data``, or
``$CHRONORAG_UI_CORPUS``; without them, three built-in yearly reports of the same shape).

Screenshots of every view go to ``$CHRONORAG_UI_SHOTS`` (default ``<repo>/target/ui-screenshots``);
the README's are copies of these.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from chronorag import Client

from .conftest import REPO_DIR, Server
from .test_auth import create_key

CORPUS = Path(
    os.environ.get(
        "CHRONORAG_UI_CORPUS", REPO_DIR.parent / "shared" / "data" / "time-longqa" / "corpus"
    )
)
YEARS = (2018, 2019, 2020)


def corpus() -> Dict[str, Any]:
    """Three Audi reports when the Time-LongQA data set is beside the repository; else three
    built-in yearly reports of the same shape, so the test runs (never skips) on any machine."""
    if CORPUS.is_dir():
        docs = [
            {"id": f"audi-sustainability-{y}.md", "time": str(y),
             "text": (CORPUS / f"audi-sustainability-{y}.md").read_text()}
            for y in YEARS
        ]
        return {"docs": docs, "entity": "Audi", "subject": "Audi's",
                "cite": "audi-sustainability-2019.md"}
    print(f"test_ui: no Time-LongQA corpus at {CORPUS}; using the built-in yearly reports")
    docs = []
    for y in YEARS:
        lines = [
            f"In Q{q} {y}, Acme Corp reported CO2 emissions of {100 + 10 * q + y % 7} thousand "
            f"tonnes at its Ohio plant, and Acme Corp delivered {2000 + 100 * q + y % 13} cars."
            for q in range(1, 5)
        ]
        lines.append(f"In {y}, Acme Corp employed {9000 + y % 50} people. Jane Doe led Acme Corp "
                     f"in {y}, and Acme Corp partnered with Globex Corporation in {y}.")
        docs.append({"id": f"acme-report-{y}.md", "time": str(y), "text": " ".join(lines)})
    return {"docs": docs, "entity": "Acme", "subject": "Acme Corp's",
            "cite": "acme-report-2019.md"}
SHOTS = Path(os.environ.get("CHRONORAG_UI_SHOTS", REPO_DIR / "target" / "ui-screenshots"))


def _find(names: tuple) -> str:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    pytest.fail(
        f"none of {names} is on the PATH: run scripts/install-browser.sh (Debian's chromium and "
        "chromium-driver)",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def audi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """A server with three yearly reports (2018-2020) ingested in one transaction, summarised."""
    c = corpus()
    base = tmp_path_factory.mktemp("ui")
    srv = Server(base / "data")
    client = Client(srv.url, namespace="audi", timeout=300)
    r = client.ingest(c["docs"], reason="three yearly reports", wait=True)
    client.summarize()
    yield {"server": srv, "client": client, "tx": r.tx, **c}
    client.close()
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = _find(("chromium", "chromium-browser"))
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,800"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(_find(("chromedriver",))), options=opts)
    driver.set_window_size(1280, 800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait(driver: webdriver.Chrome, pred: Callable[[webdriver.Chrome], Any], what: str,
         timeout: float = 30) -> Any:
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(pred)
    except TimeoutException:
        logs = driver.execute_script("return document.body.innerText.slice(0, 2000)")
        pytest.fail(f"timed out waiting for {what}; page text:\n{logs}", pytrace=False)


def text(driver: webdriver.Chrome, id: str) -> str:
    return driver.find_element(By.ID, id).text


def tab(driver: webdriver.Chrome, name: str) -> None:
    driver.find_element(By.ID, f"tab-{name}").click()


def test_ui_walkthrough_in_a_real_browser(audi: Dict[str, Any], browser: webdriver.Chrome) -> None:
    d, url, client = browser, audi["server"].url, audi["client"]
    d.get(url + "/")  # the root redirects to the page
    assert d.current_url == url + "/ui"
    assert d.title == "ChronoRAG"

    # Timeline: one bar per year with facts (the reports also state facts about other years),
    # labelled with its fact count; a click opens the year.
    root = client.timeline()
    assert {"2018", "2019", "2020"} <= {c.node for c in root.children}
    wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#bars .bar")) == len(root.children),
         "year bars")
    labels = [b.get_attribute("aria-label") for b in d.find_elements(By.CSS_SELECTOR, "#bars .bar")]
    assert labels == [f"{c.label}: {c.fact_count} facts" for c in root.children]
    d.save_screenshot(str(SHOTS / "timeline.png"))
    d.find_element(By.CSS_SELECTOR, '#bars .bar[data-node="2019"]').click()
    wait(d, lambda d: text(d, "node").startswith("2019"), "the 2019 node")
    year = client.timeline("2019")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, f'#top-facts li[data-fact="{year.facts[0].id}"]'),
         "2019's top fact")
    assert year.summary is not None and year.summary.title in text(d, "node")
    quarters = d.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert [q.get_attribute("data-node") for q in quarters] == [c.node for c in year.children]
    d.save_screenshot(str(SHOTS / "timeline-2019.png"))

    # Entity: search, open, facts on a time axis and the neighbourhood graph.
    tab(d, "entity")
    box = d.find_element(By.ID, "entity-q")
    box.send_keys(audi["entity"], Keys.ENTER)
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#entity-list button.ent"), "entity hits")
    first = d.find_element(By.CSS_SELECTOR, "#entity-list button.ent")
    name = first.text
    first.click()
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#entity-view h2"), "the entity view")
    view = text(d, "entity-view")
    assert view.startswith(name)
    assert d.find_elements(By.CSS_SELECTOR, "#entity-view svg rect"), "no fact on the time axis"
    d.save_screenshot(str(SHOTS / "entity.png"))

    # Ask: the plan, ranked passages and the cited context with document links.
    tab(d, "ask")
    question = f"What were {audi['subject']} CO2 emissions in 2019?"
    d.find_element(By.ID, "q").send_keys(question)
    d.find_element(By.ID, "q-budget").clear()
    d.find_element(By.ID, "q-budget").send_keys("4000")
    d.find_element(By.CSS_SELECTOR, "#ask-form button[type=submit]").click()
    wait(d, lambda d: d.find_elements(By.ID, "context"), "the context")
    ctx = text(d, "context")
    assert f"[{audi['cite']} · 2019]" in ctx
    assert audi["cite"].replace("2019", "2018") not in ctx, "the hard 2019 scope leaked"
    plan = text(d, "plan")
    assert "2019" in plan and "hard" in plan
    expected = client.query(question, budget_chars=4000)
    # Exactly the server's context, citations turned into links and nothing else changed.
    assert d.find_element(By.ID, "context").get_attribute("textContent") == expected.context
    link = d.find_element(By.CSS_SELECTOR, "#context a.doc")
    d.save_screenshot(str(SHOTS / "ask.png"))
    link.click()
    wait(d, lambda d: d.find_element(By.ID, "docview").is_displayed(), "the cited document")
    assert audi["cite"] in text(d, "docview")
    d.find_element(By.ID, "doc-close").send_keys(Keys.ESCAPE)
    wait(d, lambda d: not d.find_element(By.ID, "docview").is_displayed(), "the document to close")

    # As of: retract 2019's top fact; the timeline drops it, and the slider brings it back.
    gone = year.facts[0]
    retract_tx = client.retract_fact(gone.id, reason="ui test").tx
    d.refresh()
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '#bars .bar[data-node="2019"]'), "years")
    d.find_element(By.CSS_SELECTOR, '#bars .bar[data-node="2019"]').click()
    wait(d, lambda d: text(d, "node").startswith("2019") and d.find_elements(By.ID, "top-facts"),
         "the 2019 node after the retraction")
    shown = f'#top-facts li[data-fact="{gone.id}"]'
    assert not d.find_elements(By.CSS_SELECTOR, shown)
    slider = d.find_element(By.ID, "asof")
    assert slider.get_attribute("max") == str(retract_tx)
    slider.send_keys(Keys.ARROW_LEFT)  # keyboard: one transaction back
    wait(d, lambda d: text(d, "asofv") == f"tx {retract_tx - 1}", "the slider")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, shown), "the retracted fact as of before")
    assert gone.description in d.find_element(By.CSS_SELECTOR, shown).text
    d.save_screenshot(str(SHOTS / "as-of.png"))
    slider.send_keys(Keys.END)
    wait(d, lambda d: not d.find_elements(By.CSS_SELECTOR, shown), "the latest state again")

    # History: transactions, audit status, and the diff of the retraction.
    tab(d, "history")
    wait(d, lambda d: "verified" in text(d, "audit"), "the audit status")
    rows = d.find_elements(By.CSS_SELECTOR, "#tx-list tr")
    assert len(rows) == 1 + retract_tx
    assert "ui test" in rows[1].text and "retract" in rows[1].text
    d.find_element(By.CSS_SELECTOR, f'.pick[value="{retract_tx}"]').click()
    d.find_element(By.ID, "diff-btn").click()
    wait(d, lambda d: d.find_elements(By.ID, "diff-card"), "the diff")
    diff = text(d, "diff-card")
    retracted = diff.split("Retracted", 1)[1].split("Updated", 1)[0]
    assert f"fact {gone.id}" in retracted
    d.save_screenshot(str(SHOTS / "history.png"))

    # Revert from the page (reason prompt, then confirmation): the fact is back.
    d.find_element(By.CSS_SELECTOR, f'button.revert[data-tx="{retract_tx}"]').click()
    d.switch_to.alert.send_keys("undo the ui test")
    d.switch_to.alert.accept()
    d.switch_to.alert.accept()
    wait(d, lambda d: "done as transaction" in text(d, "diff"), "the revert")
    assert client.fact(gone.id).status == "active"

    # Phone width: nothing wider than the screen.
    d.set_window_size(390, 844)
    tab(d, "timeline")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#bars .bar"), "bars at phone width")
    over = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert over <= 1, f"the page is {over} px wider than a phone screen"
    d.save_screenshot(str(SHOTS / "phone.png"))
    d.set_window_size(1280, 800)


def test_ui_with_auth_asks_for_a_key_and_keeps_it_in_the_tab(
    tmp_path: Path, audi: Dict[str, Any], browser: webdriver.Chrome
) -> None:
    keys = tmp_path / "keys.toml"
    key = create_key(keys, "viewer", "read")
    writer = create_key(keys, "w", "write")
    srv = Server(tmp_path / "data", serve_args=["--auth", str(keys)])
    try:
        Client(srv.url, api_key=writer, namespace="notes").ingest(
            [{"id": "n1", "time": "2021-03-04", "text": "In March 2021, Acme Corp opened a lab."}]
        )
        d = browser
        d.get(srv.url + "/ui")  # the page itself needs no key
        wait(d, lambda d: "enter a key" in text(d, "status"), "the key prompt")
        d.find_element(By.ID, "key").send_keys(key, Keys.TAB)  # change event
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '#bars .bar[data-node="2021"]'),
             "the namespace behind the key")
        stored = d.execute_script("return sessionStorage.getItem('chronorag-key')")
        assert stored == key
        d.refresh()  # kept for the tab
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, '#bars .bar[data-node="2021"]'),
             "the namespace after a reload")
    finally:
        srv.stop()
