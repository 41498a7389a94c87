"""The manual's generated tables: every alarm the daemon raises and every staff code.

Alarm codes are found in the daemon's source, not copied by hand: every ``Alarm(…)``
and ``self._alarm(…)`` call under ``daemon/govkiosk`` is read with :mod:`ast`. A code
written as a literal is taken as it is; a code computed at run time is taken from the
table it comes from (``RESOLVERS``, one entry per file). A computed code in a file with
no resolver is an error, so a new alarm cannot slip past the manual.

Meanings and actions are in ``MEANINGS`` (Chinese, for hall staff and engineers).
``tests/test_manual.py`` fails when the daemon raises a code that has no meaning here,
or when a meaning names a code the daemon no longer raises.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parents[2]
DAEMON = ROOT / "daemon" / "govkiosk"


@dataclass(frozen=True)
class Meaning:
    what: str  #: 含义
    action: str  #: 处理办法


#: Alarm code → what it means and what to do. Codes are stable (``bus.Alarm``).
MEANINGS: Dict[str, Meaning] = {
    # power (UPS staged shutdown)
    "mains_restored": Meaning(
        "市电已恢复，本机恢复服务。", "无需处理；核对 UPS 电池是否开始充电。"
    ),
    "on_battery": Meaning(
        "市电中断，本机由 UPS 电池供电，仍可服务。", "检查插座、空开和市电；通知物业或电工。"
    ),
    "shutdown_pending": Meaning(
        "电池电量或剩余时间不足：不再受理新业务，正在办理的业务结束后停止服务。",
        "尽快恢复市电；引导群众到其他一体机或人工窗口。",
    ),
    "out_of_service": Meaning(
        "本机已停止服务（屏幕显示“暂停服务”），即将关机。", "恢复市电后按开机步骤重新开机。"
    ),
    "powering_off": Meaning("本机正在关机（UPS 电量耗尽前的安全关机）。", "恢复市电后重新开机。"),
    "power_off_failed": Meaning(
        "自动关机未成功，本机保持停止服务并稍后重试。",
        "按关机步骤手动关机；通知工程师检查 polkit 授权和 systemd-logind。",
    ),
    # A4 printer (CUPS)
    "printer.paper_out": Meaning("A4 打印机缺纸。", "按“更换 A4 纸”步骤加纸。"),
    "printer.jam": Meaning("A4 打印机卡纸。", "打开打印机前盖，取出卡纸，合上前盖后试打一页。"),
    "printer.cover_open": Meaning("A4 打印机盖板未关好。", "关好盖板和纸盒。"),
    "printer.toner_out": Meaning("A4 打印机墨粉（硒鼓）耗尽。", "更换硒鼓；无备件时通知工程师。"),
    "printer.offline": Meaning(
        "A4 打印机离线（未连接、未开机或通信超时）。",
        "检查打印机电源和 USB 线；仍离线请通知工程师。",
    ),
    "printer.aborted": Meaning(
        "打印任务被打印机中止，证明未打印。", "查看打印机面板提示并处理，然后试打一页。"
    ),
    "printer.cancelled": Meaning(
        "打印任务被取消，证明未打印。", "确认无人在打印机上取消任务；反复出现请通知工程师。"
    ),
    "printer.stopped": Meaning("打印队列已停止。", "通知工程师检查 CUPS 队列（cupsenable）。"),
    "printer.recovered": Meaning("A4 打印机已恢复打印。", "无需处理。"),
    "printer.job_lost": Meaning(
        "打印服务重启后丢失了打印任务，证明未打印；群众重试时会重新打印一份。",
        "确认群众已取到证明；反复出现请通知工程师检查 CUPS 服务和磁盘空间。",
    ),
    # receipt printer (ESC/POS)
    "receipt.paper_out": Meaning("凭条打印机缺纸。", "按“更换凭条纸”步骤换纸。"),
    "receipt.cover_open": Meaning("凭条打印机纸仓盖未关好。", "关好纸仓盖。"),
    "receipt.offline": Meaning(
        "凭条打印机离线（暂停、出错或等待恢复）。", "查看凭条打印机指示灯，处理后关盖重试。"
    ),
    "receipt.error": Meaning(
        "凭条打印机报告故障（如切刀错误）。", "关机重启凭条打印机；仍报错请通知工程师。"
    ),
    "receipt.not_responding": Meaning(
        "凭条打印机无应答。", "检查凭条打印机电源和数据线；仍无应答请通知工程师。"
    ),
    "receipt.recovered": Meaning("凭条打印机已恢复，可以打印。", "无需处理。"),
    # USB sealing
    "usb.denied": Meaning(
        "有人插入了未经允许的 USB 设备，已被封禁。",
        "查看本机 USB 口；非工作人员操作时上报安全负责人。",
    ),
    "usb.badusb": Meaning(
        "设备同时伪装成键盘等输入设备（BadUSB），输入接口已封禁。",
        "立即拔下该设备并上报安全负责人；不要再插入。",
    ),
    "usb.tamper": Meaning(
        "已封禁的 USB 设备被他人启用，已重新封禁。", "上报安全负责人，检查是否有人登录或篡改本机。"
    ),
    "usb.seal_failed": Meaning("封禁 USB 设备失败。", "拔下该设备，通知工程师检查系统日志。"),
    # electronic seal
    "seal.error": Meaning(
        "证明电子印章校验出错，证明未打印。", "请群众到人工窗口办理；通知工程师。"
    ),
    "seal.unreadable": Meaning(
        "部门返回的证明文件无法读取，未打印。", "请群众到人工窗口办理；通知部门核查。"
    ),
    "seal.unsigned": Meaning(
        "部门返回的证明没有电子印章，未打印。", "请群众到人工窗口办理；通知部门核查。"
    ),
    "seal.tampered": Meaning(
        "证明在盖章后被改动或签名校验失败，未打印。", "请群众到人工窗口办理；上报安全负责人和部门。"
    ),
    "seal.untrusted": Meaning(
        "证明的印章不是受信任的签发机构，未打印。",
        "请群众到人工窗口办理；通知工程师核对印章证书配置。",
    ),
    "seal.trust": Meaning(
        "本机配置的受信印章证书无法读取。", "通知工程师检查 [seal] 配置的证书文件。"
    ),
    "seal.malformed": Meaning(
        "证明上的电子印章（国密 SES 印章或签名）结构无法解析，未打印。",
        "请群众到人工窗口办理；通知部门核查。",
    ),
    "seal.expired": Meaning(
        "盖章时电子印章或其证书已不在有效期内，未打印。",
        "请群众到人工窗口办理；通知部门更换印章。",
    ),
    "seal.revoked": Meaning(
        "电子印章的证书已被签发机构吊销，未打印。",
        "请群众到人工窗口办理；上报安全负责人和部门。",
    ),
    # daily self-test and consumables (upkeep)
    "selftest_services": Meaning(
        "每日自检：有服务未运行。", "查看维护界面“设备状态”；重启无效请通知工程师。"
    ),
    "selftest_devices": Meaning(
        "每日自检：有设备驱动未运行（设备未连接或故障）。",
        "检查该设备的电源和连线；仍故障请通知工程师。",
    ),
    "selftest_printers": Meaning(
        "每日自检：凭条打印机未就绪（缺纸、盖板打开或离线）。",
        "按“更换凭条纸”步骤处理，然后打印测试页。",
    ),
    "selftest_ups": Meaning(
        "每日自检：长时间没有 UPS 读数。", "检查 UPS 电源和通信线；通知工程师。"
    ),
    "selftest_cameras": Meaning(
        "每日自检：摄像头无画面。", "检查摄像头连线；仍无画面请通知工程师。"
    ),
    "selftest_disk": Meaning(
        "每日自检：数据盘空间不足。", "通知工程师清理或扩容；不要自行删除系统文件。"
    ),
    # the state database and disk (store.py, session/interrupted.py)
    "database_damaged": Meaning(
        "本机状态数据库损坏，已移到一旁（文件名带发现时间），并已从最近的备份恢复或重建；"
        "告警正文说明是哪一种。重建时使用统计和运维日志丢失。",
        "本机继续服务。通知工程师检查数据盘（SMART、文件系统）并保留损坏文件以便分析。",
    ),
    "state_disk_full": Meaning(
        "状态目录所在磁盘已满：办件照常进行，使用统计等记录暂存内存，空间恢复后写入。",
        "通知工程师清理或扩容数据盘；不要自行删除 /var/lib/govkiosk 下的文件。",
    ),
    "state_disk_ok": Meaning("状态目录所在磁盘恢复可写，暂存的记录已写入。", "无需处理。"),
    "session_interrupted": Meaning(
        "上次办件因程序异常退出或断电被中断；告警正文说明事项、步骤和 A4 打印任务的结果"
        "（未打印的已取消清除，不会补打）。群众个人信息只在内存中，已随之清除。",
        "查看 A4 出纸口是否有遗留文件，有则按规定销毁；群众需要时请其重新办理。",
    ),
    "receipt_low": Meaning(
        "凭条纸即将用完（按已打印长度估算）。",
        "按“更换凭条纸”步骤换纸，然后运行 govkioskctl consumables refill receipt 记录。",
    ),
    "a4_low": Meaning(
        "A4 纸即将用完（按已打印页数估算）。",
        "按“更换 A4 纸”步骤加纸，然后运行 govkioskctl consumables refill a4 记录。",
    ),
    # passwords, engineer tokens and certificates (daily check)
    "pin_expiring": Meaning(
        "维护密码即将过期。", "请工程师在过期前设置新密码（govkioskctl pin set）。"
    ),
    "pin_expired": Meaning(
        "维护密码已过期，维护界面无法登录。", "请工程师设置新密码（govkioskctl pin set）。"
    ),
    "pin_age_unknown": Meaning(
        "维护密码的设置日期未知，无法判断是否过期。",
        "请工程师重新设置维护密码，或在配置中补充 pin_set 日期。",
    ),
    "token_expiring": Meaning(
        "工程师 USB 维护令牌即将过期。", "请工程师在过期前更换令牌（[devices.usb] operators）。"
    ),
    "token_expired": Meaning(
        "工程师 USB 维护令牌已过期，不能再开启 USB 维护窗口。", "请工程师更换令牌。"
    ),
    "certificate_expiring": Meaning(
        "运维证书将在 30 天内过期。",
        "请工程师更换证书（govkioskctl keys rotate，再 keys install；见 docs/keys.md）。",
    ),
    "certificate_expired": Meaning(
        "运维证书已过期，本机无法连接运维平台。", "请工程师立即更换证书（docs/keys.md）。"
    ),
    "certificate_unreadable": Meaning(
        "运维证书文件无法读取。", "请工程师检查 [ops] 配置的证书文件和权限。"
    ),
    # face verification
    "face.fallback": Meaning(
        "群众多次人脸核验未通过，已被引导到人工窗口。", "到本机旁协助，引导群众到人工窗口核验身份。"
    ),
}


@dataclass(frozen=True)
class Site:
    """One place in the daemon that raises alarms: its file, line, source and codes."""

    path: str  #: relative to the repository
    line: int
    source: str
    codes: Tuple[str, ...]


class UnresolvedAlarmError(Exception):
    """An alarm whose code is computed in a file ``RESOLVERS`` does not know."""


def _str(node: Optional[ast.expr]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _module_strings(tree: ast.Module) -> Dict[str, str]:
    """Module-level ``NAME = "literal"`` assignments (``SOURCE = "power"``)."""
    found: Dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], _str(node.value)
            if isinstance(target, ast.Name) and value is not None:
                found[target.id] = value
    return found


def _source_of(node: Optional[ast.expr], names: Dict[str, str]) -> str:
    literal = _str(node)
    if literal is not None:
        return literal
    if isinstance(node, ast.Name):
        return names.get(node.id, "")
    return ""


def _literals_assigned(tree: ast.AST, name: str) -> Set[str]:
    """Every string literal in the value of an assignment to ``name``."""
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            found |= {v for v in map(_str, ast.walk(node.value)) if v}
    return found


def _calls_named(tree: ast.AST, name: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                yield node


def _power(scope: ast.AST) -> Set[str]:
    """The stage table's codes and the literal codes ``_announce`` is called with."""
    module = ast.parse((DAEMON / "power" / "service.py").read_text(encoding="utf-8"))
    service = importlib.import_module("govkiosk.power.service")
    codes = {code for code, _ in service._ALARMS.values()}
    for call in _calls_named(module, "_announce"):
        codes |= {c for c in map(_str, call.args[1:2]) if c}
    return codes


def _printer(scope: ast.AST) -> Set[str]:
    reasons = importlib.import_module("govkiosk.printing.reasons")
    return {code for _, code in reasons.CODES} | _literals_assigned(scope, "code")


def _seal(scope: ast.AST) -> Set[str]:
    seal = importlib.import_module("govkiosk.security.seal")
    pending, codes = [seal.SealError], set()
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def _receipt(scope: ast.AST) -> Set[str]:
    """``receipt.<state>`` for every state in which the receipt printer cannot print."""
    status = importlib.import_module("govkiosk.devices.receipt.status")
    receipts = importlib.import_module("govkiosk.printing.receipts")
    return {
        f"receipt.{state.value}"
        for state in status.PrinterState
        if not state.printable and state.value not in receipts._QUIET
    }


def _upkeep(scope: ast.AST) -> Set[str]:
    """A failed self-test check (``selftest_<check>``) and a consumable running low."""
    consumables = importlib.import_module("govkiosk.upkeep.consumables")
    selftest = (DAEMON / "upkeep" / "selftest.py").read_text(encoding="utf-8")
    checks = set(re.findall(r'CheckResult\(\s*"([a-z_]+)"', selftest))
    return {f"selftest_{c}" for c in checks} | {f"{n}_low" for n in consumables.UNITS}


#: File (under daemon/govkiosk) → the codes its computed alarm codes can take.
RESOLVERS: Dict[str, Callable[[ast.AST], Set[str]]] = {
    "upkeep/service.py": _upkeep,
    "power/service.py": _power,
    "printing/cups_printer.py": _printer,
    "printing/receipts.py": _receipt,
    "session/steps.py": _seal,
    "webapps/session.py": _seal,
}


@functools.lru_cache(maxsize=8)
def alarm_sites(daemon: Path = DAEMON) -> Tuple[Site, ...]:
    """Every ``Alarm(source, code, …)`` and ``self._alarm(code, …)`` call in the daemon."""
    sites: List[Site] = []
    for path in sorted(daemon.rglob("*.py")):
        rel = path.relative_to(daemon).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names = _module_strings(tree)
        # ``_alarm(code, …)`` wrappers pass their argument on: their callers are read.
        wrapped = {
            id(call)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name == "_alarm"
            for call in _calls_named(node, "Alarm")
        }
        calls = [(c, 0) for c in _calls_named(tree, "Alarm") if id(c) not in wrapped]
        scopes: Dict[int, ast.AST] = {}  # call → the innermost function around it
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                scopes.update((id(c), node) for c in ast.walk(node) if isinstance(c, ast.Call))
        calls += [(c, -1) for c in _calls_named(tree, "_alarm")]
        for call, source_at in calls:
            if source_at == 0 and len(call.args) < 2:
                continue  # not a construction with positional fields
            if source_at == -1 and not call.args:
                continue
            source = names.get("SOURCE", "") if source_at < 0 else ""
            if source_at == 0:
                source = _source_of(call.args[0], names)
            code_node = call.args[1] if source_at == 0 else call.args[0]
            literal = _str(code_node)
            if literal is not None:
                codes = {literal}
            elif rel in RESOLVERS:
                codes = RESOLVERS[rel](scopes.get(id(call), tree))
            else:
                raise UnresolvedAlarmError(
                    f"daemon/govkiosk/{rel}:{call.lineno}: alarm code computed at run time;"
                    " add a resolver to docs/manual/tables.py RESOLVERS"
                )
            sites.append(Site(f"daemon/govkiosk/{rel}", call.lineno, source, tuple(sorted(codes))))
    return tuple(sites)


def alarm_codes(daemon: Path = DAEMON) -> Dict[str, str]:
    """Alarm code → its source, for every alarm the daemon raises."""
    return {code: site.source for site in alarm_sites(daemon) for code in site.codes}


SOURCE_NAMES = {
    "power": "电源/UPS",
    "printer": "A4 打印机",
    "usbseal": "USB 封禁",
    "seal": "电子印章",
    "face": "人脸核验",
    "store": "状态数据库",
    "session": "办件会话",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def alarm_table(daemon: Path = DAEMON) -> str:
    """The alarm table as Markdown: 来源, 告警代码, 含义, 处理办法; by source then code."""
    rows = ["| 来源 | 告警代码 | 含义 | 处理办法 |", "|---|---|---|---|"]
    codes = alarm_codes(daemon)
    for code, source in sorted(codes.items(), key=lambda kv: (kv[1], kv[0])):
        meaning = MEANINGS.get(code, Meaning("（未说明）", "通知工程师。"))
        name = SOURCE_NAMES.get(source, source)
        rows.append(f"| {name} | `{code}` | {_cell(meaning.what)} | {_cell(meaning.action)} |")
    return "\n".join(rows)


#: Family → what staff do when a citizen reads out one of its staff codes.
FAMILY_ACTIONS = {
    "identity": "请群众使用居民身份证；证件无法读取时到人工窗口办理。",
    "face": "协助群众正对摄像头重试；仍不通过时引导到人工窗口。",
    "capture": "检查高拍仪镜头和灯光；反复失败通知工程师。",
    "backend": "部门系统问题：稍后重试；持续出现时通知工程师和部门。",
    "seal": "证明不能打印：引导群众到人工窗口；通知工程师。",
    "preview": "请群众重试；反复失败通知工程师。",
    "printer": "查看 A4 打印机（缺纸、卡纸、盖板、墨粉、电源），处理后请群众重试。",
    "receipt": "查看凭条打印机（缺纸、卡纸），证明已打印，请群众取走。",
    "webapp": "网页事项无法打开：请群众稍后重试或到人工窗口办理；通知工程师检查浏览器和网络。",
    "session": "请群众重试；反复出现记下时间和代码，通知工程师。",
}


def staff_code_table() -> str:
    """Staff code, ops code, what the citizen read and what staff do, in code order."""
    staffcodes = importlib.import_module("govkiosk.session.staffcodes")
    failures = importlib.import_module("govkiosk.session.failures")
    rows = ["| 工作人员代码 | 错误代码 | 群众看到的提示 | 工作人员处理 |", "|---|---|---|---|"]
    for code, staff in sorted(staffcodes.STAFF_CODES.items(), key=lambda kv: kv[1]):
        family = code.split(".", 1)[0]
        shown = "（同类其他错误）" if code.endswith(".*") else f"`{code}`"
        said = failures.failure_for(code).zh_CN
        rows.append(f"| {staff} | {shown} | {_cell(said)} | {FAMILY_ACTIONS[family]} |")
    return "\n".join(rows)


PLACEHOLDER = re.compile(r"^<!--\s*generated:\s*([a-z-]+)\s*-->$", re.MULTILINE)

GENERATORS: Dict[str, Callable[[], str]] = {
    "alarm-table": alarm_table,
    "staff-code-table": staff_code_table,
}


def expand(markdown: str) -> str:
    """Replaces each ``<!-- generated: NAME -->`` line with the table it names."""
    return PLACEHOLDER.sub(lambda m: GENERATORS[m.group(1)](), markdown)
