"""`shapes`: procedurally drawn scenes of one or two coloured shapes, with captions.

Each scene has a background colour and one or two shapes, each with a kind, a colour, a size and a
position; its captions say all of it in different words (several sentence templates, synonyms for
every attribute), so that a text encoder must learn what the words mean rather than where they
stand. Some (kind, colour) combinations are never drawn in the training split; the test split
holds single-shape scenes of seen combinations and of those unseen ones (`seen` marks which), to
test whether a model composes attributes it learned apart.

The ground truth travels with the data (`ShapesDataset.attributes`), so that classifiers trained
on it can judge whether a generated image shows what its caption says.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from gankit.data.base import DataConfig, register_dataset
from gankit.data.captions import CaptionedDataset, captioned_info

KINDS = ("circle", "square", "triangle", "diamond")
COLOURS = ("red", "green", "blue", "yellow", "purple", "cyan")
SIZES = ("small", "large")
POSITIONS = ("top left", "top right", "bottom left", "bottom right", "center")
BACKGROUNDS = ("white", "black", "gray")
# one [N, 5] column each for shape 1: kind, colour, size, position; and the background
ATTRIBUTES = ("kind", "colour", "size", "position", "background")
VALUES: dict[str, tuple[str, ...]] = {
    "kind": KINDS,
    "colour": COLOURS,
    "size": SIZES,
    "position": POSITIONS,
    "background": BACKGROUNDS,
}
# (kind, colour) never drawn in training: every kind and every colour is still seen 5 times
UNSEEN = (("circle", "green"), ("square", "purple"), ("triangle", "yellow"), ("diamond", "red"))

RGB = {
    "red": (215, 40, 40),
    "green": (40, 170, 60),
    "blue": (45, 85, 225),
    "yellow": (240, 205, 30),
    "purple": (140, 55, 200),
    "cyan": (40, 200, 215),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
}
CENTRES = {
    "top left": (0.3, 0.3),
    "top right": (0.7, 0.3),
    "bottom left": (0.3, 0.7),
    "bottom right": (0.7, 0.7),
    "center": (0.5, 0.5),
}
EXTENT = {"small": 0.28, "large": 0.5}  # the shape's side (or diameter) as a fraction of R
JITTER = 0.04  # centre shift, fraction of R
SIZE_JITTER = 0.1  # relative
SUPERSAMPLE = 4
DEFAULT_RESOLUTION = 64
SCENES = {"train": 4000, "test": 1000, "judge": 8000}
SPLIT_STREAMS = ("train", "test", "judge")
TWO_SHAPES = 0.3  # fraction of training scenes with a second (small) shape
CAPTIONS_PER_SCENE = 5

# synonyms: the first is the plain word
WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "round blob", "disc", "dot"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "three-sided shape", "wedge"),
    "diamond": ("diamond", "rhombus", "lozenge"),
    "red": ("red", "scarlet", "crimson"),
    "green": ("green", "emerald", "grass-green"),
    "blue": ("blue", "navy", "cobalt"),
    "yellow": ("yellow", "golden", "lemon"),
    "purple": ("purple", "violet", "lilac"),
    "cyan": ("cyan", "turquoise", "aqua"),
    "small": ("small", "little", "tiny"),
    "large": ("large", "big", "huge"),
    "top left": ("in the top left", "upper left", "at the top-left corner"),
    "top right": ("in the top right", "upper right", "at the top-right corner"),
    "bottom left": ("in the bottom left", "lower left", "at the bottom-left corner"),
    "bottom right": ("in the bottom right", "lower right", "at the bottom-right corner"),
    "center": ("in the center", "in the middle", "centred"),
    "white": ("white", "snow-white", "pale"),
    "black": ("black", "dark", "jet-black"),
    "gray": ("gray", "grey", "slate"),
}
# a scene's first shape and its background; a second shape is appended
TEMPLATES = (
    "a {size} {colour} {kind} {pos} on a {bg} background",
    "{colour} {kind}, {size}, {pos}, {bg} background",
    "there is a {size} {colour} {kind} {pos} against {bg}",
    "{bg} background with a {size} {colour} {kind} {pos}",
    "{size} {kind} coloured {colour}, {pos}, {bg} backdrop",
    "a {colour} {kind} that is {size}, {pos}, on {bg}",
)


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    position: str


@dataclass(frozen=True)
class Scene:
    background: str
    shapes: tuple[Shape, ...]

    @property
    def attributes(self) -> list[int]:
        """The first shape's kind, colour, size and position and the background, as indices."""
        first = self.shapes[0]
        values = (first.kind, first.colour, first.size, first.position, self.background)
        return [VALUES[a].index(v) for a, v in zip(ATTRIBUTES, values, strict=True)]

    @property
    def seen(self) -> bool:
        return all((s.kind, s.colour) not in UNSEEN for s in self.shapes)


# --- drawing -----------------------------------------------------------------------------------


def _outline(shape: Shape, side: float, rng: np.random.Generator) -> tuple[str, list]:
    """The shape's drawing primitive and points on a canvas of `side` pixels."""
    cx, cy = CENTRES[shape.position]
    cx, cy = (c + rng.uniform(-JITTER, JITTER) for c in (cx, cy))
    half = EXTENT[shape.size] * (1 + rng.uniform(-SIZE_JITTER, SIZE_JITTER)) / 2
    cx, cy, half = cx * side, cy * side, half * side
    if shape.kind == "circle":
        return "ellipse", [(cx - half, cy - half), (cx + half, cy + half)]
    angle = math.radians(rng.uniform(-10, 10))
    corners: list[tuple[float, float]] = {
        "square": [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)],
        "triangle": [(0.0, -1.1), (1.05, 0.85), (-1.05, 0.85)],
        "diamond": [(0.0, -1.15), (0.8, 0.0), (0.0, 1.15), (-0.8, 0.0)],
    }[shape.kind]
    cos, sin = math.cos(angle), math.sin(angle)
    points = [
        (cx + half * (x * cos - y * sin), cy + half * (x * sin + y * cos)) for x, y in corners
    ]
    return "polygon", points


def draw_scene(scene: Scene, resolution: int, rng: np.random.Generator) -> np.ndarray:
    """The scene as uint8 [3, R, R], drawn at 4× and reduced (smooth edges at any R)."""
    side = resolution * SUPERSAMPLE
    canvas = Image.new("RGB", (side, side), RGB[scene.background])
    pen = ImageDraw.Draw(canvas)
    for shape in scene.shapes:
        primitive, points = _outline(shape, side, rng)
        getattr(pen, primitive)(points, fill=RGB[shape.colour])
    small = canvas.resize((resolution, resolution), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8).transpose(2, 0, 1)


# --- scenes and captions ----------------------------------------------------------------------


def _shape(rng: np.random.Generator, *, unseen: bool | None, size: str | None = None) -> Shape:
    """A random shape; `unseen` True draws an unseen (kind, colour), False a seen one."""
    while True:
        kind, colour = str(rng.choice(KINDS)), str(rng.choice(COLOURS))
        if unseen is None or ((kind, colour) in UNSEEN) == unseen:
            break
    return Shape(kind, colour, size or str(rng.choice(SIZES)), str(rng.choice(POSITIONS)))


def random_scenes(n: int, split: str, rng: np.random.Generator) -> list[Scene]:
    """`n` scenes of `split`: training scenes (a second small shape in 30%, never an unseen
    combination); test scenes of one shape, half of them unseen combinations; `judge` scenes of
    one shape in any combination (the attribute classifier's training data, never a model's)."""
    scenes = []
    for k in range(n):
        background = str(rng.choice(BACKGROUNDS))
        if split == "judge":  # any combination: what the attribute classifier learns from
            scenes.append(Scene(background, (_shape(rng, unseen=None),)))
            continue
        if split == "test":
            scenes.append(Scene(background, (_shape(rng, unseen=k % 2 == 1),)))
            continue
        if rng.random() >= TWO_SHAPES:
            scenes.append(Scene(background, (_shape(rng, unseen=False),)))
            continue
        first = _shape(rng, unseen=False, size="small")
        while (second := _shape(rng, unseen=False, size="small")).position == first.position:
            pass
        scenes.append(Scene(background, (first, second)))
    return scenes


def _phrase(word: str, rng: np.random.Generator) -> str:
    return str(rng.choice(WORDS[word]))


def caption(scene: Scene, rng: np.random.Generator) -> str:
    """One caption of `scene`, in a random template with random synonyms."""
    template = str(rng.choice(TEMPLATES))
    first, *rest = scene.shapes

    def words(shape: Shape) -> dict[str, str]:
        return {
            "size": _phrase(shape.size, rng),
            "colour": _phrase(shape.colour, rng),
            "kind": _phrase(shape.kind, rng),
            "pos": _phrase(shape.position, rng),
        }

    text = template.format(**words(first), bg=_phrase(scene.background, rng))
    for shape in rest:
        w = words(shape)
        text += f", and a {w['size']} {w['colour']} {w['kind']} {w['pos']}"
    return text


@functools.lru_cache(maxsize=8)
def _render(split: str, seed: int, resolution: int, scenes: int) -> tuple:
    rng = np.random.default_rng(np.random.SeedSequence([seed, SPLIT_STREAMS.index(split)]))
    drawn = random_scenes(scenes, split, rng)
    x = torch.from_numpy(np.stack([draw_scene(s, resolution, rng) for s in drawn]))
    captions = [caption(s, rng) for s in drawn for _ in range(CAPTIONS_PER_SCENE)]
    index = torch.arange(scenes).repeat_interleave(CAPTIONS_PER_SCENE)
    attributes = torch.tensor([s.attributes for s in drawn])
    seen = torch.tensor([s.seen for s in drawn])
    return x, captions, index, attributes, seen, tuple(drawn)


class ShapesDataset(CaptionedDataset):
    """`CaptionedDataset` of shape scenes with their ground truth.

    Attributes:
        scenes: each image's `Scene`.
        attributes: [N_img, 5] the first shape's kind, colour, size, position and the background
            (indices into `VALUES[name]`, in `ATTRIBUTES` order).
        seen: [N_img] bool: every (kind, colour) of the scene occurs in training.
    """

    def __init__(
        self,
        x: Tensor,
        captions: Sequence[str],
        image_index: Tensor,
        attributes: Tensor,
        seen: Tensor,
        scenes: Sequence[Scene],
    ) -> None:
        super().__init__(x, captions, image_index, captioned_info("shapes", x))
        self.attributes, self.seen, self.scenes = attributes, seen, list(scenes)


def shapes_split(
    split: str, *, seed: int = 0, resolution: int = DEFAULT_RESOLUTION, size: int | None = None
) -> ShapesDataset:
    """The scenes of one split (fresh tensors; rendering is cached)."""
    x, captions, index, attributes, seen, scenes = _render(
        split, seed, resolution, size or SCENES[split]
    )
    return ShapesDataset(
        x.clone(), captions, index.clone(), attributes.clone(), seen.clone(), scenes
    )


@register_dataset(
    "shapes",
    kind="captioned",
    help="one or two coloured shapes, 5 captions each; unseen combinations held out",
)
def shapes(cfg: DataConfig, arg: str | None) -> ShapesDataset:
    resolution = cfg.resolution or DEFAULT_RESOLUTION
    parts = ("train", "test") if cfg.split == "all" else (cfg.split,)
    got = [shapes_split(s, seed=cfg.seed, resolution=resolution, size=cfg.size) for s in parts]
    if len(got) == 1:
        return got[0]
    a, b = got
    offset = len(a.x)
    return ShapesDataset(
        torch.cat([a.x, b.x]),
        a.captions + b.captions,
        torch.cat([a.image_index, b.image_index + offset]),
        torch.cat([a.attributes, b.attributes]),
        torch.cat([a.seen, b.seen]),
        a.scenes + b.scenes,
    )
