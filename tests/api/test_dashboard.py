"""The dashboard in a real headless Chromium against the running system with the demo year.

Each page is loaded fresh, the figures it shows are compared with the API's, and a screenshot
is saved in tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.api.browser import ARGS, ensure_chromium
from tests.api.system import System

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="session")
def chromium() -> str:
    return ensure_chromium()


@pytest.fixture(scope="module")  # Chromium stops with this module, not at the end of the run
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        yield b
        await b.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    p = await context.new_page()
    yield p
    await context.close()


async def api(system: System, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=system.api_url, headers={"Authorization": f"Bearer {system.viewer}"}) as h:
        r = await h.get(f"/api/v1{path}", params=params)
        assert r.status_code == 200, r.text
        return r.json()


async def load(page: Page, system: System, hash_: str, *, lang: str = "zh", token: str | None = None) -> None:
    await page.goto(f"{system.api_url}/dashboard/?token={token or system.viewer}&lang={lang}{hash_}")
    await page.wait_for_selector('#app[data-ready="true"]', timeout=20_000)


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def text(page: Page, selector: str) -> str:
    return (await page.locator(selector).first.inner_text()).strip()


async def test_overview_shows_the_api_figures_in_both_languages(page: Page, demo_system: System) -> None:
    o = await api(demo_system, "/overview")
    await load(page, demo_system, "#/")
    for key, value in (("projects", o["projects"]), ("overdue_projects", o["overdue_projects"]),
                       ("overdue_stages", o["overdue_stages"]), ("key_done", o["key_projects"]["done"])):
        assert await text(page, f'[data-fig="{key}"] .value') == f"{value:,}"
    for c in o["by_category"]:
        assert await text(page, f'[data-cat="{c["key"]}"] .n') == str(c["count"])
    assert await page.locator('[data-table="blockers"] tr[data-blocker]').count() == len(o["open_blockers"])
    permits = await api(demo_system, "/permits", year=2026)
    for k in permits["by_kind"]:
        assert await text(page, f'[data-kind="{k["kind"]}"] [data-col="issued"]') == str(k["issued"])
    assert "建设用地规划许可证" in await text(page, '[data-table="permits"]')
    assert await text(page, '[data-fig="projects"] .label') == "在库项目"
    await shot(page, "overview-zh")
    await page.click("#lang")
    await page.wait_for_selector('[data-fig="projects"] .label:text("Projects")')
    assert "Land-use planning permit" in await text(page, '[data-table="permits"]')
    await shot(page, "overview-en")


async def test_project_page_shows_stages_blockers_and_a_timeline(page: Page, demo_system: System) -> None:
    found = (await api(demo_system, "/projects", q="黄边村"))["items"][0]
    d = await api(demo_system, f"/projects/{found['id']}")
    await load(page, demo_system, f"#/project/{found['id']}")
    assert "黄边村城市更新项目" in await text(page, '[data-fig="project-name"]')
    assert await page.locator('[data-table="stages"] tr[data-stage]').count() == len(d["stages"])
    assert await page.locator('[data-table="project-blockers"] tr[data-blocker]').count() == len(d["blockers"])
    assert await page.locator('[data-fig="timeline"] li').count() == len(d["history"]) + len(d["deadlines"])
    assert await page.locator('[data-fig="timeline"] li.deadline').count() == len(d["deadlines"])
    await shot(page, "project-huangbian")


async def test_ranking_page_matches_the_api(page: Page, demo_system: System) -> None:
    r = await api(demo_system, "/departments/ranking", month="2026-06")
    await load(page, demo_system, "#/ranking?month=2026-06")
    rows = page.locator('[data-table="ranking"] tr[data-dept]')
    assert await rows.count() == len(r["departments"]) > 0
    for i, dept in enumerate(r["departments"]):
        row = rows.nth(i)
        assert await row.get_attribute("data-dept") == dept["department"]
        assert (await row.locator('[data-col="completed"]').inner_text()).strip() == str(dept["completed"])
        assert (await row.locator('[data-col="open_overdue"]').inner_text()).strip() == str(dept["open_overdue"])
    await shot(page, "ranking-2026-06")


async def test_projects_page_and_login(page: Page, demo_system: System) -> None:
    total = (await api(demo_system, "/projects", total="true", overdue="true"))["total"]
    await load(page, demo_system, "#/projects?overdue=true")
    assert await text(page, '[data-fig="total"]') == str(total)
    await shot(page, "projects-overdue")
    await page.evaluate("localStorage.clear()")
    await page.goto(f"{demo_system.api_url}/dashboard/#/")
    await page.fill("#token", "not-a-valid-token-at-all")
    await page.click("#login-form button")
    await page.wait_for_selector("#login-error:text('令牌无效或已撤销')")
    await page.fill("#token", demo_system.viewer)
    await page.click("#login-form button")
    await page.wait_for_selector('#app[data-ready="true"] [data-fig="projects"]')


async def test_projects_page_pages_with_the_cursor(page: Page, demo_system: System) -> None:
    total = (await api(demo_system, "/projects", total="true"))["total"]
    assert total > 50
    await load(page, demo_system, "#/projects")
    rows = page.locator('[data-table="projects"] tr[data-project]')
    assert await rows.count() == 50
    await page.click("#more")
    rows_js = 'document.querySelectorAll(\'[data-table="projects"] tr[data-project]\').length'
    await page.wait_for_function(f"{rows_js} == {total}")
    assert await page.locator("#more").is_hidden()
