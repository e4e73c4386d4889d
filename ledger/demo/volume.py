"""The year's volume around the seed cases: about sixty site-selection opinions, 35 land-use planning
permits (107.04万㎡ of land), 25 engineering permits (120.9万㎡ of floor area) — Gongyi's year in seed 003 —
plus continuing projects, rural permits, blockers, suspensions, extensions and withdrawals.
"""

from __future__ import annotations

import datetime as dt
import random

from ledger.demo.chain import continuing_chain, new_chain
from ledger.demo.script import Script, key_project

START, END = dt.date(2026, 1, 5), dt.date(2026, 11, 20)
LAND_TOTAL, FLOOR_TOTAL = 1_070_400.00, 1_209_000.00
# new projects by how far they get: 10 reach registration, 15 the engineering permit, 10 the land-use
# planning permit, 12 land approval, 13 site selection, 6 still in site selection
DEPTHS = [5] * 10 + [4] * 15 + [3] * 10 + [2] * 12 + [1] * 13 + [0] * 6
NEED_DAYS = {0: 5, 1: 15, 2: 60, 3: 75, 4: 100, 5: 150}  # calendar days a depth needs, holidays included
STATIONS = ("鹤龙街", "钟落潭镇", "江高镇", "太和镇", "人和镇", "均禾街", "嘉禾街", "京溪街", "石井街", "永平街",
            "金沙街")
THINGS = ("智能制造产业园", "冷链物流中心", "安置房", "九年一贯制学校", "社区卫生服务中心", "污水处理厂提标改造",
          "商业综合体", "生物医药基地", "城中村改造", "市政道路工程", "湿地公园", "新能源汽车零部件厂房", "数据中心")
COMPANIES = ("广州白云投资集团有限公司", "广州市云城置业有限公司", "广州空港实业有限公司", "广州白云城市更新有限公司",
             "广州粤嘉智造科技有限公司", "广东华南冷链物流有限公司", "广州市白云区教育局", "广州市白云区卫生健康局")
GOV_CAUSES = (("land_reserve_unfinished", "土地储备中心", "收储补偿协议未签完"),
              ("land_not_cleared", "鹤龙街道办事处", "地块内仍有厂房未拆除，未达净地"),
              ("red_line_unstable", "规划编制科", "规划红线与道路规划冲突待调整"),
              ("land_approval_slow", "用途管制科", "用地报批材料退回补正"))
ENT_CAUSES = (("weak_willingness", "企业拿地意愿不强，观望市场"), ("investment_plan_changed", "企业调整投资计划"),
              ("insufficient_funds", "企业资金不足，土地出让金未落实"))


def split(rng: random.Random, total: float, n: int) -> list[float]:
    """n areas summing to exactly `total` (to the cent)."""
    weights = [rng.uniform(0.4, 2.0) for _ in range(n)]
    cents = [round(total * 100 * w / sum(weights)) for w in weights]
    cents[-1] += round(total * 100) - sum(cents)
    return [c / 100 for c in cents]


def volume(rng: random.Random, prefix: str) -> list[Script]:
    depths = list(DEPTHS)
    rng.shuffle(depths)
    lands = iter(split(rng, LAND_TOTAL, sum(d >= 3 for d in depths)))
    floors = iter(split(rng, FLOOR_TOTAL, sum(d >= 4 for d in depths)))
    scripts: list[Script] = []
    for i, depth in enumerate(depths, start=1):
        station = STATIONS[i % len(STATIONS)]
        span = (END - START).days - NEED_DAYS[depth]
        s = Script(project_id=f"{prefix}-{i:04d}", actor_office=f"白云区政务服务中心规划窗口（{station}）",
                   day=START + dt.timedelta(days=rng.randint(0, max(0, span))) if depth else
                   END - dt.timedelta(days=rng.randint(3, 45)), end=END)
        land = next(lands) if depth >= 3 else None
        floor = next(floors) if depth >= 4 else None
        key = (depth >= 4 and rng.random() < 0.7) or (depth in (1, 2) and rng.random() < 0.3)
        missing = ["土地权属证明"] if rng.random() < 0.2 else []
        s.submit(name=f"白云区{station}{rng.choice(THINGS)}项目", enterprise=rng.choice(COMPANIES), district="白云区",
                 station=f"白云区{station}规划所", track="new", initiated=rng.random() < 0.6,
                 land_area_m2=land, floor_area_m2=floor, missing_documents=missing,
                 key_project=key_project("白云区副区长", "白云区规划和自然资源局重点项目专班",
                                         "年内完成规划报建") if key else None)
        if depth == 0 and i % 3 == 0:
            s.after(1).suspend("site_selection", "组织专家评审，评审时间不计入办理时限")
            if i % 2:
                s.after(rng.randint(3, 8)).resume("site_selection")
        elif depth == 0 and i % 5 == 1:
            s.after(2).withdraw("申请人调整选址，撤回申请")
            scripts.append(s)
            continue
        troubled = depth in (1, 2) and (i % 2 == 0 or i % 3 == 0 or i % 5 == 0)
        new_chain(s, rng, depth, land=land, floor=floor, missing=missing, waiting=troubled or rng.random() < 0.2)
        troubles(s, rng, depth, i)
        scripts.append(s)
    for i in range(1, 9):
        s = Script(project_id=f"{prefix}-C{i:03d}", actor_office="白云区政务服务中心规划窗口",
                   day=START + dt.timedelta(days=rng.randint(0, 200)), end=END)
        s.submit(name=f"白云区{STATIONS[i]}{rng.choice(THINGS)}（续建）", enterprise=rng.choice(COMPANIES),
                 district="白云区", station=f"白云区{STATIONS[i]}规划所", track="continuing")
        continuing_chain(s, rng, (0, 1, 1, 2, 2, 2, 1, 0)[i - 1])
        scripts.append(s)
    return scripts


def troubles(s: Script, rng: random.Random, depth: int, i: int) -> None:
    """Blockers and extensions where a project is stuck (land approval or land supply still running)."""
    if depth not in (1, 2):
        return
    stage = "land_use_approval" if depth == 1 else "land_supply"
    if i % 2 == 0:
        cause, department, text = GOV_CAUSES[i % len(GOV_CAUSES)]
        s.blocker(f"g{i}", "government", cause, department, rng.randint(8, 25), text,
                  goal="限期解决并销号", stage=stage)
        if i % 4 == 0:
            s.after(rng.randint(5, 15)).resolve(f"g{i}", "专班协调解决，已销号")
    elif i % 3 == 0:
        cause, text = ENT_CAUSES[i % len(ENT_CAUSES)]
        s.blocker(f"e{i}", "enterprise", cause, "白云区投资促进局", None, text, stage=stage)
    elif i % 5 == 0 and depth == 1:
        s.extend("land_use_approval", 5, "用地报批涉及跨部门会审，延长办理时限")
