"""`gankit serve` as a client sees it: the server started on a free local port, every named
endpoint called with gradio_client, as the page's buttons call them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file  # the dev set-up installs gankit[ui]
from gradio_client.exceptions import AppError
from PIL import Image

from gankit.cli import main
from tests.ui.conftest import huge_png, serving, write_image

# /open's outputs a client sees (layout blocks send none): their positions
OPEN_CLASS, OPEN_TRUNCATION, OPEN_UPLOADS, OPEN_CAPTIONS = 8, 9, 10, 12
OPEN_CODES, OPEN_DIRECTION, OPEN_SCHEDULE, OPEN_GROWN = slice(14, 22), 22, 23, 24


@pytest.fixture(scope="module")
def server(runs_root: Path) -> Iterator[str]:
    with serving(runs_root) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Client:
    return Client(server, verbose=False)


def picture(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_the_server_binds_to_localhost_only(server: str) -> None:
    assert server.startswith("http://127.0.0.1:")


def test_every_endpoint_is_named(client: Client) -> None:
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    expected = {"/runs", "/open", "/samples", "/generate", "/walk", "/mix", "/codes"}
    assert named == expected | {"/translate", "/text"}


def test_runs_lists_every_run_with_its_grid(client: Client) -> None:
    table, gallery, _ = client.predict(api_name="/runs")
    names = [row[0] for row in table["data"]]
    assert "dcgan" in names and "sweep/seed-1" in names and "stackgan-2" in names
    row = table["data"][names.index("dcgan")]
    assert row[1:6] == ["dcgan", "digits", 4, 4, "finished"]
    assert len(gallery) == len(names)  # every run has saved a grid
    assert any(g["caption"] == "dcgan · step 4" for g in gallery)


def test_open_shows_the_training_and_the_sections_that_fit(client: Client) -> None:
    out = client.predict("dcgan", api_name="/open")
    assert "**dcgan** on **digits**" in out[0] and "finished" in out[0]
    assert out[1]["visible"] and out[1]["value"]["type"] == "matplotlib"  # the curves
    assert out[2]["visible"] and not out[3]["visible"]  # no augmentation: no third plot
    assert out[4]["minimum"] == 0 and out[4]["maximum"] == 4 and out[4]["step"] == 2
    assert picture(out[5]).ndim == 3 and "step 4" in out[6]
    assert out[OPEN_UPLOADS]["visible"] and not out[OPEN_CAPTIONS]["visible"]
    cgan = client.predict("cgan", api_name="/open")
    assert cgan[OPEN_CLASS]["visible"]
    assert [c[0] for c in cgan[OPEN_CLASS]["choices"]] == ["random", *map(str, range(10))]
    style = client.predict("stylegan", api_name="/open")
    assert style[OPEN_TRUNCATION]["visible"] and "ψ" in style[OPEN_TRUNCATION]["label"]
    info = client.predict("infogan", api_name="/open")
    assert [s.get("visible") for s in info[OPEN_CODES]][:4] == [True, True, True, False]
    cycle = client.predict("cyclegan", api_name="/open")
    assert cycle[OPEN_DIRECTION]["interactive"]
    srgan = client.predict("srgan", api_name="/open")
    assert not srgan[OPEN_DIRECTION]["interactive"]
    text = client.predict("stackgan", api_name="/open")
    assert text[OPEN_CAPTIONS]["visible"]
    grow = client.predict("progan", api_name="/open")
    assert [r[0] for r in grow[OPEN_SCHEDULE]["data"]][:2] == ["4×4", "8×8"]
    assert len(grow[OPEN_GROWN]) == 2


def test_the_step_slider_moves_through_saved_grids(client: Client) -> None:
    first, caption = client.predict("dcgan", 0, api_name="/samples")
    last, _ = client.predict("dcgan", 4, api_name="/samples")
    assert "step 0" in caption
    assert not np.array_equal(picture(first), picture(last))


def test_generate_changes_with_the_seed_and_repeats_with_it(client: Client) -> None:
    a = picture(client.predict("dcgan", 1, 4, 0, "random", api_name="/generate"))
    b = picture(client.predict("dcgan", 1, 4, 0, "random", api_name="/generate"))
    c = picture(client.predict("dcgan", 2, 4, 0, "random", api_name="/generate"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert picture(client.predict("cgan", 0, 8, 0, "7", api_name="/generate")).ndim == 3
    psi = picture(client.predict("stylegan", 0, 4, 0.5, "random", api_name="/generate"))
    full = picture(client.predict("stylegan", 0, 4, 1.0, "random", api_name="/generate"))
    assert not np.array_equal(psi, full)  # ψ reaches the model


def test_walks_mixing_codes_translation_and_text(client: Client, tmp_path: Path) -> None:
    strip, gif = client.predict(
        "dcgan", "0, 3, 5", 4, True, None, 10, "", 0, "random", api_name="/walk"
    )
    assert picture(strip).ndim == 3 and Path(gif).read_bytes()[:3] == b"GIF"
    images = [handle_file(str(write_image(tmp_path / f"{i}.png"))) for i in range(2)]
    strip, _ = client.predict("dcgan", "", 3, False, images, 10, "", 0, "random", api_name="/walk")
    assert picture(strip).ndim == 3
    strip, _ = client.predict(
        "stackgan", "0", 3, False, None, 10, "a red circle\na blue square", 0, "random",
        api_name="/walk",
    )  # fmt: skip
    assert picture(strip).ndim == 3
    mixed = client.predict("stylegan", "0, 1", "2, 3", 2, 1.0, api_name="/mix")
    assert picture(mixed).ndim == 3
    client.predict("infogan", api_name="/open")  # sets the sliders' ranges, as on the page
    coded = client.predict("infogan", 0, 4, 3, 1.5, -1.5, 0, 0, 0, 0, 0, api_name="/codes")
    assert picture(coded).ndim == 3
    source = handle_file(str(write_image(tmp_path / "digit.png", (16, 16))))
    shown = client.predict("cyclegan", source, "BtoA", api_name="/translate")
    assert [s["caption"] for s in shown] == ["input", "cyclegan BtoA"]
    photo = handle_file(str(write_image(tmp_path / "small.png", (10, 10), "RGB")))
    shown = client.predict("srgan", photo, "AtoB", api_name="/translate")
    assert [s["caption"] for s in shown] == ["input", "bicubic ×4", "SRGAN ×4"]
    bicubic, sr = picture(shown[1]["image"]), picture(shown[2]["image"])
    assert bicubic.shape == sr.shape and sr.shape[0] > picture(shown[0]["image"]).shape[0]
    stages = client.predict("stackgan-2", "a green triangle", 2, 0, api_name="/text")
    assert [s["caption"] for s in stages] == ["Stage-I", "Stage-II"]


@pytest.mark.parametrize("name", ["../dcgan", "/etc", "dcgan/../../x", "escape"])
def test_runs_outside_the_folder_are_refused(
    client: Client, runs_root: Path, tmp_path: Path, name: str
) -> None:
    link = runs_root / "escape"
    link.symlink_to(tmp_path, target_is_directory=True)
    try:
        with pytest.raises(AppError) as err:
            client.predict(name, 0, 4, 0, "random", api_name="/generate")
    finally:
        link.unlink()
    assert "run" in str(err.value)


def test_bad_input_is_one_clear_message(client: Client, tmp_path: Path) -> None:
    huge = handle_file(str(huge_png(tmp_path / "huge.png")))
    with pytest.raises(AppError, match="400,000,000 pixels"):
        client.predict("cyclegan", huge, "AtoB", api_name="/translate")
    with pytest.raises(AppError, match=r"0\.\.9"):
        client.predict("cgan", 0, 4, 0, "11", api_name="/generate")
    photo = handle_file(str(write_image(tmp_path / "p.png", (8, 8), "RGB")))
    with pytest.raises(AppError, match="'srgan' translates AtoB, not 'BtoA'"):
        client.predict("srgan", photo, "BtoA", api_name="/translate")
    with pytest.raises(AppError, match="upload an image"):
        client.predict("cyclegan", None, "AtoB", api_name="/translate")
    with pytest.raises(AppError, match="at least 2"):
        client.predict("dcgan", "4", 4, False, None, 10, "", 0, "random", api_name="/walk")
    # over the 20 MB limit: gradio_client will not send it, and the server refuses it (413)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(21 * 2**20))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict("cyclegan", handle_file(str(big)), "AtoB", api_name="/translate")
    upload = f"{client.src.rstrip('/')}/gradio_api/upload"
    refused = httpx.post(upload, files={"files": ("big.png", big.read_bytes(), "image/png")})
    assert refused.status_code == 413
    # the server is still there
    assert client.predict("dcgan", 0, 1, 0, "random", api_name="/generate")


def test_a_slow_request_does_not_hold_back_a_fast_one(client: Client, tmp_path: Path) -> None:
    images = [handle_file(str(write_image(tmp_path / f"{i}.png"))) for i in range(4)]
    slow = client.submit(
        "stylegan", "", 8, False, images, 1000, "", 1.0, "random", api_name="/walk"
    )
    time.sleep(0.5)  # the projection has started
    start = time.perf_counter()
    client.predict("dcgan", 0, 4, 0, "random", api_name="/generate")
    fast = time.perf_counter() - start
    assert not slow.done(), "the projection finished first: it is not slow enough to tell"
    assert fast < 5.0
    slow.result(timeout=300)


def test_serve_refuses_a_missing_folder_and_a_busy_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done: list[int] = []
        thread = threading.Thread(
            target=lambda: done.append(main(["serve", str(tmp_path), "--port", str(port)]))
        )
        thread.start()
        thread.join(60)
    assert done == [2]
    assert "cannot serve" in capsys.readouterr().err
