"""What the session says to the citizen at each step, short (§7.3), in zh_CN and en."""

from __future__ import annotations

from typing import Dict, Tuple

#: key → (zh_CN, en)
PROMPTS: Dict[str, Tuple[str, str]] = {
    "identity.insert": ("请将身份证放在读卡区", "Please place your ID card on the reader"),
    "identity.confirm": ("请核对您的身份信息", "Please check that this is you"),
    # face verification: what the citizen should do, by the verifier's hint
    "face.prepare": ("正在准备人脸核验", "Preparing the face check"),
    "face.no_face": ("请正对摄像头", "Please look straight at the camera"),
    "face.several_faces": ("请确保镜头前只有您一人", "Only you should be in front of the camera"),
    "face.closer": ("请靠近一点", "Please come a little closer"),
    "face.centre": ("请将面部移入框内", "Please move your face into the frame"),
    "face.too_dark": ("请正对摄像头，光线不足", "Please face the camera; it is too dark"),
    "face.hold_still": ("请保持不动", "Please hold still"),
    "face.blink": ("请眨眨眼", "Please blink"),
    "face.turn_left": ("请向左转头", "Please turn your head to the left"),
    "face.turn_right": ("请向右转头", "Please turn your head to the right"),
    "face.checking": ("正在核验，请稍候", "Checking, please wait"),
    # the document camera
    "capture.aim": ("请将材料平放在高拍仪下", "Please lay the page flat under the document camera"),
    "capture.process": ("正在处理", "Processing the page"),
    "capture.review": ("请确认材料清晰完整", "Please check that the page is clear and complete"),
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
    "done": ("办理完成", "Done"),
    "webapp.consent": (
        "本人同意将以下身份证信息提供给本事项页面",
        "I agree that this service's page receives the card details listed",
    ),
}


def prompt(key: str, language: str) -> str:
    zh, en = PROMPTS[key]
    return en if language == "en" else zh
