"""Builders the test modules share: small real report files made in code, report texts, index checks,
and helpers for the processes some tests start. Fakes live in `tests/fakes.py`, fixtures in
`tests/conftest.py`; no test module imports from another test module (tests/test_layout.py checks it).

The PDF builder uses reportlab with its built-in CID font STSong-Light for Chinese, the DOCX builder
python-docx.
"""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.qa import ReportQA

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "reports"


# --- report files: PDF, DOCX, HTML -------------------------------------------------------------------
SENTENCES = [
    "全市地区生产总值增长5.2%，一般公共预算收入增长8.3%，高于全省2.8个百分点。",
    "固定资产投资增长20%以上，进出口总额增长39.7%，增速均居全省第一。",
    "新开工亿元以上项目126个，华锦阿美精细化工及原料工程项目全面开工建设。",
    "城镇新增就业2.1万人，城镇调查失业率控制在5.5%以内，居民人均可支配收入增长5.6%。",
    "空气质量优良天数比例达到86.6%，辽河、大辽河等重点河流断面水质稳定达标。",
    "民生支出占一般公共预算支出的比重保持在75%以上，十件民生实事全部完成。",
]
TABLE = [["指标", "2024年", "增长"], ["地区生产总值", "1234亿元", "5%"], ["一般公共预算收入", "120亿元", "8.3%"]]


def paragraph(i: int, n: int = 3) -> str:
    """A distinct paragraph of n sentences (long enough to wrap over several PDF lines)."""
    return "".join(f"第{i}段{SENTENCES[(i + k) % len(SENTENCES)]}" for k in range(n))


REPORT_BLOCKS: list = [
    "#2024年盘锦市政府工作报告",
    "#——2024年1月8日在盘锦市第九届人民代表大会第三次会议上",
    "#一、2023年工作回顾",
    paragraph(1), paragraph(2, 5),
    "#（一）精准施策稳增长",
    paragraph(3, 6), paragraph(4, 6),
    TABLE,
    "#二、2024年工作安排",
    paragraph(5, 8), paragraph(6, 8), paragraph(7, 4),
    "#（一）扩大有效投资",
    paragraph(8, 6), paragraph(9, 3),
    "#（二）保障改善民生",
    paragraph(10, 8), paragraph(11, 8), paragraph(12, 6),
]


def make_pdf(blocks: list, running_header: str | None = "盘锦市人民政府文件", encrypt=None, page_numbers: bool = True) -> bytes:
    """A real multi-page PDF: indented wrapped paragraphs, ``#`` headings, grid tables, header and page numbers."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=12, leading=18, firstLineIndent=24, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, firstLineIndent=0, spaceBefore=6)
    story: list = []
    for b in blocks:
        if isinstance(b, list):
            table = Table(b)
            table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 10),
                                       ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
            story.append(table)
        elif b == "PAGE":
            story.append(PageBreak())
        else:
            story.append(Paragraph(b[1:], head) if b.startswith("#") else Paragraph(b, body))

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("STSong-Light", 9)
        if running_header:
            canvas.drawString(72, A4[1] - 40, running_header)
        if page_numbers:
            canvas.drawCentredString(A4[0] / 2, 30, f"- {doc.page} -")
        canvas.restoreState()

    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, encrypt=encrypt).build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buf.getvalue()


def make_scanned_pdf() -> bytes:
    """A PDF whose page is only an image: no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    img = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(img).rectangle((20, 20, 380, 60), fill="black")
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.drawImage(ImageReader(img), 72, 500, 400, 200)
    c.showPage()
    c.save()
    return buf.getvalue()


def make_docx(blocks: list[tuple]) -> bytes:
    """("title"|"h1".."h4"|"p"|"table", value) blocks -> DOCX bytes."""
    import docx

    d = docx.Document()
    for kind, value in blocks:
        if kind == "title":
            d.add_heading(value, 0)
        elif kind.startswith("h"):
            d.add_heading(value, int(kind[1:]))
        elif kind == "table":
            t = d.add_table(rows=len(value), cols=len(value[0]))
            for r, row in enumerate(value):
                for c, v in enumerate(row):
                    t.cell(r, c).text = v
        else:
            d.add_paragraph(value)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


REPORT_DOCX = [
    ("title", "2024年盘锦市政府工作报告"),
    ("p", "——2024年1月8日在盘锦市第九届人民代表大会第三次会议上"),
    ("h1", "2023年工作回顾"),
    ("p", paragraph(1)),
    ("h2", "精准施策稳增长"),
    ("p", paragraph(2)),
    ("table", TABLE),
    ("h2", "（二）深化改革"),  # a numeral of its own: kept as it is
    ("p", paragraph(3)),
    ("h1", "2024年工作安排"),
    ("h3", "扩大有效投资"),
    ("p", paragraph(4)),
]

GOV_PAGE = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>2024年盘锦市政府工作报告_盘锦市人民政府</title>
<script>var crumbs = "当前位置";</script><style>.nav{color:red}</style></head>
<body>
<div class="header"><a href="/">首页</a> <a href="/zw">政务公开</a> <a href="/bs">办事服务</a></div>
<div id="nav"><ul><li><a href="/">网站首页</a></li><li><a href="/xw">新闻中心</a></li></ul></div>
<div class="crumb">当前位置：首页 &gt; 政务公开 &gt; 政府工作报告</div>
<div class="main">
 <h1>2024年盘锦市政府工作报告</h1>
 <div class="info">发布时间：2024-01-10 来源：市政府办公室</div>
 <div class="TRS_Editor" id="zoom">
 <p>——2024年1月8日在盘锦市第九届人民代表大会第三次会议上</p>
 <p>市长 邢鹏</p>
 <p>　　一、2023年工作回顾</p>
 <p>　　全市地区生产总值增长5.2%，
 一般公共预算收入增长8.3%。</p>
 <table border="1"><tr><th>指标</th><th>2024年</th><th>增长</th></tr>
 <tr><td>地区生产总值</td><td>1234亿元</td><td>5%</td></tr>
 <tr><td>一般公共预算收入</td><td>120亿元</td><td>8.3%</td></tr></table>
 <p>　　二、2024年工作安排</p>
 <p>　　地区生产总值增长5.5%左右。</p>
 <p style="display:none">隐藏的统计代码</p>
 </div>
 <div class="bdsharebuttonbox">分享到：<a>微信</a><a>微博</a></div>
 <div class="xgwz"><h3>相关文章</h3><ul><li><a href="/1">关于2023年计划执行情况的报告</a></li>
 <li><a href="/2">2023年预算报告</a></li><li><a href="/3">市长信箱</a></li></ul></div>
</div>
<div class="footer">版权所有：盘锦市人民政府　辽ICP备05000000号　网站标识码2111000000</div>
</body></html>
"""


# --- report texts ------------------------------------------------------------------------------------
def report_text(city: str = "鞍山", year: int = 2024, revenue: str = "201.7") -> str:
    """A small government work report whose budget revenue figure a test can ask about."""
    prev = year - 1
    return (
        f"{year}年{city}市政府工作报告\n"
        f"{year}年1月9日在{city}市第十七届人民代表大会第三次会议上\n"
        "各位代表:\n现在,我代表市人民政府,向大会报告工作,请予审议。\n"
        f"一、{prev}年工作回顾\n"
        f"过去一年,全市经济稳中向好。全年地区生产总值增长5.1%,一般公共预算收入完成{revenue}亿元、增长7.2%,"
        "规模以上工业增加值增长6.3%,固定资产投资增长4.5%,社会消费品零售总额增长8.1%。\n"
        "城乡居民人均可支配收入分别增长4.9%和7.0%,新增城镇就业4.1万人,城镇调查失业率控制在5.5%以内。"
        "实施民生实事十件,改造老旧小区三百个,新建改建学校十二所。\n"
        f"二、{year}年工作安排\n"
        f"{year}年经济社会发展的主要预期目标是:地区生产总值增长5.5%左右,一般公共预算收入增长5%,"
        "城镇新增就业4万人以上,居民消费价格涨幅3%左右。\n"
        "我们将坚定不移推动产业转型升级,做强钢铁深加工、菱镁新材料和装备制造产业集群,"
        "加快数字经济发展,持续优化营商环境,扎实推进乡村振兴,守牢安全发展底线。\n"
    )


DALIAN_REPORT = """2024年大连市政府工作报告

——2024年1月9日在大连市第十七届人民代表大会第三次会议上

各位代表：

现在，我代表市人民政府，向大会报告工作，请予审议。

一、2023年工作回顾

过去一年，全市地区生产总值增长6.7%，达到8752亿元。港口集装箱吞吐量突破500万标准箱。

二、2024年工作安排

2024年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，一般公共预算收入增长5%。
"""
"""A small report of a city the sample corpus lacks, for upload tests."""


# --- indexes -----------------------------------------------------------------------------------------
def clean_settings(**values) -> Settings:
    """Settings from `values` alone, with every REPORTQA_* variable and the .env file ignored: a session
    or module fixture is set up before the autouse `isolated_env` of its first test, so the developer's
    environment would otherwise leak in."""
    import os

    import pytest

    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("REPORTQA_")]:
            mp.delenv(key)
        return Settings(**values, _env_file=None)


def real_index(root: Path, model_dir: Path, backend: str) -> ReportQA:
    """A copy of the sample corpus under `root`, indexed with the real model on one backend."""
    from assistant.qa import ReportQA

    data = root / "reports"
    shutil.copytree(SAMPLE_DIR, data)
    settings = clean_settings(data_dir=data, home_dir=root / "home", model_dir=model_dir, embedding_backend=backend)
    qa = ReportQA.from_settings(settings)
    summary = qa.ingest()
    assert not summary.errors
    return qa


def indexed_copy(root: Path) -> Settings:
    """A copy of the sample corpus under `root`, indexed with the fake embedder; returns its settings."""
    from assistant.qa import ReportQA
    from tests.fakes import BigramEmbedder

    data = root / "reports"
    shutil.copytree(SAMPLE_DIR, data)
    settings = clean_settings(data_dir=data, home_dir=root / "home")
    summary = ReportQA(settings, BigramEmbedder()).ingest()
    assert not summary.errors and len(summary.outcomes) == len(list(SAMPLE_DIR.glob("*.txt")))
    return settings


def assert_consistent(qa: ReportQA) -> dict[str, int]:
    """Every visible chunk is an exact slice of its stored text; every committed file is whole.

    Returns the number of visible chunks per committed file.
    """
    qa.retriever.view.refresh(force=True)
    manifest = qa.store.files()
    per_file: dict[str, int] = dict.fromkeys(manifest, 0)
    for c in qa.retriever.view.chunks.values():
        assert c.source in manifest
        assert qa.document_text(c.source)[c.start : c.end] == c.text
        per_file[c.source] += 1
    for source, record in manifest.items():
        assert per_file[source] == record.n_chunks, source
    return per_file


# --- processes ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Until `url` answers 200; fails with the end of the process's log if it exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not up after {timeout:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
