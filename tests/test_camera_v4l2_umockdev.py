"""V4L2 devices as udev shows them (a binocular module behind one hub and a document camera),
as ``govkioskctl camera list`` reports them to an integrator.

Runs under ``umockdev-wrapper`` only: ``make test-umockdev``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Iterator, List

import pytest

from govkiosk.cli.camera import cmd_list
from govkiosk.devices.camera.v4l2 import VideoDevice, video_devices
from harness.umockdev import HUB, UsbBed

pytestmark = pytest.mark.umockdev

VIDEO: tuple = (0x0E, 0x01, 0x00)  # USB video class, video control


@pytest.fixture
def bed() -> Iterator[UsbBed]:
    bed = UsbBed()
    yield bed
    del bed.testbed


def camera(bed: UsbBed, interface: str, node: int, name: str, capabilities: str) -> None:
    bed.testbed.add_device(
        "video4linux",
        f"video{node}",
        interface,
        ["name", name, "index", str(node % 2)],
        [
            "DEVNAME",
            f"/dev/video{node}",
            "ID_V4L_CAPABILITIES",
            capabilities,
            "ID_V4L_PRODUCT",
            name,
            "DEVLINKS",
            f"/dev/v4l/by-id/usb-cam-{node}-video-index{node % 2}",
        ],
    )


def test_a_binocular_module_and_a_document_camera_are_listed(
    bed: UsbBed, capsys: pytest.CaptureFixture[str]
) -> None:
    root = bed.root_hub()
    hub = bed.device(root, "1-1", "05e3:0608", interfaces=[HUB], device_class=9)
    rgb = bed.device(hub, "1-1.1", "0c45:6366", interfaces=[VIDEO])
    ir = bed.device(hub, "1-1.2", "0c45:6367", interfaces=[VIDEO])
    doc = bed.device(root, "1-2", "1bcf:2c9a", interfaces=[VIDEO])
    camera(bed, bed.interface(rgb, 0), 0, "Binocular RGB", ":capture:")
    camera(bed, bed.interface(rgb, 0), 1, "Binocular RGB", ":")  # the metadata node
    camera(bed, bed.interface(ir, 0), 2, "Binocular IR", ":capture:")
    camera(bed, bed.interface(doc, 0), 4, "Document Camera", ":capture:video_output:")

    found: List[VideoDevice] = video_devices()
    assert [(d.node, d.vendor, d.product, d.captures) for d in found] == [
        ("/dev/video0", "0c45", "6366", True),
        ("/dev/video1", "0c45", "6366", False),
        ("/dev/video2", "0c45", "6367", True),
        ("/dev/video4", "1bcf", "2c9a", True),
    ]
    assert found[3].capabilities == ("capture", "video_output")
    assert found[2].name == "Binocular IR"
    assert found[0].links == ("/dev/v4l/by-id/usb-cam-0-video-index0",)

    args = argparse.Namespace(bus="unix:path=/nonexistent", json=False, camera_json=True)
    assert asyncio.run(cmd_list(args)) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["node"] for d in listed["v4l2"]] == [
        "/dev/video0",
        "/dev/video1",
        "/dev/video2",
        "/dev/video4",
    ]
    assert listed["v4l2"][3]["model"] == "Document Camera"
    args = argparse.Namespace(bus="unix:path=/nonexistent", json=False, camera_json=False)
    assert asyncio.run(cmd_list(args)) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2].split() == ["NODE", "NAME", "USB", "ID", "MODEL", "CAPABILITIES"]
    assert table[0].startswith("daemon: cannot reach")
    assert table[3].split() == [
        "/dev/video0",
        "Binocular",
        "RGB",
        "0c45:6366",
        "Binocular",
        "RGB",
        "capture",
    ]
