"""PDF, DOCX and HTML loaders: text laid out like a plain-text report, page starts, tables, headings.

The small real files they read are made in code by the builders in tests/builders.py.
"""

from __future__ import annotations

import io
import re

import pytest

from assistant.errors import IngestError
from assistant.ingest.chunking import Chunker, heading_of
from assistant.ingest.formats import normalize_line, table_lines
from assistant.ingest.formats.docx import chinese_number, numeral
from assistant.ingest.loading import load_document
from assistant.ingest.parsing import parse_document
from assistant.qa import ReportQA
from tests.builders import (
    GOV_PAGE,
    REPORT_BLOCKS,
    REPORT_DOCX,
    SAMPLE_DIR,
    SENTENCES,
    TABLE,
    make_docx,
    make_pdf,
    make_scanned_pdf,
    paragraph,
)
from tests.fakes import BigramEmbedder

TABLE_LINES = ["指标：地区生产总值；2024年：1234亿元；增长：5%", "指标：一般公共预算收入；2024年：120亿元；增长：8.3%"]


def write(settings, name: str, data: bytes | str):
    path = settings.data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --- PDF -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    return make_pdf(REPORT_BLOCKS)


@pytest.fixture
def pdf_doc(settings, report_pdf):
    return load_document(write(settings, "报告.pdf", report_pdf), settings.data_dir)


def test_pdf_text_reads_like_the_report(pdf_doc):
    lines = pdf_doc.text.split("\n")
    assert lines[:3] == ["2024年盘锦市政府工作报告", "——2024年1月8日在盘锦市第九届人民代表大会第三次会议上", "一、2023年工作回顾"]
    for b in REPORT_BLOCKS:
        if isinstance(b, str) and not b.startswith("#"):
            assert b in lines, b[:30]  # every wrapped paragraph rejoined into one line, even across pages
        elif isinstance(b, str):
            assert b[1:] in lines  # headings stay lines of their own
    assert pdf_doc.fmt == "pdf" and pdf_doc.source == "报告.pdf"


def test_pdf_running_header_and_page_numbers_are_removed(pdf_doc):
    assert "盘锦市人民政府文件" not in pdf_doc.text
    assert not re.search(r"-\s*\d+\s*-", pdf_doc.text)


def test_pdf_table_rows_keep_their_headers(pdf_doc):
    lines = pdf_doc.text.split("\n")
    assert [ln for ln in lines if ln.startswith("指标：")] == TABLE_LINES


def test_pdf_page_starts_point_at_each_page(pdf_doc, report_pdf):
    import pdfplumber

    with pdfplumber.open(io.BytesIO(report_pdf)) as pdf:
        firsts = [page.extract_text_lines()[1]["text"] for page in pdf.pages]  # [0] is the running header
    assert len(pdf_doc.pages) == len(firsts) >= 3
    assert pdf_doc.pages[0] == 0 and list(pdf_doc.pages) == sorted(pdf_doc.pages)
    for start, first in zip(pdf_doc.pages, firsts, strict=True):
        assert pdf_doc.text[start:].startswith(first[:12]), (start, first)


def test_pdf_chunks_carry_pages_and_sections(pdf_doc):
    pf = parse_document(pdf_doc, Chunker(450, 600))
    assert [(r.city, r.year, r.type, r.date) for r in pf.reports] == [("盘锦", 2024, "政府工作报告", "2024-01-08")]
    pages = pdf_doc.pages
    for c in pf.chunks:
        assert c.text == pdf_doc.text[c.start : c.end]
        assert c.page == sum(1 for p in pages if p <= c.start) and 1 <= c.page <= len(pages)
    assert {c.page for c in pf.chunks} == set(range(1, len(pages) + 1))
    sections = {c.section_path for c in pf.chunks}
    assert "一、2023年工作回顾 > （一）精准施策稳增长" in sections
    assert "二、2024年工作安排 > （一）扩大有效投资" in sections
    table = next(c for c in pf.chunks if "指标：地区生产总值" in c.text)
    assert table.section_path == "一、2023年工作回顾 > （一）精准施策稳增长" and table.period == 2023


def test_pdf_index_stores_extracted_text_for_citations(settings, report_pdf):
    write(settings, "报告.pdf", report_pdf)
    qa = ReportQA(settings, BigramEmbedder())
    summary = qa.ingest()
    assert [o.status for o in summary.outcomes] == ["indexed"]
    record = qa.store.files()["报告.pdf"]
    assert record.fmt == "pdf" and len(record.pages) >= 3
    passages = qa.search("盘锦一般公共预算收入120亿元", k=3)
    assert "指标：一般公共预算收入；2024年：120亿元" in passages[0].chunk.text
    for p in passages:
        c = p.chunk
        assert qa.document_text(c.source)[c.start : c.end] == c.text and c.page is not None


def test_pdf_table_over_two_pages_keeps_its_header(settings):
    rows = [["指标", "2024年", "增长"]] + [[f"指标{i}号", f"{i * 10}亿元", f"{i}%"] for i in range(1, 80)]
    doc = load_document(write(settings, "table.pdf", make_pdf(["#一、主要指标", paragraph(1, 8), rows, "#二、其他"])))
    assert len(doc.pages) >= 2
    lines = doc.text.split("\n")
    table = [ln for ln in lines if "号" in ln]
    assert table == [f"指标：指标{i}号；2024年：{i * 10}亿元；增长：{i}%" for i in range(1, 80)]
    assert lines[-1] == "二、其他"


@pytest.mark.parametrize("name", ["000_80012d082ab10aeb.txt", "002_66024b6037eae503.txt"])
def test_pdf_of_a_sample_report_reads_back_line_for_line(settings, name):
    """Every paragraph of a real report, typeset over many pages, comes back as exactly one line."""
    from xml.sax.saxutils import escape

    lines = [" ".join(ln.split()) for ln in (SAMPLE_DIR / name).read_text(encoding="utf-8").split("\n")]
    lines = [ln for ln in lines if ln]
    doc = load_document(write(settings, "sample.pdf", make_pdf([escape(ln) for ln in lines])))
    assert len(doc.pages) > 5
    assert doc.text.split("\n") == [re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", ln) for ln in lines]


def test_pdf_latin_words_keep_their_spaces_across_lines(settings):
    english = "The city economy grew by 5.2 percent in 2023 while public budget revenue rose 8.3 percent. " * 3
    mixed = "全市推进Industrial Internet平台建设，引进Tesla Gigafactory等重点项目，地区生产总值增长5.2%。" * 4
    doc = load_document(write(settings, "mixed.pdf", make_pdf(["#Report", english.strip(), mixed], running_header=None)))
    assert doc.text.split("\n") == ["Report", english.strip(), mixed]


def test_scanned_pdf_has_no_text_layer(settings):
    with pytest.raises(IngestError) as exc:
        load_document(write(settings, "扫描件.pdf", make_scanned_pdf()), settings.data_dir)
    assert exc.value.source == "扫描件.pdf" and "PDF 没有文字层（可能是扫描件）：暂不支持 OCR" in exc.value.reason


def test_single_page_pdf_without_header(settings):
    raw = make_pdf(["#2024年某县政府工作报告", "#一、2023年工作回顾", paragraph(2, 2)], running_header=None)
    doc = load_document(write(settings, "one.pdf", raw))
    assert doc.pages == (0,)
    assert doc.text.split("\n") == ["2024年某县政府工作报告", "一、2023年工作回顾", paragraph(2, 2)]


# --- DOCX ----------------------------------------------------------------------------------------
@pytest.fixture
def docx_doc(settings):
    return load_document(write(settings, "报告.docx", make_docx(REPORT_DOCX)), settings.data_dir)


def test_docx_headings_become_sections(docx_doc):
    lines = docx_doc.text.split("\n")
    assert lines[0] == "2024年盘锦市政府工作报告"  # the title is not numbered
    assert "一、2023年工作回顾" in lines and "二、2024年工作安排" in lines
    assert "（一）精准施策稳增长" in lines and "（二）深化改革" in lines
    assert "1、扩大有效投资" in lines
    pf = parse_document(docx_doc, Chunker(450, 600))
    assert pf.reports[0].year == 2024 and pf.reports[0].city == "盘锦"
    by_text = {c.text.split("\n")[0]: c for c in pf.chunks}
    assert by_text["（一）精准施策稳增长"].section_path == "一、2023年工作回顾 > （一）精准施策稳增长"
    assert by_text["1、扩大有效投资"].section_path == "二、2024年工作安排 > 1、扩大有效投资"
    assert by_text["1、扩大有效投资"].period == 2024
    for c in pf.chunks:
        assert c.text == docx_doc.text[c.start : c.end]


def test_docx_tables_and_paragraphs(docx_doc):
    lines = docx_doc.text.split("\n")
    assert [ln for ln in lines if ln.startswith("指标：")] == TABLE_LINES
    assert paragraph(1) in lines and paragraph(4) in lines
    assert docx_doc.fmt == "docx" and docx_doc.pages == ()


def test_docx_outline_level_style_is_a_heading(settings):
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    style = d.styles.add_style("报告小标题", WD_STYLE_TYPE.PARAGRAPH)
    lvl = OxmlElement("w:outlineLvl")
    lvl.set(qn("w:val"), "0")
    style.element.get_or_add_pPr().append(lvl)
    d.add_paragraph("总体要求", style="报告小标题")
    d.add_paragraph("坚持稳中求进工作总基调。")
    buf = io.BytesIO()
    d.save(buf)
    doc = load_document(write(settings, "outline.docx", buf.getvalue()))
    assert doc.text.split("\n") == ["一、总体要求", "坚持稳中求进工作总基调。"]


def _python_docx_text(raw: bytes) -> str:
    """The text the former reader took through python-docx's objects: the oracle of the XML reader."""
    import docx
    from docx.table import Table

    from assistant.ingest.formats import TextBuilder
    from assistant.ingest.formats.docx import Block, _render

    blocks = []
    for item in docx.Document(io.BytesIO(raw)).iter_inner_content():
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells, seen = [], None
                for cell in row.cells:
                    if cell._tc is not seen:
                        cells.append(cell.text)
                    seen = cell._tc
                rows.append(cells)
            blocks.append(Block("t", table_lines(rows)))
            continue
        lines = [t for t in (normalize_line(t) for t in item.text.split("\n")) if t]
        style = item.style
        name = (style.name or "") if style is not None else ""
        level = 0 if re.match(r"^(?:title|标题)$", name, re.I) else None
        if level is None and (m := re.match(r"^(?:heading|标题)\s*(\d)$", name, re.I)):
            level = max(1, int(m.group(1)))
        for element in (item._p, style.element if style is not None and level is None else None):
            vals = element.xpath("./w:pPr/w:outlineLvl/@w:val") if element is not None and level is None else []
            if vals and vals[0].isdigit() and int(vals[0]) < 9:
                level = int(vals[0]) + 1
        if lines:
            blocks.append(Block("h", lines, level) if level is not None and len(lines) == 1 else Block("p", lines))
    builder = TextBuilder()
    for line in _render(blocks):
        builder.line(line)
    return builder.text()


def _tricky_docx(seed: int) -> bytes:
    """Headings of every level, titles, merged cells both ways, breaks, tabs, hyperlinks, unknown styles."""
    import random

    import docx
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rnd = random.Random(seed)
    d = docx.Document()
    for i in range(40):
        k = rnd.random()
        if k < 0.15:
            d.add_heading(f"第{i}部分", rnd.randint(0, 4))
        elif k < 0.3:
            rows, cols = rnd.randint(2, 4), rnd.randint(2, 4)
            t = d.add_table(rows=rows, cols=cols)
            for r in range(rows):
                for c in range(cols):
                    t.cell(r, c).text = rnd.choice(["指标", "2024年", "1234亿元", "", "增长\n5%", "a\tb"])
            t.cell(0, 0).merge(t.cell(0, 1))
            t.cell(1, cols - 1).merge(t.cell(rows - 1, cols - 1))
        else:
            p = d.add_paragraph(rnd.choice(["", "全市地区生产总值增长5.2%。", "一般公共预算收入\u3000增长"]))
            p.add_run(rnd.choice(["第二句", "\t制表", "换行\n之后"])).add_break(rnd.choice([WD_BREAK.LINE, WD_BREAK.PAGE]))
            p.add_run("断行后")
            if rnd.random() < 0.3:
                p.style = d.styles[rnd.choice(["Title", "Heading 2", "List Bullet", "Quote"])]
            if rnd.random() < 0.2:
                link, run, text = OxmlElement("w:hyperlink"), OxmlElement("w:r"), OxmlElement("w:t")
                text.text = "链接文字"
                run.append(text)
                link.append(run)
                p._p.append(link)
            if rnd.random() < 0.2:
                pstyle = OxmlElement("w:pStyle")
                pstyle.set(qn("w:val"), rnd.choice(["NoSuchStyle", "TableGrid"]))  # unknown, not a paragraph style
                p._p.get_or_add_pPr().insert(0, pstyle)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_text_is_what_python_docx_reads(settings):
    """The XML reader keeps python-docx's text exactly: chunk offsets and ids do not move."""
    docs = {"report.docx": make_docx(REPORT_DOCX)}
    docs.update({f"tricky{seed}.docx": _tricky_docx(seed) for seed in range(6)})
    for name, raw in docs.items():
        assert load_document(write(settings, name, raw)).text == _python_docx_text(raw), name


def test_a_long_docx_is_read_without_per_paragraph_style_lookups(settings):
    import time

    raw = make_docx([("h2", "重点任务") if i % 50 == 0 else ("p", f"{i}、" + paragraph(i % 7 + 1)) for i in range(5000)])
    t0 = time.perf_counter()
    doc = load_document(write(settings, "long.docx", raw))
    print(f"5,000-paragraph DOCX read in {(time.perf_counter() - t0) * 1000:.0f} ms")
    lines = doc.text.split("\n")
    assert len(lines) == 5000 and lines[:2] == ["一、重点任务", "1、" + paragraph(2)] and lines[-100] == "九十九、重点任务"


def test_heading_numerals_match_the_chunker():
    assert [chinese_number(n) for n in (1, 9, 10, 11, 20, 23, 99)] == ["一", "九", "十", "十一", "二十", "二十三", "九十九"]
    for level in (1, 2, 3, 4):
        for n in (1, 12):
            assert heading_of(numeral(level, n) + "标题") == (level, numeral(level, n) + "标题")


# --- HTML ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_html_main_text_without_navigation(settings, encoding):
    raw = GOV_PAGE.encode(encoding)
    doc = load_document(write(settings, "page.html", raw))
    assert doc.text.split("\n") == [
        "2024年盘锦市政府工作报告",
        "发布时间：2024-01-10 来源：市政府办公室",  # page metadata: kept in the text, masked by cleaning
        "——2024年1月8日在盘锦市第九届人民代表大会第三次会议上",
        "市长 邢鹏",
        "一、2023年工作回顾",
        "全市地区生产总值增长5.2%，一般公共预算收入增长8.3%。",
        *TABLE_LINES,
        "二、2024年工作安排",
        "地区生产总值增长5.5%左右。",
    ]
    assert doc.encoding == encoding and doc.fmt == "html"
    pf = parse_document(doc, Chunker(450, 600))
    assert [(r.city, r.year) for r in pf.reports] == [("盘锦", 2024)]
    assert not any("发布时间" in c.text for c in pf.chunks)


def test_html_paragraphs_in_divs(settings):
    page = ("<html><body><div class='nav'><a>首页</a><a>新闻</a><a>政务</a></div><div class='wrap'>"
            "<div class='title'>2024年某市政府工作报告</div><div>一、2023年工作回顾</div>"
            f"<div>{SENTENCES[0]}{SENTENCES[1]}</div><div>二、2024年工作安排</div><div>地区生产总值增长5.5%左右。</div>"
            "</div><div class='footer'>版权所有</div></body></html>")
    doc = load_document(write(settings, "divs.html", page))
    assert doc.text.split("\n") == ["2024年某市政府工作报告", "一、2023年工作回顾", SENTENCES[0] + SENTENCES[1],
                                    "二、2024年工作安排", "地区生产总值增长5.5%左右。"]


def test_html_br_separated_page(settings):
    page = ("<html><body><div class='top'><a href='/'>首页</a><a href='/a'>机构</a><a href='/b'>政务</a></div>"
            "<table><tr><td class='left'><a href='/x'>通知公告</a></td><td>"
            "2024年某市政府工作报告<br>一、2023年工作回顾<br>地区生产总值增长5.2%，财政收入增长8.3%。<br>"
            "二、2024年工作安排<br>地区生产总值增长5.5%左右，城镇新增就业2万人。</td></tr></table>"
            "<p class='foot'>主办单位：某市人民政府办公室</p></body></html>")
    doc = load_document(write(settings, "br.htm", page))
    assert doc.text.split("\n") == ["2024年某市政府工作报告", "一、2023年工作回顾", "地区生产总值增长5.2%，财政收入增长8.3%。",
                                    "二、2024年工作安排", "地区生产总值增长5.5%左右，城镇新增就业2万人。"]


def _nested_page(tag: str, levels: int) -> str:
    return ("<html><body>" + "".join(f"<{tag}>第{i}段地区生产总值增长" for i in range(levels)) + f"</{tag}>" * levels
            + "</body></html>")


@pytest.mark.parametrize("tag", ["span", "div"])
def test_html_nested_20000_deep_is_refused_by_depth_or_read_in_linear_time(settings, tag):
    """Each element's text is measured once (it was re-read per ancestor: 20,000 spans took ~50 s).
    Nested blocks beyond the depth budget are refused before parsing: the parser's own cost grows with
    the square of their depth."""
    import time

    from assistant.ingest.loading import ReadLimits

    path = write(settings, f"deep-{tag}.html", _nested_page(tag, 20_000))
    t0 = time.perf_counter()
    try:
        doc = load_document(path, settings.data_dir, limits=ReadLimits(html_depth=10_000))
        outcome = "parsed"
    except IngestError as exc:
        assert "REPORTQA_MAX_HTML_DEPTH" in exc.reason and "20,000" in exc.reason
        outcome = "refused"
    print(f"20,000 nested <{tag}>: {outcome} in {time.perf_counter() - t0:.2f}s")
    assert outcome == ("parsed" if tag == "span" else "refused")  # inline elements do not count
    if outcome == "parsed":
        assert "地区生产总值增长" in doc.text
    t0 = time.perf_counter()
    doc = load_document(path, settings.data_dir, limits=ReadLimits(html_depth=100_000))
    print(f"20,000 nested <{tag}> within a raised budget: parsed in {time.perf_counter() - t0:.2f}s")
    assert "地区生产总值增长" in doc.text


def test_html_depth_counts_blocks_not_sloppy_markup():
    from assistant.ingest.formats.html import nesting_depth

    assert nesting_depth(GOV_PAGE) == 3
    assert nesting_depth("<div><p>一<p>二<li>三<font>四<br><img src=x></div></div></div><div>") == 1
    assert nesting_depth("<DIV class=a><!-- <div><div> --><script>s='<div><div>'</script><section></section></DIV>") == 2


# --- shared helpers --------------------------------------------------------------------------------
def test_table_lines():
    assert table_lines(TABLE) == TABLE_LINES
    assert table_lines([["", ""], ["地区 生产\n总值", "5%"]]) == ["地区生产总值；5%"]
    assert table_lines([["项目", "金额"], ["项目", "金额"], ["收入", ""]]) == ["项目：收入"]
    assert table_lines([]) == []


def test_markdown_headings_emphasis_and_pipe_tables(tmp_path):
    from assistant.ingest.loading import load_document

    md = tmp_path / "r.md"
    md.write_text("# 某公司2023年年度报告\n\n## 第二节 主要会计数据\n\n| 项目 | 2023年 | 2022年 |\n|---|---:|---|\n"
                  "| 营业收入 | 71.38 | 58.64 |\n\n5. **大客户结构更加均衡。** 前五名客户销售额20.41亿元。\n", encoding="utf-8")
    text = load_document(md).text
    assert text.splitlines()[0] == "某公司2023年年度报告" and "第二节 主要会计数据" in text.splitlines()
    assert "项目：营业收入；2023年：71.38；2022年：58.64" in text  # each value beside its column header
    assert "5. 大客户结构更加均衡。 前五名客户销售额20.41亿元。" in text and "|" not in text and "**" not in text
