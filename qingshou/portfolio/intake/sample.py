"""A deterministic synthetic placement file (for tests, the benchmark and demos). Only synthetic data."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta

from qingshou.core.idnumbers import make

HEADERS = [
    "客户姓名", "证件号码", "手机号码", "卡号/合同号", "产品", "逾期天数", "账龄", "欠款总额", "本金", "利息", "滞纳金",
    "其他费用", "委案日期", "退案日期", "家庭地址", "户籍地址", "单位名称", "单位地址", "单位电话",
    "联系人1姓名", "联系人1关系", "联系人1电话", "联系人2姓名", "联系人2关系", "联系人2电话",
    "最后还款日期", "最后还款金额", "城市", "邮箱", "备注",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉鹏飞"
CITIES = [("110101", "北京市东城区", "010"), ("310104", "上海市徐汇区", "021"), ("440106", "广州市天河区", "020"),
          ("440305", "深圳市南山区", "0755"), ("330106", "杭州市西湖区", "0571"), ("510107", "成都市武侯区", "028"),
          ("420106", "武汉市武昌区", "027"), ("320102", "南京市玄武区", "025")]
RELATIONS = ["配偶", "父亲", "母亲", "兄弟", "姐妹", "同事", "朋友", "子女"]
PRODUCTS = ["信用卡", "消费贷", "现金贷", "车贷"]
MOBILE_PREFIXES = ["138", "139", "136", "137", "150", "151", "158", "186", "187", "188", "135", "159"]


def _name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _mobile(rng):
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def rows(n: int, *, seed: int = 3, start: int = 0, account_prefix: str = "62258"):
    """Yield n rows (lists of 30 strings, see HEADERS); the same seed gives the same rows."""
    rng = random.Random(seed)
    base = date(2026, 1, 5)
    for i in range(start, start + n):
        region, city, area = CITIES[i % len(CITIES)]
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(14000))
        principal = rng.randrange(100000, 5000000)
        interest = principal * rng.randrange(3, 15) // 100
        late = rng.randrange(0, 50000)
        other = rng.randrange(0, 5000)
        total = principal + interest + late + other
        dpd = rng.randrange(1, 720)
        bucket = "M7+" if dpd > 180 else f"M{(dpd - 1) // 30 + 1}"
        placed = base + timedelta(days=i % 28)
        last_paid = placed - timedelta(days=dpd + rng.randrange(1, 30))
        yield [
            _name(rng), make(region, born, rng.randrange(1000)), _mobile(rng), f"{account_prefix}{i:011d}",
            PRODUCTS[i % 4], str(dpd), bucket, f"{total / 100:.2f}", f"{principal / 100:.2f}",
            f"{interest / 100:.2f}", f"{late / 100:.2f}", f"{other / 100:.2f}", placed.isoformat(),
            (placed + timedelta(days=90)).isoformat(), f"{city}幸福路{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋",
            f"{city}和平街{rng.randrange(1, 999)}号", f"{city[:3]}某某科技有限公司",
            f"{city}科技园{rng.randrange(1, 99)}号",
            f"{area}{rng.randrange(2, 9)}{rng.randrange(10**6, 10**7):07d}"[: len(area) + 8],
            _name(rng), rng.choice(RELATIONS), _mobile(rng), _name(rng), rng.choice(RELATIONS), _mobile(rng),
            last_paid.isoformat(), f"{rng.randrange(100, 500000) / 100:.2f}", city[:3], f"u{i}@example.com", "",
        ]


def write_csv(path, n: int, *, seed: int = 3, encoding: str = "utf-8", start: int = 0, **kw) -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerows(rows(n, seed=seed, start=start, **kw))
