"""The cases the seed reports tell, as scripts (dates in 2026; the reports' own years differ).

- 黄边村城市更新项目 (seed 000, 白云区鹤龙街): urban renewal, a key project; the red line is
  disputed until the road plan is adjusted, then land approval and supply go through.
- 机场高速改扩建工程 中铁隧道局SG03 临时用地 (seed 000): temporary land for the works, fast-tracked.
- 誉诚金福禽蛋专业合作社 设施农用地 (seed 000, 钟落潭镇): facility farmland, rural permit.
- 三全食品综合基地四期 (seed 002, 郑州惠济): an old case; the engineering permit is finally issued.
- 天立旗舰(国际)学校 (seed 004, 资阳): consultation, expert review (clock suspended), then site selection.
"""

from __future__ import annotations

import datetime as dt

from ledger.demo.script import Script, key_project
from ledger.demo.volume import END


def cases(prefix: str) -> list[Script]:
    def script(n: int, office: str, day: dt.date, bureau: str = "广州市规划和自然资源局白云区分局") -> Script:
        return Script(project_id=f"{prefix}-K{n:02d}", actor_office=office, day=day, end=END, bureau=bureau)

    huangbian = script(1, "白云区政务服务中心规划窗口 李敏", dt.date(2026, 1, 12))
    huangbian.submit(name="黄边村城市更新项目", enterprise="广州市白云区鹤龙街黄边经济联合社", district="白云区",
                     station="白云区鹤龙街规划和自然资源所", track="new", project_kind="urban_renewal",
                     initiated=True, land_area_m2=36821.45, floor_area_m2=98500.0,
                     key_project=key_project("白云区副区长 陈志刚", "白云区规划和自然资源局用地科",
                                             "2026年6月底前完成供地，9月底前取得建设工程规划许可证"))
    huangbian.after(2).blocker("redline", "government", "red_line_unstable", "规划编制科", 15,
                               "更新单元红线与规划道路冲突", goal="调整道路规划，稳定规划红线", stage="site_selection")
    huangbian.after(2).suspend("site_selection", "红线调整期间组织专家论证")
    huangbian.after(12).resume("site_selection")
    huangbian.after(0).resolve("redline", "道路规划调整方案经区规委会审议通过，红线稳定")
    huangbian.after(2).passed("site_selection", "site_selection_opinion", source="permits")
    huangbian.after(1).open("land_use_approval").open("planning_conditions", source="permits")
    huangbian.after(0).passed("planning_conditions", "planning_conditions_notice", source="permits")
    huangbian.after(16).passed("land_use_approval", "land_use_approval_reply")
    huangbian.after(1).open("land_supply")
    huangbian.after(3).passed("land_supply", "land_use_planning_permit", source="permits", land=36821.45)
    huangbian.after(1).open("planning_permit", source="permits")
    huangbian.after(2).blocker("funds", "enterprise", "insufficient_funds", "白云区投资促进局", None,
                               "村集体改造资金分期到位，施工图设计暂缓", stage="planning_permit")

    airport = script(2, "白云区政务服务中心规划窗口 王涛", dt.date(2026, 3, 2))
    airport.submit(name="机场高速改扩建工程（SG03标段）临时用地", enterprise="中铁隧道局集团有限公司",
                   district="白云区", station="白云区人和镇规划和自然资源所", track="new",
                   project_kind="temporary_land", land_area_m2=52000.0,
                   key_project=key_project("白云区副区长 陈志刚", "白云区规划和自然资源局用途管制科",
                                           "开工前完成临时用地审批"))
    airport.after(2).passed("site_selection", "site_selection_opinion", source="permits")
    airport.after(1).open("land_use_approval").open("planning_conditions", source="permits")
    airport.after(0).passed("planning_conditions", "planning_conditions_notice", source="permits")
    airport.after(9).passed("land_use_approval", "land_use_approval_reply")
    airport.after(1).open("land_supply")
    airport.after(2).passed("land_supply", "land_use_planning_permit", source="permits", land=52000.0)

    poultry = script(3, "白云区钟落潭镇规划和自然资源所 张华", dt.date(2026, 4, 7))
    poultry.submit(name="誉诚金福禽蛋专业合作社设施农用地", enterprise="广州市白云区誉诚金福禽蛋专业合作社",
                   district="白云区", station="白云区钟落潭镇规划和自然资源所", track="new", project_kind="rural",
                   land_area_m2=8600.0, missing_documents=["设施农用地备案表"])
    poultry.after(2).supply(["设施农用地备案表"], "rural_permit")
    poultry.after(3).passed("rural_permit", "rural_planning_permit", source="permits", land=8600.0)

    sanquan = script(4, "郑州市惠济区政务服务中心 刘雅静", dt.date(2026, 5, 11), "郑州市自然资源和规划局惠济分局")
    sanquan.submit(name="三全食品综合基地四期项目", enterprise="三全食品股份有限公司", district="惠济区",
                   station="郑州市自然资源和规划局惠济分局", track="continuing", floor_area_m2=98500.0,
                   key_project=key_project("惠济分局局长", "惠济分局规划科", "专人跟踪，一个月内办结"))
    sanquan.after(3).blocker("history", "government", "other", "惠济分局规划科", 20, "历史遗留手续不全",
                             cause_text="历史遗留问题：早年建设手续不全",
                             goal="寻求上级政策支持，完善手续", stage="land_guarantee")
    sanquan.after(15).resolve("history", "上级政策支持到位，手续完善")
    sanquan.after(1).passed("land_guarantee", "land_guarantee_record")
    sanquan.after(2).open("planning_condition_verification", source="permits")
    sanquan.after(4).passed("planning_condition_verification", "planning_verification_opinion", source="permits")

    tianli = script(5, "资阳市城乡规划管理局 规划引导员", dt.date(2026, 4, 10), "资阳市城乡规划管理局")
    tianli.submit(name="天立旗舰（国际）学校", enterprise="四川天立教育投资有限公司", district="雁江区",
                  station="资阳市城乡规划管理局", track="new", project_kind="education", initiated=True,
                  key_project=key_project("资阳市副市长", "资阳市城乡规划管理局规划科", "提前介入，要件齐备即办"))
    tianli.after(1).suspend("site_selection", "4月12日组织专家评审（无人机航拍选址）")
    tianli.after(3).resume("site_selection")
    tianli.after(0).passed("site_selection", "site_selection_opinion", source="permits")
    tianli.after(1).open("land_use_approval")
    return [huangbian, airport, poultry, sanquan, tianli]
