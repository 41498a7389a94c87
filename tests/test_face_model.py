"""The face model on the fixture photos: same person matches (also against a card photo
degraded through simphoto), different persons do not; quality hints; ``govkioskctl face``.

Seven photos cannot measure accuracy: these tests pin the behaviour the threshold was
chosen for (docs/face.md), nothing more.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import cv2
import numpy as np
import pytest

from govkiosk.devices.idcard import simphoto
from govkiosk.faceverify.errors import ModelError, NoFaceError
from govkiosk.faceverify.model import (
    FaceModel,
    distance,
    distance_at,
    model_paths,
    quality_hint,
    score,
)
from govkiosk.faceverify.photo import SimulatedDecoder
from govkiosk.faceverify.settings import FaceSettings
from harness.faces import BOXES, FACES, PEOPLE, card, photo

THRESHOLD = FaceSettings().threshold
PAIRS = list(itertools.combinations(sorted(BOXES), 2))


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return FaceModel()


@pytest.fixture(scope="module")
def photos(model: FaceModel) -> Dict[str, np.ndarray]:
    """Each fixture's embedding, from the photo itself."""
    found = {}
    for name in BOXES:
        [face] = model.faces_in_image(photo(name))
        found[name] = face.embedding
    return found


@pytest.fixture(scope="module")
def cards(model: FaceModel) -> Dict[str, np.ndarray]:
    """Each fixture's embedding, from its simulated card photo (102×126, ~1 KB)."""
    return {name: model.card_embedding(SimulatedDecoder().decode(card(name))) for name in BOXES}


def test_score_is_one_minus_distance_over_1_1() -> None:
    assert score(0.0) == 1.0
    assert score(0.55) == pytest.approx(0.5)
    assert score(2.0) == 0.0
    assert distance_at(THRESHOLD) == pytest.approx(0.55)


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_photo_pairs(photos: Dict[str, np.ndarray], a: str, b: str) -> None:
    similarity = score(distance(photos[a], photos[b]))
    assert (similarity >= THRESHOLD) == (PEOPLE[a] == PEOPLE[b]), similarity


@pytest.mark.parametrize(("a", "b"), PAIRS + [(b, a) for a, b in PAIRS])
def test_card_against_photo_pairs(
    cards: Dict[str, np.ndarray], photos: Dict[str, np.ndarray], a: str, b: str
) -> None:
    """``a``'s card photo, degraded, against ``b``'s photo."""
    similarity = score(distance(cards[a], photos[b]))
    assert (similarity >= THRESHOLD) == (PEOPLE[a] == PEOPLE[b]), similarity


def test_a_card_photo_matches_its_own_source(
    cards: Dict[str, np.ndarray], photos: Dict[str, np.ndarray]
) -> None:
    for name in BOXES:
        assert score(distance(cards[name], photos[name])) >= THRESHOLD + 0.1


def test_biden_is_not_obama_even_at_dlibs_own_threshold(
    photos: Dict[str, np.ndarray], cards: Dict[str, np.ndarray]
) -> None:
    assert distance(photos["biden.jpg"], photos["obama.jpg"]) > 0.6
    assert distance(cards["obama.jpg"], photos["biden.jpg"]) > 0.6


def test_a_card_photo_without_a_face(model: FaceModel) -> None:
    blank = SimulatedDecoder().decode(simphoto.encode(np.full((400, 300, 3), 90, np.uint8)))
    with pytest.raises(NoFaceError, match="no face was found in the card's photo"):
        model.card_embedding(blank)


def test_two_people_are_two_faces(model: FaceModel) -> None:
    faces = model.faces_in_image(photo("two_people.jpg"))
    assert len(faces) == 2
    assert faces[0].box[2] * faces[0].box[3] >= faces[1].box[2] * faces[1].box[3]
    assert "<withheld>" in repr(faces[0])


@pytest.mark.parametrize(
    ("boxes", "brightness", "hint"),
    [
        ([], 0.0, "no_face"),
        ([(220, 116, 200, 200)], 120.0, None),
        ([(220, 116, 200, 200), (20, 20, 110, 110)], 120.0, "several_faces"),
        ([(220, 116, 200, 200), (20, 20, 40, 40)], 120.0, None),  # far behind: ignored
        ([(270, 160, 100, 100)], 120.0, "closer"),
        ([(20, 116, 200, 200)], 120.0, "centre"),
        ([(220, 0, 200, 200)], 120.0, "centre"),
        ([(220, 116, 200, 200)], 40.0, "too_dark"),
    ],
)
def test_quality_hints(boxes, brightness: float, hint) -> None:
    assert quality_hint((640, 480), boxes, brightness, 140) == hint


def test_a_smaller_frame_scales_the_face_size() -> None:
    assert quality_hint((320, 240), [(110, 58, 100, 100)], 120.0, 140) is None
    assert quality_hint((320, 240), [(135, 70, 50, 50)], 120.0, 140) == "closer"


def test_weights_from_a_directory_missing_files(tmp_path: Path) -> None:
    assert model_paths(str(tmp_path))["recognition"] == (
        tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    )
    with pytest.raises(ModelError, match=r"shape_predictor_5_face_landmarks\.dat: no such file"):
        FaceModel(str(tmp_path))


def _ctl(*args: str) -> subprocess.CompletedProcess:
    ctl = Path(sys.executable).with_name("govkioskctl")
    return subprocess.run(
        [str(ctl), "face", "compare", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_govkioskctl_face_compare(tmp_path: Path) -> None:
    same = _ctl(str(FACES / "obama.jpg"), str(FACES / "obama2.jpg"), "--json")
    assert same.returncode == 0, same.stderr
    report = json.loads(same.stdout)
    assert report["matched"] is True
    assert report["a"]["faces"] == report["b"]["faces"] == 1
    assert report["threshold"] == THRESHOLD
    assert 0 < report["distance"] < report["threshold_distance"]
    other = _ctl(str(FACES / "obama.jpg"), str(FACES / "biden.jpg"))
    assert other.returncode == 0
    assert other.stdout.splitlines()[-1] == "decision: different persons"
    # A card photo (under 300 px high) is searched as the verifier searches one.
    small = tmp_path / "card.png"
    cv2.imwrite(str(small), SimulatedDecoder().decode(card("obama2.jpg")))
    as_card = _ctl(str(FACES / "obama.jpg"), str(small), "--json")
    assert json.loads(as_card.stdout)["matched"] is True
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((400, 400, 3), 120, np.uint8))
    missing = _ctl(str(blank), str(FACES / "biden.jpg"))
    assert missing.returncode == 3
    assert "no face found" in missing.stdout
    unreadable = _ctl(str(tmp_path / "none.jpg"), str(FACES / "biden.jpg"))
    assert unreadable.returncode == 2
    assert "not an image file" in unreadable.stderr
