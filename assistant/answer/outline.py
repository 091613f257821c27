"""List questions answered by a report's own outline.

「为实现上述预期目标,重点做好以下八个方面工作:」 announces a list, and its items are the headings of the
sections under it, each in chunks of its own that retrieval may not bring back. The answer quotes the
announcing sentence and every heading, in the report's order, each cited to the passage that opens with it.
The best sentence need not be the announcing one (做好今年工作，我们要…聚焦“九项重点任务”… comes before
我们将重点抓好以下几方面工作：): the announcement is looked for in its section's opening text too.
"""

from __future__ import annotations

import re

from assistant.answer.answerers import Candidate
from assistant.answer.citations import attribution, marker
from assistant.answer.composed import Composed
from assistant.ingest.figures import chinese_number
from assistant.records import Chunk, Passage

# 以下八个方面工作： / 如下几项重点任务。 — not 控制在5.5%以下。
_ANNOUNCES = re.compile(r"(?:以下|如下|下列)(?P<count>[一二三四五六七八九十两\d]{0,3})[^。；;：:\n]{0,10}?"
                        r"(?:方面|工作|任务|举措|措施|事项|内容|重点|领域)[^。；;：:\n]{0,4}[：:。]\s*$")
_LIST_NOUNS = re.compile(r"方面|工作|任务|举措|措施|事项|内容|领域")  # 重点 alone: 重点项目 is no 重点工作
_SECTIONS = " > "


def _announcement(question: str, best: Candidate, parent: Chunk,
                  chunks: dict[str, Chunk]) -> tuple[str, Chunk] | None:
    """The sentence that announces a list: the best sentence itself, or one in the text of its section
    before the first sub-section (the section's own chunks, in order) that names what the question asks
    for (重点工作有哪些 and 以下几方面工作, not 主要预期目标有哪些)."""
    if _ANNOUNCES.search(best.text.strip()):
        return best.text.strip(), parent
    asked = set(_LIST_NOUNS.findall(question))
    if not asked:
        return None
    own = sorted((c for c in chunks.values() if c.report_id == parent.report_id
                  and c.section_path == parent.section_path), key=lambda c: c.start)
    for c in own:
        for sentence in re.split(r"(?<=[。：:\n])", c.text):
            if _ANNOUNCES.search(sentence.strip()) and asked & set(_LIST_NOUNS.findall(sentence)):
                return sentence.strip(), c
    return None


def outline(question: str, best: Candidate, passages: list[Passage],
            chunks: dict[str, Chunk]) -> tuple[Composed, list[Passage]] | None:
    """The announcing sentence and the headings under its section, or None when no sentence of the best
    one's section announces a list, the section has fewer than two sub-sections, or their number is not
    the one it says."""
    found = _announcement(question, best, passages[best.n - 1].chunk, chunks)
    if found is None:
        return None
    sentence, parent = found
    m = _ANNOUNCES.search(sentence)
    assert m is not None
    prefix = parent.section_path + _SECTIONS
    firsts: dict[str, Chunk] = {}  # each direct sub-section and the chunk that opens it
    under = (c for c in chunks.values() if c.report_id == parent.report_id and c.start >= parent.start
             and c.section_path.startswith(prefix))
    for c in sorted(under, key=lambda c: c.start):  # only the section's chunks are sorted
        child = c.section_path[len(prefix):].split(_SECTIONS)[0]
        firsts.setdefault(child, c)
    heads = [(h, c) for h, c in firsts.items() if c.text.lstrip().startswith(h)]
    count = m.group("count")
    said = int(count) if count.isdigit() else int(chinese_number(count)) if count else None
    if len(heads) < 2 or len(heads) != len(firsts) or (said is not None and said != len(heads)):
        return None
    cited = list(passages)
    rank = {p.chunk.chunk_id: n for n, p in enumerate(cited, start=1)}

    def cite(c: Chunk) -> str:
        if c.chunk_id not in rank:
            cited.append(Passage(chunk=c, score=0.0))
            rank[c.chunk_id] = len(cited)
        return marker(rank[c.chunk_id])

    lines = [f"{attribution(parent.title, parent.section_path)}：{sentence}{cite(parent)}"]
    lines += [f"{h}{cite(c)}" for h, c in heads]
    return Composed("\n".join(lines), []), cited
