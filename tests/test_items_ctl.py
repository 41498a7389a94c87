"""``govkioskctl items`` against a real daemon on a private bus: the lifecycle end to end,
refusals with their exit codes, and nothing changed by a refusal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from govkiosk.cli.main import main
from govkiosk.items.catalogue import DEFAULT_CATALOGUE
from harness.dbus import PrivateBus
from harness.govkioskd import BIN, Govkioskd

ITEM_FILE = """[[items]]
code = "marriage_record"
name = "婚姻登记记录证明"
department = "民政"
category = "证明开具"
applicant_type = "natural_person"
conditions = ["申请人本人持有效居民身份证办理"]
materials = ["本人有效居民身份证原件"]
steps = ["identity", "consent", "query", "verify_seal", "preview", "print_a4", "done"]
result_type = "certificate_print"
regions = ["230000"]

[items.printing]
a4_pages = 1
receipt = false
"""


class Ctl:
    def __init__(self, bus: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.bus = bus
        self.capsys = capsys

    def __call__(self, *argv: str) -> Tuple[int, str, str]:
        """Exit status, stdout and stderr of ``govkioskctl --bus … argv``."""
        self.capsys.readouterr()
        try:
            status = main(["--bus", self.bus, *argv])
        except SystemExit as exit:  # argparse: usage errors
            status = int(exit.code or 0)
        out, err = self.capsys.readouterr()
        return status, out, err

    def json(self, *argv: str) -> object:
        status, out, err = self("--json", *argv)
        assert status == 0, err
        return json.loads(out)


@pytest.fixture
def ctl(
    tmp_path: Path, private_bus: PrivateBus, capsys: pytest.CaptureFixture[str]
) -> Iterator[Ctl]:
    daemon = Govkioskd(tmp_path / "kiosk", private_bus.address)
    daemon.start()
    assert daemon.proc is not None
    tool = Ctl(private_bus.address, capsys)
    daemon.proc.wait_ready(lambda: tool("items", "list")[0] == 0, 10, "govkioskd")
    yield tool
    daemon.stop()


def codes_published(ctl: Ctl) -> List[Tuple[str, int]]:
    rows = ctl.json("items", "list")
    assert isinstance(rows, list)
    return [(r["code"], r["version"]) for r in rows if r["published"]]


def test_the_default_catalogue_is_listed_and_shown(ctl: Ctl) -> None:
    status, out, _ = ctl("items", "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "PUBLISHED", "OPEN", "REQUEST"]
    assert [line.split()[1] for line in lines[1:]] == [
        "无犯罪记录证明",
        "身份证打印",
        "户口本打印",
        "个人参保缴费记录打印",
        "养老保险参保凭证打印",
        "享受养老保险待遇证明",
        "社保清单打印",
    ]
    shown = ctl.json("items", "show", "contribution_record_print")
    assert isinstance(shown, dict)
    assert shown["request"] is None
    assert shown["published"]["regions"] == ["230000", "220000", "210000", "150000"]
    assert shown["published"]["timeouts"] == {"query": 45.0}


def test_an_item_is_added_through_every_transition(ctl: Ctl, tmp_path: Path) -> None:
    item_file = tmp_path / "marriage.toml"
    item_file.write_text(ITEM_FILE, encoding="utf-8")
    code = "marriage_record"
    steps = [
        (
            f"apply {code} --role department --kind add --name 婚姻登记记录证明 --reason 办件量大"
            " --plan 对接民政接口 --function 查询打印婚姻登记记录",
            "applied",
        ),
        (
            f"evaluate {code} --role office --approve --necessity 必要 --feasibility 可行",
            "evaluated",
        ),
        (f"develop {code} --role developer --item {item_file}", "developed"),
        (
            f"verify {code} --role tester --run flow-run-42 --summary 全流程通过"
            " --functional passed --performance passed --security passed",
            "verified",
        ),
        (f"publish {code} --role department", "published"),
    ]
    for argv, state in steps:
        status, out, err = ctl("items", *argv.split())
        assert (status, err) == (0, "")
        assert out == f"{code}: add request #1 (version 1) is {state}\n"
        if state != "published":
            assert (code, 1) not in codes_published(ctl)
    assert (code, 1) in codes_published(ctl)
    history = ctl.json("items", "history", code)
    assert isinstance(history, list)
    assert [(h["action"], h["role"], h["to"]) for h in history] == [
        ("apply", "department", "applied"),
        ("evaluate", "office", "evaluated"),
        ("develop", "developer", "developed"),
        ("verify", "tester", "verified"),
        ("publish", "department", "published"),
    ]
    assert history[3]["detail"]["run"] == "flow-run-42"
    status, out, _ = ctl("items", "history", code)
    assert status == 0
    assert len(out.splitlines()) == 5
    assert "publish #1 by department: verified -> published (v1)" in out


def test_refusals_have_clear_errors_and_exit_codes_and_change_nothing(
    ctl: Ctl, tmp_path: Path
) -> None:
    before = ctl.json("items", "list")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[items]]\ncode = "x"\nsteps = ["fly"]\n', encoding="utf-8")
    refusals = [
        (
            ["publish", "id_card_print", "--role", "tester"],
            77,
            "govkioskctl: publish needs the department role, not tester\n",
        ),
        (
            [
                "apply",
                "id_card_print",
                "--role",
                "department",
                "--kind",
                "add",
                "--reason",
                "r",
                "--plan",
                "p",
                "--function",
                "f",
            ],
            1,
            "govkioskctl: id_card_print is already published: apply for a change\n",
        ),
        (
            ["publish", "nothing_here", "--role", "department"],
            1,
            "govkioskctl: no item nothing_here (neither published nor applied for)\n",
        ),
        (["sync", str(bad), "--role", "office"], 65, None),
        (["sync", str(tmp_path / "missing.toml"), "--role", "office"], 2, None),
        (["publish", "id_card_print", "--role", "mayor"], 2, None),
    ]
    for argv, status, message in refusals:
        got, out, err = ctl("items", *argv)
        assert (got, out) == (status, ""), err
        if message is not None:
            assert err == message
    _, _, err = ctl("items", "sync", str(bad), "--role", "office")
    assert err.splitlines()[0] == (
        f'govkioskctl: {bad}: items[0] (code "x"): name: required, expected the item\'s published name'
    )
    assert f'{bad}: items[0] (code "x"): steps.0: expected "identity" or' in err
    _, _, err = ctl("items", "sync", str(tmp_path / "missing.toml"), "--role", "office")
    assert "cannot read" in err
    assert ctl.json("items", "list") == before


def test_revocation_and_sync_from_the_command_line(ctl: Ctl, tmp_path: Path) -> None:
    code = "id_card_print"
    status, out, _ = ctl(
        "items", "apply", code, "--role", "department", "--kind", "revoke",
        "--reason", "改由手机端办理", "--plan", "下线", "--function", "无",
    )  # fmt: skip
    assert (status, out) == (0, f"{code}: revoke request #1 (version 1) is applied\n")
    status, out, _ = ctl(
        "items", "evaluate", code, "--role", "office", "--approve",
        "--necessity", "必要", "--feasibility", "可行",
    )  # fmt: skip
    assert (status, out) == (0, f"{code}: revoke request #1 (version 1) is approved\n")
    assert code not in [c for c, _ in codes_published(ctl)]
    status, out, _ = ctl("items", "sync", str(DEFAULT_CATALOGUE), "--role", "office")
    assert (status, out) == (0, f"catalogue synced; changed: {code}\n")
    assert len(codes_published(ctl)) == 7


def test_the_installed_command_runs(ctl: Ctl) -> None:
    tool = BIN / "govkioskctl"
    done = subprocess.run(
        [str(tool), "--bus", ctl.bus, "items", "publish", "id_card_print", "--role", "auditor"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout) == (77, "")
    assert done.stderr == "govkioskctl: publish needs the department role, not auditor\n"
