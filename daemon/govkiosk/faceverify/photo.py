"""The card's photo as an image: the decoder seam.

A resident ID card stores its holder's photo as 1,024 bytes of WLT, a compressed format
only the readers' licensed vendor libraries decode. :class:`PhotoDecoder` is what the
verifier needs of any of them: ``decode(blob) -> image`` (BGR, 8-bit). ``[face] decoder``
picks one (:func:`decoder_for`):

- ``"vendor"`` — :class:`VendorLibraryDecoder`: the vendor's shared library through
  ctypes. The widespread call (libwlt2bmp.so, libwlt2019.so, the "WltRS" SDKs) is::

      int unpack(char *wlt_1024, char *out, int flag);

  ``wlt_1024`` is the card's 1,024 bytes; ``out`` receives a 102×126 24-bit BMP
  (38,862 bytes: a 54-byte header, then 126 rows of 308 bytes, bottom row first) or, in
  some builds, the bare 102×126×3 pixel rows (38,556 bytes); ``flag`` is a vendor code —
  602 decodes in memory, 603 also writes ``zp.bmp`` to the working directory, which a
  kiosk must never do (§8 d); 1 is success. Symbol, flag, output form and size and the
  success code are settings. The library runs only in the worker process
  (:mod:`.worker`): a crash in it never takes the daemon down.
- ``"bmp"`` — :class:`BmpDecoder`: readers whose SDK already delivers the decoded photo
  as a BMP; the header is checked and anything but a 24-bit uncompressed BMP refused.
- ``"simulated"`` — :class:`SimulatedDecoder`: the simulator's photos
  (:mod:`govkiosk.devices.idcard.simphoto`), for the demo and tests only.
- ``"none"`` — :class:`NoDecoder`: face verification is off.

Each decoder's ``problems(settings, demo)`` names what keeps it from working on this
machine (``govkioskd --check-config``). Bad bytes raise :class:`PhotoError`, never
anything else. Images and bytes stay in memory (§8 d).
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, Tuple

import numpy as np

from ..devices.idcard import simphoto
from ..devices.idcard.cardtext import PHOTO_SIZE
from .errors import PhotoError
from .settings import FaceSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

#: A card photo's size (width, height), as the vendor libraries decode it.
CARD_PHOTO = (102, 126)
#: The bare pixel rows some vendor builds write: 102 × 126 × 3.
RAW_SIZE = CARD_PHOTO[0] * CARD_PHOTO[1] * 3
#: Output slack: some vendor builds write past the size they document.
_SLACK = 4096

# --- BMP -----------------------------------------------------------------------------

_FILE_HEADER = struct.Struct("<2sIHHI")  # "BM", file size, reserved ×2, pixel offset
_INFO_HEADER = struct.Struct("<IiiHHI")  # header size, width, height, planes, bits, compression
_INFO_SIZES = (40, 52, 56, 108, 124)  # BITMAPINFOHEADER … BITMAPV5HEADER
_MAX_SIDE = 4096


def parse_bmp(data: bytes) -> Image:
    """A 24-bit uncompressed BMP's pixels (BGR, top row first); :class:`PhotoError` otherwise."""
    if len(data) < _FILE_HEADER.size + _INFO_HEADER.size:
        raise PhotoError(f"not a BMP: {len(data)} bytes, fewer than a BMP header")
    magic, file_size, _r1, _r2, offset = _FILE_HEADER.unpack_from(data)
    if magic != b"BM":
        raise PhotoError("not a BMP: it does not start with 'BM'")
    info, width, height, planes, bits, compression = _INFO_HEADER.unpack_from(
        data, _FILE_HEADER.size
    )
    if info not in _INFO_SIZES:
        raise PhotoError(f"BMP info header of {info} bytes, not a Windows BMP")
    if planes != 1 or bits != 24 or compression != 0:
        raise PhotoError(
            f"BMP of {bits} bits, {planes} planes, compression {compression}:"
            " only 24-bit uncompressed BMPs are read"
        )
    rows = abs(height)
    if not (0 < width <= _MAX_SIDE and 0 < rows <= _MAX_SIDE):
        raise PhotoError(f"BMP of {width}×{height} pixels is not a photo's size")
    stride = (width * 3 + 3) & ~3
    if offset < _FILE_HEADER.size + info or offset + stride * rows > len(data):
        raise PhotoError(
            f"BMP pixels at {offset} + {stride * rows} bytes do not fit in {len(data)} bytes"
        )
    if file_size not in (0, len(data)) and not (offset + stride * rows <= file_size <= len(data)):
        raise PhotoError(f"BMP header says {file_size} bytes, the data has {len(data)}")
    pixels = np.frombuffer(data, np.uint8, count=stride * rows, offset=offset)
    image = pixels.reshape(rows, stride)[:, : width * 3].reshape(rows, width, 3)
    if height > 0:  # bottom-up, as most BMPs are
        image = image[::-1]
    out: Image = np.ascontiguousarray(image)
    return out


def _raw_rows(data: bytes, order: str) -> Image:
    if len(data) < RAW_SIZE:
        raise PhotoError(f"{len(data)} bytes of pixels, a card photo needs {RAW_SIZE}")
    width, height = CARD_PHOTO
    image = np.frombuffer(data, np.uint8, count=RAW_SIZE).reshape(height, width, 3)
    if order == "rgb":
        image = image[..., ::-1]
    out: Image = np.ascontiguousarray(image)
    return out


def _check_blob(blob: bytes) -> None:
    if len(blob) != PHOTO_SIZE:
        raise PhotoError(f"a card photo has {PHOTO_SIZE} bytes, not {len(blob)}")


# --- the decoders ----------------------------------------------------------------------


class PhotoDecoder(Protocol):
    """Turns the card's photo bytes into an image (BGR, 8-bit)."""

    def decode(self, blob: bytes) -> Image: ...

    def describe(self) -> str: ...

    def problems(self, settings: FaceSettings, demo: bool) -> List[str]: ...


class NoDecoder:
    """``decoder = "none"``: face verification is off."""

    def decode(self, blob: bytes) -> Image:
        raise PhotoError('no photo decoder is configured ([face] decoder = "none")')

    def describe(self) -> str:
        return "no photo decoder: face verification is off"

    def problems(self, settings: FaceSettings, demo: bool) -> List[str]:
        return []


class BmpDecoder:
    """Readers that deliver the decoded photo: the bytes are a 24-bit BMP."""

    def decode(self, blob: bytes) -> Image:
        return parse_bmp(bytes(blob))

    def describe(self) -> str:
        return "BMP photos as the reader delivers them"

    def problems(self, settings: FaceSettings, demo: bool) -> List[str]:
        return []


class SimulatedDecoder:
    """The simulator's photos (:mod:`govkiosk.devices.idcard.simphoto`): demo and tests."""

    def decode(self, blob: bytes) -> Image:
        try:
            return simphoto.decode(bytes(blob))
        except simphoto.SimPhotoError as err:
            raise PhotoError(str(err)) from err

    def describe(self) -> str:
        return "simulated card photos (demo only)"

    def problems(self, settings: FaceSettings, demo: bool) -> List[str]:
        if demo:
            return []
        return [
            'face.decoder: "simulated" reads only the simulator\'s photos; a kiosk uses'
            ' "vendor" or "bmp" (allow_simulated = true belongs in demo configurations only)'
        ]


class VendorLibraryDecoder:
    """The reader vendor's shared library, called through ctypes (module docstring).

    Load and call only in the worker process.
    """

    def __init__(
        self,
        library: str,
        *,
        symbol: str = "unpack",
        flag: int = 602,
        output: str = "bmp",
        output_size: int = 38862,
        success: int = 1,
    ) -> None:
        self.library = library
        self.symbol = symbol
        self.flag = flag
        self.output = output
        self.output_size = output_size
        self.success = success
        self._function: Optional[Callable[..., int]] = None

    def _load(self) -> Callable[..., int]:
        if self._function is None:
            try:
                handle = ctypes.CDLL(self.library)
            except OSError as err:
                raise PhotoError(f"{self.library}: cannot be loaded: {err}") from err
            try:
                function: Any = getattr(handle, self.symbol)
            except AttributeError as err:
                raise PhotoError(f"{self.library}: has no symbol {self.symbol!r}") from err
            function.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
            function.restype = ctypes.c_int
            self._function = function
        return self._function

    def decode(self, blob: bytes) -> Image:
        _check_blob(blob)
        function = self._load()
        source = ctypes.create_string_buffer(bytes(blob), PHOTO_SIZE)
        target = ctypes.create_string_buffer(self.output_size + _SLACK)
        try:
            code = function(source, target, self.flag)
            if code != self.success:
                raise PhotoError(
                    f"{self.library}: {self.symbol}() returned {code}, expected {self.success}"
                )
            written = target.raw[: self.output_size]
        finally:  # the photo leaves no copy behind in these buffers
            ctypes.memset(source, 0, PHOTO_SIZE)
            ctypes.memset(target, 0, self.output_size + _SLACK)
        if self.output == "bmp":
            return parse_bmp(written)
        return _raw_rows(written, self.output)

    def describe(self) -> str:
        return (
            f"vendor library {self.library}: {self.symbol}(wlt, out, {self.flag}) →"
            f" {self.output_size} bytes of {self.output}"
        )

    def problems(self, settings: FaceSettings, demo: bool) -> List[str]:
        if not self.library:
            return ['face.vendor_library: required with decoder = "vendor"']
        if not os.path.isfile(self.library):
            return [f"face.vendor_library: {self.library}: no such file"]
        if not os.access(self.library, os.R_OK):
            return [f"face.vendor_library: {self.library}: not readable by this user"]
        found = []
        minimum = _FILE_HEADER.size + 40 + 308 * 126 if self.output == "bmp" else RAW_SIZE
        if self.output_size < minimum:
            found.append(
                f"face.vendor_output_size: {self.output_size} bytes cannot hold a"
                f" 102×126 {self.output} photo ({minimum} bytes)"
            )
        symbol_problem = library_has_symbol(self.library, self.symbol)
        if symbol_problem:
            found.append(symbol_problem)
        return found


_PROBE = """
import ctypes, sys
try:
    handle = ctypes.CDLL(sys.argv[1])
except OSError as err:
    print(err)
    sys.exit(3)
sys.exit(0 if hasattr(handle, sys.argv[2]) else 4)
"""


def library_has_symbol(library: str, symbol: str, timeout: float = 20.0) -> Optional[str]:
    """``None`` when ``library`` loads and exports ``symbol``, else the problem.

    Loaded in a throw-away child interpreter: loading runs the library's constructors,
    which must not run (or crash) in the calling process.
    """
    try:
        probe = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _PROBE, library, symbol],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"face.vendor_library: {library}: loading it took longer than {timeout:.0f} s"
    if probe.returncode == 3:
        return f"face.vendor_library: {library}: cannot be loaded: {probe.stdout.strip()}"
    if probe.returncode == 4:
        return f"face.vendor_symbol: {library} has no symbol {symbol!r}"
    if probe.returncode != 0:
        return f"face.vendor_library: {library}: loading it failed (exit {probe.returncode})"
    return None


def decoder_for(settings: FaceSettings) -> PhotoDecoder:
    """The decoder ``[face] decoder`` names."""
    if settings.decoder == "vendor":
        return VendorLibraryDecoder(
            settings.vendor_library,
            symbol=settings.vendor_symbol,
            flag=settings.vendor_flag,
            output=settings.vendor_output,
            output_size=settings.vendor_output_size,
            success=settings.vendor_success,
        )
    table: Dict[str, Callable[[], PhotoDecoder]] = {
        "bmp": BmpDecoder,
        "simulated": SimulatedDecoder,
        "none": NoDecoder,
    }
    return table[settings.decoder]()


def decoder_key(settings: FaceSettings) -> Tuple[object, ...]:
    """What a decoder is built from: a worker keeps one decoder per key."""
    return (
        settings.decoder,
        settings.vendor_library,
        settings.vendor_symbol,
        settings.vendor_flag,
        settings.vendor_output,
        settings.vendor_output_size,
        settings.vendor_success,
    )
