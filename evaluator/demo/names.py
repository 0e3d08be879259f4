"""A realistic organization registry for the demo district (示例区).

One district with 8 streets (街道) and 4 towns (镇); communities (社区党委) with grid branches
(…社区第N网格党支部, type community, `parent` = the community), villages (…村党总支),
agency branches (区…局机关党支部, grouped under 区直机关工委), state-owned enterprises
(…集团有限公司党委 and their subsidiaries' branches, under 区国资委), and non-public
enterprises and social organizations (两新组织) located in the streets.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

DISTRICT = "示例区"
STREETS = ("东湖街道", "西城街道", "南岭街道", "北关街道", "新华街道", "滨江街道", "人民路街道", "文昌街道")
TOWNS = ("青山镇", "石桥镇", "梅林镇", "柳溪镇")
AGENCY_SYSTEM = "区直机关工委"
SOE_SYSTEM = "区国资委"

# share of each organization type (community includes its grid branches)
TYPE_SHARES = (("community", 0.35), ("village", 0.25), ("agency", 0.15), ("soe", 0.08), ("nonpublic", 0.17))
GRID_SHARE = 0.55          # of the community share: grid branches under a community

BUREAUS = (
    "区委办公室", "区政府办公室", "区纪委监委", "区委组织部", "区委宣传部", "区委统战部", "区委政法委",
    "区发展和改革局", "区教育局", "区科技和工业信息化局", "区民政局", "区司法局", "区财政局",
    "区人力资源和社会保障局", "区自然资源局", "区住房和城乡建设局", "区交通运输局", "区水务局",
    "区农业农村局", "区商务局", "区文化广电旅游体育局", "区卫生健康局", "区退役军人事务局",
    "区应急管理局", "区审计局", "区市场监督管理局", "区统计局", "区医疗保障局",
    "区城市管理和综合执法局", "区信访局", "区政务服务数据管理局", "区机关事务管理局",
    "区人大常委会", "区政协", "区人民法院", "区人民检察院", "区委党校", "区委机要保密局", "区总工会",
    "团区委", "区妇联", "区科协", "区残联", "区档案馆", "区税务局", "区林业局", "区体育事业发展中心",
    "区融媒体中心", "区疾病预防控制中心", "区公共资源交易中心",
)
SOE_GROUPS = (
    "示例区城市建设投资集团有限公司", "示例区交通投资集团有限公司", "示例区水务集团有限公司",
    "示例区国有资产经营有限公司", "示例区文化旅游发展集团有限公司", "示例区农业发展集团有限公司",
    "示例区产业投资集团有限公司", "示例区公共交通集团有限公司", "示例区粮食储备有限公司",
    "示例区建筑工程集团有限公司",
)
SOE_UNITS = ("综合管理部", "财务资产部", "工程建设部", "运营管理部", "安全生产部", "市场开发部",
             "物业服务分公司", "供应链分公司", "检测中心", "招标采购中心")

_FIRST = "东西南北新金银翠锦华兴安康福瑞永长丰和平明光春秋青碧清龙凤桂荷梅兰竹松柳杏桃云"
_SECOND = "苑园湖桥湾山林泉河塘坊亭门溪坪阳源华丰盛和景"
_VILLAGE_SECOND = "庄屯坝沟营寨店集铺岗圩埠洼峪冲坳桥湾岭坪"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
_VILLAGE_PLACE = "庄湾坪岭沟店营寨坝"
_BRAND = "华中瑞博创睿嘉恒鼎汇众智联迅达信诚正优远新泰宏科天宇航晟昊铭卓越聚盈安宁锐拓凯"
_INDUSTRY = ("科技", "信息技术", "电子", "物流", "建材", "餐饮管理", "生物医药", "新能源", "智能装备",
             "文化传媒", "环保科技", "食品", "网络科技", "精密机械", "供应链管理")
_SOCIAL = ("{b}律师事务所", "{b}会计师事务所", "{b}社会工作服务中心", "{b}养老服务中心", "{b}幼儿园",
           "示例区{t}协会", "示例区{t}商会")
_TRADES = ("个体劳动者", "物流", "餐饮", "建筑业", "家政服务", "物业管理", "电子商务", "中小企业",
           "广告", "汽车维修", "美容美发", "快递", "民宿", "茶叶", "书画", "青年企业家")

_CN = "零一二三四五六七八九"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰海燕文斌"


def person_name(rng: random.Random) -> str:
    """A fictional Chinese personal name (surname plus one or two characters)."""
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def cn_number(n: int) -> str:
    """1 -> 一, 12 -> 十二, 20 -> 二十, 35 -> 三十五; beyond 99 plain digits."""
    if n < 10:
        return _CN[n]
    if n < 20:
        return "十" + (_CN[n % 10] if n % 10 else "")
    if n < 100:
        return _CN[n // 10] + "十" + (_CN[n % 10] if n % 10 else "")
    return str(n)


@dataclass
class Org:
    id: str
    name: str
    type: str
    street: str
    parent: str = ""
    size: int = 10          # party members, drives count fields
    kind: str = ""          # community | grid | village | agency | soe_group | soe_unit | company | social


class _Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def unique(self, make, fallback) -> str:
        for _ in range(40):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        k = 2
        while True:
            name = fallback(k)
            if name not in self.used:
                self.used.add(name)
                return name
            k += 1


def _counts(n: int) -> dict[str, int]:
    counts = {t: int(math.floor(n * share)) for t, share in TYPE_SHARES}
    rest = n - sum(counts.values())
    for t, _ in TYPE_SHARES:          # hand out the remainder in a fixed order
        if rest <= 0:
            break
        counts[t] += 1
        rest -= 1
    return counts


def _log_uniform(rng: random.Random, lo: float, hi: float) -> int:
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def registry(n: int, rng: random.Random) -> list[Org]:
    """`n` organizations, ids SL-0001..; deterministic for a given rng state."""
    counts = _counts(n)
    names = _Names(rng)
    out: list[Org] = []
    streets_all = STREETS + TOWNS

    # communities and their grid branches
    n_comm_total = counts["community"]
    n_grids = int(n_comm_total * GRID_SHARE) if n_comm_total >= 3 else 0
    n_comm = n_comm_total - n_grids
    communities = []
    for _ in range(n_comm):
        street = rng.choice(STREETS) if rng.random() < 0.8 else rng.choice(TOWNS)
        base = names.unique(lambda: rng.choice(_FIRST) + rng.choice(_SECOND),
                            lambda k: rng.choice(_FIRST) + rng.choice(_SECOND) + cn_number(k))
        big = rng.random() < 0.7
        o = Org("", f"{base}社区{'党委' if big else '党总支'}", "community", street,
                size=_log_uniform(rng, 60, 260) if big else _log_uniform(rng, 25, 70), kind="community")
        o._base = base      # type: ignore[attr-defined]
        communities.append(o)
    grids_by_comm: dict[int, int] = {}
    for _ in range(n_grids):
        i = rng.randrange(len(communities))
        grids_by_comm[i] = grids_by_comm.get(i, 0) + 1
    for i, comm in enumerate(communities):
        out.append(comm)
        for k in range(1, grids_by_comm.get(i, 0) + 1):
            g = Org("", f"{comm._base}社区第{cn_number(k)}网格党支部", "community", comm.street,  # type: ignore[attr-defined]
                    size=_log_uniform(rng, 4, 35), kind="grid")
            g._comm = comm  # type: ignore[attr-defined]
            names.used.add(g.name)
            out.append(g)

    # villages, mostly in the towns
    for _ in range(counts["village"]):
        street = rng.choice(TOWNS) if rng.random() < 0.85 else rng.choice(STREETS)

        def make():
            if rng.random() < 0.4:
                return rng.choice(_SURNAMES) + "家" + rng.choice(_VILLAGE_PLACE)
            return (rng.choice("上下大小前后") if rng.random() < 0.25 else "") + rng.choice(_FIRST) + rng.choice(_VILLAGE_SECOND)
        base = names.unique(make, lambda k: rng.choice(_FIRST) + rng.choice(_VILLAGE_SECOND) + cn_number(k))
        size = _log_uniform(rng, 18, 140)
        suffix = "党委" if size >= 100 else ("党总支" if size >= 50 else "党支部")
        out.append(Org("", f"{base}村{suffix}", "village", street, size=size, kind="village"))

    # agency branches: district bureaus (several branches for the bigger ones) and street offices
    units = list(BUREAUS) + [s for s in streets_all]
    per_unit: dict[str, int] = {}
    for i in range(counts["agency"]):
        u = units[i % len(units)] if i < len(units) else rng.choice(units)
        per_unit[u] = per_unit.get(u, 0) + 1
    for u in units:
        k = per_unit.get(u, 0)
        street = u if u in streets_all else AGENCY_SYSTEM
        for j in range(1, k + 1):
            which = "" if k == 1 else f"第{cn_number(j)}"
            name = f"{u}机关{which}党支部"
            names.used.add(name)
            out.append(Org("", name, "agency", street, size=_log_uniform(rng, 6, 45), kind="agency"))

    # state-owned enterprises: group committees and subsidiary branches
    n_soe = counts["soe"]
    n_groups = min(len(SOE_GROUPS), max(1, n_soe // 12)) if n_soe else 0
    groups = []
    for g in SOE_GROUPS[:n_groups]:
        o = Org("", f"{g}党委", "soe", SOE_SYSTEM, size=_log_uniform(rng, 120, 420), kind="soe_group")
        o._group = g  # type: ignore[attr-defined]
        groups.append(o)
    subs: dict[int, list[Org]] = {i: [] for i in range(len(groups))}
    for _ in range(n_soe - n_groups):
        i = rng.randrange(len(groups))
        g = groups[i]._group  # type: ignore[attr-defined]

        def make(g=g):
            if rng.random() < 0.5:
                return f"{g}{rng.choice(SOE_UNITS)}党支部"
            place = rng.choice(STREETS + TOWNS).removesuffix("街道").removesuffix("镇")
            return f"{g}{place}分公司党支部"
        name = names.unique(make, lambda k, g=g: f"{g}第{cn_number(k)}项目部党支部")
        subs[i].append(Org("", name, "soe", SOE_SYSTEM, size=_log_uniform(rng, 8, 60), kind="soe_unit"))
    for i, g in enumerate(groups):
        out.append(g)
        for s in subs[i]:
            s._parent = g  # type: ignore[attr-defined]
            out.append(s)

    # non-public enterprises and social organizations
    for _ in range(counts["nonpublic"]):
        street = rng.choice(STREETS) if rng.random() < 0.85 else rng.choice(TOWNS)
        if rng.random() < 0.72:
            def make():
                b = rng.choice(_BRAND) + rng.choice(_BRAND)
                return f"{b}{rng.choice(_INDUSTRY)}有限公司"
            base = names.unique(make, lambda k: f"{rng.choice(_BRAND)}{rng.choice(_BRAND)}{rng.choice(_INDUSTRY)}第{cn_number(k)}有限公司")
            kind = "company"
        else:
            def make():
                return rng.choice(_SOCIAL).format(b=rng.choice(_BRAND) + rng.choice(_BRAND), t=rng.choice(_TRADES))
            base = names.unique(make, lambda k: f"示例区{rng.choice(_TRADES)}第{cn_number(k)}协会")
            kind = "social"
        size = _log_uniform(rng, 2, 30)
        joint = size < 3
        out.append(Org("", f"{base}{'联合' if joint else ''}党支部", "nonpublic", street, size=size, kind=kind))

    # ids in registry order; parents point at ids
    width = max(4, len(str(len(out))))
    for i, o in enumerate(out, start=1):
        o.id = f"SL-{i:0{width}d}"
    for o in out:
        if o.kind == "grid":
            o.parent = o._comm.id  # type: ignore[attr-defined]
        elif o.kind == "soe_unit":
            o.parent = o._parent.id  # type: ignore[attr-defined]
    return out
