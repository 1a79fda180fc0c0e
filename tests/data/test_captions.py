"""Captioned data: the `shapes` scenes and their captions, glyph captions, `captioned:PATH`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import DataConfig, build_dataset
from gankit.data.glyphs import FONT_KEYS, FONTS, glyph_caption
from gankit.data.shapes import (
    ATTRIBUTES,
    RGB,
    UNSEEN,
    VALUES,
    WORDS,
    Scene,
    Shape,
    draw_scene,
    shapes_split,
)
from gankit.errors import GankitError
from gankit.text.tokens import decode


def _says(text: str, value: str) -> bool:
    return any(word in text for word in WORDS[value])


def test_shapes_batches_and_determinism() -> None:
    data = build_dataset(DataConfig("shapes", resolution=16, size=40))
    assert data.info.kind == "captioned" and data.info.shape == (3, 16, 16)
    assert len(data) == 200  # five captions per scene
    batch = data.batch(torch.tensor([0, 7, 199]))
    assert batch["x"].shape == (3, 3, 16, 16) and batch["x"].min() >= -1
    assert batch["t"].dtype == torch.int64 and batch["i"].tolist() == [0, 1, 39]
    assert decode(batch["t"][:1])[0] == data.captions[0]
    again = build_dataset(DataConfig("shapes", resolution=16, size=40))
    assert torch.equal(again.x, data.x) and again.captions == data.captions
    other = build_dataset(DataConfig("shapes", resolution=16, size=40, seed=1))
    assert not torch.equal(other.x, data.x)


def test_every_caption_names_every_attribute_of_its_scene() -> None:
    data = shapes_split("train", resolution=16, size=300)
    templates = set()
    for text, image in zip(data.captions, data.image_index.tolist(), strict=True):
        scene = data.scenes[image]
        assert _says(text, scene.background), text
        for shape in scene.shapes:
            for value in (shape.kind, shape.colour, shape.size, shape.position):
                assert _says(text, value), (text, value)
        templates.add(text.split()[0])
    assert len(templates) >= 4  # several sentence shapes, not one


def test_unseen_combinations_are_held_out_of_training() -> None:
    train, test = shapes_split("train", resolution=16), shapes_split("test", resolution=16)
    pairs = {(s.kind, s.colour) for scene in train.scenes for s in scene.shapes}
    assert not pairs & set(UNSEEN)
    assert {k for k, _ in pairs} == set(VALUES["kind"])  # every kind and colour still seen
    assert {c for _, c in pairs} == set(VALUES["colour"])
    assert test.seen.float().mean() == 0.5
    unseen = {
        (s.shapes[0].kind, s.shapes[0].colour) for s, ok in zip(test.scenes, test.seen) if not ok
    }
    assert unseen == set(UNSEEN)
    assert all(len(s.shapes) == 1 for s in test.scenes)
    assert any(len(s.shapes) == 2 for s in train.scenes)


def test_attributes_are_the_first_shapes_ground_truth() -> None:
    data = shapes_split("test", resolution=16, size=20)
    for row, scene in zip(data.attributes.tolist(), data.scenes, strict=True):
        shape = scene.shapes[0]
        truth = (shape.kind, shape.colour, shape.size, shape.position, scene.background)
        assert [VALUES[a][i] for a, i in zip(ATTRIBUTES, row, strict=True)] == list(truth)


def test_drawn_scene_has_its_colours_where_it_says() -> None:
    scene = Scene("black", (Shape("square", "red", "large", "top left"),))
    image = draw_scene(scene, 32, np.random.default_rng(0))
    assert image.shape == (3, 32, 32) and image.dtype == np.uint8
    assert tuple(image[:, 9, 9]) == RGB["red"]  # inside the square, near (0.3, 0.3)
    assert tuple(image[:, 28, 28]) == RGB["black"]  # the opposite corner


def test_glyph_captions_follow_the_font() -> None:
    rng = np.random.default_rng(0)
    bold_serif = next(
        k for k in FONT_KEYS if FONTS[k].bold and FONTS[k].serif and not FONTS[k].italic
    )
    text = glyph_caption("G", FONTS[bold_serif], rng)
    assert "G" in text and ("bold" in text or "heavy" in text) and "serif" in text
    assert any(w in text for w in ("capital", "uppercase"))
    italic = next(k for k in FONT_KEYS if FONTS[k].italic and not FONTS[k].bold)
    text = glyph_caption("k", FONTS[italic], rng)
    assert any(w in text for w in ("italic", "slanted")) and "bold" not in text
    data = build_dataset(DataConfig("glyphs-captions", resolution=16, split="test"))
    assert data.info.kind == "captioned" and len(data) == 3 * len(data.x)


def _image(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (20, 24), colour).save(path)


def test_captioned_folder_reads_txt_and_jsonl(tmp_path: Path) -> None:
    _image(tmp_path / "a.png")
    (tmp_path / "a.txt").write_text("a red thing\n\nsomething red\n")
    _image(tmp_path / "sub" / "b.png", (30, 30, 200))
    record = {"image": "sub/b.png", "captions": ["a blue thing"]}
    (tmp_path / "captions.jsonl").write_text(json.dumps(record) + "\n")
    data = build_dataset(DataConfig(f"captioned:{tmp_path}", resolution=16))
    assert data.info.kind == "captioned" and data.x.shape == (2, 3, 16, 16)
    assert data.captions == ["a red thing", "something red", "a blue thing"]
    assert data.image_index.tolist() == [0, 0, 1]
    assert data.x[1, 2, 8, 8] == 200  # the blue image is the one captioned blue


def test_captioned_folder_errors_name_the_files(tmp_path: Path) -> None:
    _image(tmp_path / "a.png")
    _image(tmp_path / "b.png")
    (tmp_path / "a.txt").write_text("fine\n")
    with pytest.raises(GankitError, match=r"1 image\(s\).*no caption: b\.png"):
        build_dataset(DataConfig(f"captioned:{tmp_path}"))
    (tmp_path / "captions.jsonl").write_text('{"image": "b.png"}\n')
    with pytest.raises(GankitError, match=r"captions\.jsonl, line 1"):
        build_dataset(DataConfig(f"captioned:{tmp_path}"))
    (tmp_path / "captions.jsonl").write_text('{"image": "c.png", "caption": "x"}\n')
    with pytest.raises(GankitError, match="not there"):
        build_dataset(DataConfig(f"captioned:{tmp_path}"))
    with pytest.raises(GankitError, match="no such folder"):
        build_dataset(DataConfig(f"captioned:{tmp_path / 'nope'}"))
    with pytest.raises(
        GankitError, match=rf"a\.png is a file, not a folder.*captioned:{tmp_path}$"
    ):
        build_dataset(DataConfig(f"captioned:{tmp_path / 'a.png'}"))
