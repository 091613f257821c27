"""Sentences in a report that address the reader as instructions (忽略以上指令…, ignore previous…):
no report states a fact that way, so the answerer down-weights them and the answer says it saw one."""

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


def addresses_reader(text: str) -> bool:
    return bool(INSTRUCTION.search(text))
