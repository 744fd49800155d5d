"""Letters rendered to PDF (A4, one page) with reportlab and the CID font STSong-Light.

STSong-Light is one of the Adobe Asian CID fonts every PDF reader provides: the PDF names it (with the
UniGB-UCS2-H encoding, so text extracts as Unicode) and needs no font file. The Noto CJK fonts Debian
ships are CFF-flavoured OpenType, which reportlab cannot embed; STSong-Light renders and extracts
correctly (checked with poppler and pypdf), so it is the choice.

What a collection letter must disclose (《商业银行信用卡业务监督管理办法》, 2011, art. 69): the
cardholder's name and balance, the reason for collection and the legal basis, the cardholder's
rights and obligations, how to check the account and the repayments, how to object and give
evidence, how to contact us, and the business seal. `LetterContent` carries each of them; the PDF
lays them out in that order.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
_registered = False


def register_fonts() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


LEGAL_BASIS = (
    "《中华人民共和国民法典》第五百七十七条（当事人一方不履行合同义务的，应当承担继续履行、采取补救措施或者赔偿损失等违约责任）、"
    "第六百七十五条（借款人应当按照约定的期限返还借款）；《商业银行信用卡业务监督管理办法》。"
)
RIGHTS = [
    "您有权查询账户状况、欠款构成及还款情况，可致电下列电话或通过自助服务链接查询；",
    "您对欠款金额或本函内容有异议的，有权提出异议并提供相关证据，核实期间我们将暂停对该笔欠款的催收；",
    "确有还款困难的，您可以申请分期或延期还款，经委托方审批后执行；",
    "您有权告知不便接听电话的时间，我们不会向与债务无关的第三人催收，亦不会使用暴力、威胁、辱骂等手段；",
    "您对催收行为不满的，可以向我们投诉，我们将在24小时内处理并回复；",
    "您有按照合同约定归还欠款的义务；逾期将按合同继续产生利息和费用，并可能影响您的信用记录。",
]
OBJECTION = ("如对欠款有异议，请自收到本函之日起15日内，通过下列电话、书面信函或自助服务页面提出，"
             "写明异议事项并附上还款凭证、对账单等相关证据；我们收到后将暂停催收并核实，核实结果将书面或电话告知您。")


@dataclass
class LetterContent:
    kind: str                      # "letter" | "lawyer_letter"
    ref: str                       # letter number printed on the letter
    date: str                      # letter date, YYYY年MM月DD日
    recipient: str
    address: str
    body: str                      # the creditor-approved template, rendered
    creditor: str
    product: str
    account_masked: str
    dpd: int
    principal: Decimal
    interest: Decimal
    late_fees: Decimal
    other_fees: Decimal
    total: Decimal
    agency: str
    hotline: str
    sender_address: str = ""
    collector: str = ""
    selfservice_url: str = ""
    extra_rights: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return "律师函" if self.kind == "lawyer_letter" else "催收函"


def _money(v: Decimal) -> str:
    return f"{Decimal(v):,.2f}"


def _styles():
    register_fonts()
    base = ParagraphStyle("base", fontName=FONT, fontSize=10, leading=14.5, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=1, spaceAfter=4),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11.5, textColor=colors.HexColor("#444")),
        "h": ParagraphStyle("h", parent=base, fontSize=10.5, leading=15, spaceBefore=5, spaceAfter=1,
                            textColor=colors.HexColor("#1f3a5f")),
        "right": ParagraphStyle("right", parent=base, alignment=2),
    }


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render_pdf(c: LetterContent) -> bytes:
    """The letter as PDF bytes (A4)."""
    return render_pdf_pages(c)[0]


def render_pdf_pages(c: LetterContent) -> tuple[bytes, int]:
    """The letter as PDF bytes (A4) and its number of pages."""
    st = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=16 * mm,
                            bottomMargin=14 * mm, title=f"{c.title} {c.ref}", author=c.agency, creator="qingshou")
    story = [
        _p(c.title, st["title"]),
        _p(f"编号：{c.ref}　　日期：{c.date}", st["small"]),
        Spacer(0, 3 * mm),
        _p(f"致：{c.recipient}（持卡人/借款人本人）", st["base"]),
        _p(f"地址：{c.address}", st["base"]),
        Spacer(0, 2 * mm),
        _p(c.body, st["base"]),
        _p("一、欠款信息", st["h"]),
    ]
    rows = [
        ["委托方", c.creditor, "产品", c.product],
        ["账户", c.account_masked, "逾期天数", f"{c.dpd} 天"],
        ["本金", _money(c.principal), "利息", _money(c.interest)],
        ["滞纳金", _money(c.late_fees), "其他费用", _money(c.other_fees)],
        ["欠款余额（人民币元）", _money(c.total), "", ""],
    ]
    table = Table([[_p(str(x), st["base"]) for x in r] for r in rows],
                  colWidths=[40 * mm, 45 * mm, 28 * mm, 57 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f1f3f6")),
        ("BACKGROUND", (2, 0), (2, -2), colors.HexColor("#f1f3f6")),
        ("SPAN", (1, 4), (3, 4)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    story += [
        table,
        _p("二、催收原因及法律依据", st["h"]),
        _p(f"您在{c.creditor}的{c.product}账户（{c.account_masked}）未按约定还款，已逾期{c.dpd}天，"
           f"截至本函日期欠款余额人民币{_money(c.total)}元。我们受{c.creditor}委托，依法向您本人催收。"
           f"依据：{LEGAL_BASIS}", st["base"]),
        _p("三、您的权利和义务", st["h"]),
        *[_p(f"{i}. {r}", st["base"]) for i, r in enumerate([*RIGHTS, *c.extra_rights], start=1)],
        _p("四、如何提出异议", st["h"]),
        _p(OBJECTION, st["base"]),
        _p("五、联系方式", st["h"]),
        _p(f"{c.agency}　客服及异议电话：{c.hotline}"
           + (f"　经办人：{c.collector}" if c.collector else "")
           + (f"\n通信地址：{c.sender_address}" if c.sender_address else "")
           + (f"\n自助服务（查询账户、还款承诺、提出异议）：{c.selfservice_url}" if c.selfservice_url else ""),
           st["base"]),
        Spacer(0, 5 * mm),
        _p(f"{c.agency}（受{c.creditor}委托）　　（业务公章）", st["right"]),
        _p(c.date, st["right"]),
        Spacer(0, 2 * mm),
        _p("本函仅寄送债务人本人，请妥善保管。如您已还清上述欠款，请忽略本函。", st["small"]),
    ]
    doc.build(story)
    return buf.getvalue(), doc.page
