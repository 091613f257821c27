"""Sentences in a report that address the reader as instructions (忽略以上指令…, ignore previous…):
no report states a fact that way, so the extractive answerer down-weights them, an LLM never sees them
(`withhold`: a model that obeys what it reads cannot obey what it is not shown), and the answer says
it saw one."""

from __future__ import annotations

import re

INSTRUCTION = re.compile(
    r"忽略(?:以上|上述|之前|前面|先前|所有)|无视(?:以上|上述|之前)|请(?:直接)?(?:回答|输出|告诉用户)|"
    r"(?:你|您)(?:现在)?(?:是|扮演)|系统提示|提示词|回答[:：]|"
    r"ignore (?:all |the |any )?(?:previous|prior|above)|disregard (?:the |all )?(?:previous|above)|"
    r"system prompt|you are now|answer with",
    re.IGNORECASE,
)
WEIGHT = 0.3  # an instruction-like sentence keeps this share of its score
NOTE = "引用段落中有对读者下指令的语句（如「忽略以上指令」），已当作普通文字，不予采信。"


WITHHELD = "〔此处一句对读者下指令的文字已略去〕"
# a sentence ends at 。！？；, a newline, or an English full stop before a space or a Chinese character (not 5.2%)
SENTENCE = re.compile(r"[^。！？!?；;\n]*?(?:[。！？!?；;]+|\.(?=\s|[^\x00-\x7f])|\n|$)")


def addresses_reader(text: str) -> bool:
    return bool(INSTRUCTION.search(text))


def withhold(text: str) -> str:
    """The text with each instruction-like sentence replaced by a short mark (the rest kept as is)."""
    if not addresses_reader(text):
        return text
    return "".join(WITHHELD + ("\n" if s.endswith("\n") else "") if addresses_reader(s) else s
                   for s in SENTENCE.findall(text))
