"""Every way a citizen's session can fail, in one table: ops code → what the citizen reads.

The ops code is stable and machine-readable (``printer.paper_out``); it goes to the
session state's ``error_code``, to ``SessionEnded`` and to alarms. The citizen gets one
short sentence in their language and one next action (§7.3: short prompts): ``retry``
where trying again can help, otherwise ``finish``. A code that is not listed is looked
up by its family (``printer.*``), then falls back to a general message, so a new code
in a lower layer never leaves the citizen without words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple


@dataclass(frozen=True)
class Failure:
    zh_CN: str
    en: str
    #: The citizen may try the failed step again.
    retry: bool = False

    def message(self, language: str) -> str:
        return self.en if language == "en" else self.zh_CN

    @property
    def choices(self) -> Tuple[str, ...]:
        return ("retry", "cancel") if self.retry else ("finish",)


FAILURES: Dict[str, Failure] = {
    # identity
    "identity.unsupported_card": Failure(
        "此证件暂不能办理本事项，请使用居民身份证。",
        "This card cannot be used for this service. Please use a resident ID card.",
        retry=True,
    ),
    # face verification (人证核验)
    "face.not_matched": Failure(
        "未能确认是持证人本人，请摘下帽子和眼镜，正对摄像头重试。",
        "We could not confirm you are the card's holder. Remove hat and glasses, then retry.",
        retry=True,
    ),
    "face.not_live": Failure(
        "未能通过活体检测，请本人正对摄像头重试。",
        "The check needs you in person in front of the camera. Please retry.",
        retry=True,
    ),
    "face.no_face": Failure(
        "未检测到人脸，请正对摄像头重试。",
        "No face was seen. Please look straight at the camera and retry.",
        retry=True,
    ),
    "face.camera_lost": Failure(
        "摄像头暂时无法使用，请重试。",
        "The camera is not working right now. Please retry.",
        retry=True,
    ),
    "face.fallback": Failure(
        "人脸核验未通过，请到人工窗口办理，已通知工作人员。",
        "Your face could not be verified. Please go to a staff counter; staff have been called.",
    ),
    "face.*": Failure(
        "本机暂不能核验人脸，请到人工窗口办理。",
        "This kiosk cannot check your face now. Please go to a staff counter.",
    ),
    # the document camera
    "capture.camera_lost": Failure(
        "高拍仪暂时无法使用，请重试。",
        "The document camera is not working right now. Please retry.",
        retry=True,
    ),
    "capture.*": Failure(
        "材料未能拍摄，请重试或到人工窗口办理。",
        "The page could not be captured. Please retry or go to a staff counter.",
        retry=True,
    ),
    # department backends
    "backend.timeout": Failure(
        "部门系统响应超时，请稍后重试。",
        "The department did not answer in time. Please try again.",
        retry=True,
    ),
    "backend.unavailable": Failure(
        "部门系统暂时无法访问，请稍后重试。",
        "The department's system is unavailable. Please try again later.",
        retry=True,
    ),
    "backend.refused": Failure(
        "未能办理：部门未出具证明。", "The department did not issue the document."
    ),
    "backend.no_route": Failure(
        "本机暂不能办理此事项，请到窗口办理。",
        "This kiosk cannot handle this service. Please go to a service counter.",
    ),
    "backend.*": Failure(
        "部门系统出现问题，请稍后重试或到窗口办理。",
        "The department's system had a problem. Please try again or go to a counter.",
        retry=True,
    ),
    # electronic seal (§7.2 a): never printed, never retried
    "seal.unsigned": Failure(
        "证明未加盖电子印章，不能打印，请到窗口办理。",
        "The document carries no electronic seal and cannot be printed. Please go to a counter.",
    ),
    "seal.tampered": Failure(
        "证明电子印章校验未通过，不能打印，请到窗口办理。",
        "The electronic seal failed its check. Please go to a counter.",
    ),
    "seal.untrusted": Failure(
        "证明的电子印章不受信任，不能打印，请到窗口办理。",
        "The document's seal is not from a trusted authority. Please go to a counter.",
    ),
    "seal.*": Failure(
        "证明电子印章无法校验，不能打印，请到窗口办理。",
        "The document's electronic seal could not be checked. Please go to a counter.",
    ),
    # preview
    "preview.failed": Failure(
        "证明无法显示，请重试。", "The document cannot be shown. Please try again.", retry=True
    ),
    # A4 printer
    "printer.paper_out": Failure(
        "打印机缺纸，请联系工作人员添加纸张后重试。",
        "The printer is out of paper. Please ask staff to add paper, then retry.",
        retry=True,
    ),
    "printer.jam": Failure(
        "打印机卡纸，请联系工作人员处理后重试。",
        "The printer has a paper jam. Please ask staff for help, then retry.",
        retry=True,
    ),
    "printer.offline": Failure(
        "打印机未连接，请联系工作人员。",
        "The printer is offline. Please ask staff for help.",
        retry=True,
    ),
    "printer.*": Failure(
        "打印出现问题，请联系工作人员后重试。",
        "Printing failed. Please ask staff for help, then retry.",
        retry=True,
    ),
    # receipt printer: the document is already printed
    "receipt.*": Failure(
        "回执打印失败，证明已打印，请取走证明。",
        "The receipt could not be printed. Your document has been printed; please take it.",
        retry=True,
    ),
    # web-app items: the kiosk browser
    "webapp.*": Failure(
        "该事项页面暂时无法打开，请稍后重试或到窗口办理。",
        "This service's page cannot be opened now. Please try later or go to a counter.",
    ),
    # anything else
    "session.*": Failure(
        "办理未能完成，请重试或到窗口办理。",
        "The service could not be completed. Please try again or go to a counter.",
        retry=True,
    ),
}

GENERAL = FAILURES["session.*"]


def failure_for(code: str) -> Failure:
    """The code's entry, else its family's (``printer.*``), else the general one."""
    return FAILURES.get(code) or FAILURES.get(code.split(".", 1)[0] + ".*") or GENERAL
