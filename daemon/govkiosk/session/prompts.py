"""What the session says to the citizen at each step, short (§7.3), in zh_CN and en."""

from __future__ import annotations

from typing import Dict, Tuple

#: key → (zh_CN, en)
PROMPTS: Dict[str, Tuple[str, str]] = {
    "identity.insert": ("请将身份证放在读卡区", "Please place your ID card on the reader"),
    "identity.confirm": ("请核对您的身份信息", "Please check that this is you"),
    "consent": (
        "本人同意查询并打印本人的办理结果",
        "I agree that my records are looked up and printed",
    ),
    "query": ("正在查询，请稍候", "Looking up your records, please wait"),
    "verify_seal": ("正在核验电子印章", "Checking the electronic seal"),
    "preview.render": ("正在生成预览", "Preparing the preview"),
    "preview": ("请确认后打印", "Please check the document, then print"),
    "print_a4": ("正在打印，请稍候", "Printing, please wait"),
    "print_receipt": ("正在打印回执", "Printing your receipt"),
    "done": ("办理完成，请取走证明和身份证", "Done. Please take your document and your ID card"),
}


def prompt(key: str, language: str) -> str:
    zh, en = PROMPTS[key]
    return en if language == "en" else zh
