"""The Gradio page of `gankit serve`: a runs table and one page per run.

Layout: two tabs. "Runs" lists every run under the folder (sortable by any column, with the
newest sample grid of each) and refreshes on its own while runs train; selecting a run opens it
in "Run". The run tab shows the training (curves from metrics.jsonl, the fixed-latent grid at
every saved step on a slider, cached `gankit eval` results) and the sections its model can use:
sampling, latent walks, style mixing, InfoGAN's codes, translation, text-to-image and ProGAN's
growth. Sections a model cannot use are hidden; each button is one named API endpoint (`/generate`,
`/walk`, ...), so the page and `gradio_client` call the same functions. Every action is an
`Explorer` method (plain Python, in `explore.py`); this module only lays out and converts.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from gankit.errors import GankitError
from gankit.ui.explore import (
    MAX_PROJECT_STEPS,
    MAX_SAMPLES,
    MAX_UPLOAD_SIDE,
    MAX_WALK_STEPS,
    Explorer,
)

REFRESH_S = 4.0  # how often the page looks for new steps of runs still training
MAX_CODES = 8  # InfoGAN code sliders laid out (the paper's MNIST model has 3)
MAX_UPLOAD_BYTES = "20mb"  # Gradio refuses larger uploads before they reach gankit
RUN_COLUMNS = [
    "run",
    "model",
    "data",
    "step",
    "of",
    "status",
    "wall",
    "D/loss",
    "G/loss",
    "updated",
]
CSS = """
.gk-grid img { image-rendering: pixelated; }
footer { display: none !important; }
"""


def _user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """gankit's own errors (a bad seed, an image too large, a run outside the folder) shown as
    the page's error message, not as a traceback."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GankitError as err:
            raise gr.Error(str(err), print_exception=False) from None

    return wrapped


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's fonts: the page fetches nothing from the web."""
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def build_app(explorer: Explorer) -> gr.Blocks:
    """The page for `explorer`'s folder (launch it with `serve`, or `.launch()` it yourself)."""
    ex = explorer

    def runs_view() -> tuple[list[list[Any]], list[tuple[Any, str]]]:
        rows, pictures = [], []
        for r in ex.runs():
            last = r.last
            rows.append(
                [
                    r.name,
                    r.model,
                    r.data,
                    r.step,
                    r.steps,
                    r.status,
                    _duration(r.wall_s),
                    _num(last.get("D/loss")),
                    _num(last.get("G/loss")),
                    datetime.fromtimestamp(r.updated).strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )
            if r.newest_sample is not None:
                pictures.append((str(r.newest_sample), f"{r.name} · step {r.step}"))
        return rows, pictures

    def run_names() -> list[str]:
        return [r.name for r in ex.runs()]

    @_user_errors
    def show_runs() -> tuple[Any, Any, Any]:
        rows, pictures = runs_view()
        names = [r[0] for r in rows]
        return rows, [(_picture(p), c) for p, c in pictures], gr.Dropdown(choices=names)

    @_user_errors
    def overview(name: str) -> str:
        r = ex.summary(name)
        h = ex.handle(name)
        shape = "×".join(str(s) for s in h.info.shape)
        t = h.config.train
        lines = [
            f"### {r.name}",
            f"**{r.model}** on **{r.data}** ({shape}) · step **{r.step:,}** of {r.steps:,} · "
            f"**{r.status}** · {_duration(r.wall_s)} of training",
            f"drawing with checkpoint `{h.path.name}` (step {h.step:,}"
            + (", EMA weights" if h.uses_ema else "")
            + f") · batch {t.batch_size} · seed {t.seed} · augment {t.augment}",
        ]
        return "\n\n".join(lines)

    @_user_errors
    def curves(name: str) -> tuple[Any, Any, Any]:
        groups = ex.curves(name)
        titles = {"losses": "losses", "outputs": "D's outputs", "other": "augmentation and other"}
        plots = [
            gr.Plot(value=_figure(groups[k], titles[k]) if groups[k] else None,
                    visible=bool(groups[k]))
            for k in titles
        ]  # fmt: skip
        return plots[0], plots[1], plots[2]

    @_user_errors
    def sample_at(name: str, step: float | None) -> tuple[Any, str]:
        picture, chosen = ex.sample_at(name, step)
        if picture is None:
            return None, "no sample grid saved yet"
        return picture, f"the fixed-latent grid saved at step {chosen:,}"

    def slider_for(name: str) -> Any:
        saved = ex.saved_samples(name)
        if not saved:
            return gr.Slider(minimum=0, maximum=1, value=0, step=1, interactive=False)
        steps = [s for s, _ in saved]
        gap = min((b - a for a, b in itertools.pairwise(steps)), default=1) or 1
        return gr.Slider(
            minimum=steps[0],
            maximum=max(steps[-1], steps[0] + 1),
            value=steps[-1],
            step=gap,
            interactive=len(steps) > 1,
        )

    @_user_errors
    def evals(name: str) -> Any:
        headers, rows = ex.evals(name)
        if not rows:
            return gr.Dataframe(
                value=[["no results yet: run gankit eval on this run"]], headers=["eval"]
            )
        return gr.Dataframe(value=rows, headers=headers)

    @_user_errors
    def open_run(name: str) -> list[Any]:
        """Everything on the run tab for `name`: the training, and the sections that fit."""
        if not name:
            raise GankitError("choose a run")
        f = ex.features(name)
        losses, outputs, other = curves(name)
        picture, caption = sample_at(name, None)
        classes = ["random"] + [str(k) for k in range(f.classes)]
        trunc_label = {
            "w": "truncation ψ (1: none, 0: the average image)",
            "z": "truncation (0: none; else redraw z entries beyond ±T)",
        }.get(f.truncation or "", "truncation")
        code_sliders = []
        for i in range(MAX_CODES):
            if i < len(f.codes):
                c = f.codes[i]
                code_sliders.append(
                    gr.Slider(
                        minimum=c["minimum"],
                        maximum=c["maximum"],
                        step=c["step"],
                        value=0,
                        label=f"{c['name']} ({c['kind']})",
                        visible=True,
                    )
                )
            else:  # hidden, its range left as it was (an API call may still name it)
                code_sliders.append(gr.Slider(visible=False))
        growth_rows, growth_pictures = ex.growth(name) if f.growth else ([], [])
        return [
            overview(name),
            losses,
            outputs,
            other,
            slider_for(name),
            picture,
            caption,
            evals(name),
            gr.Column(visible=f.samples and not f.text),  # generate
            gr.Dropdown(choices=classes, value="random", visible=bool(f.classes)),
            gr.Slider(
                visible=f.truncation is not None,
                label=trunc_label,
                value=1.0 if f.truncation == "w" else 0.0,
                maximum=1.5 if f.truncation == "w" else 3.0,
            ),
            gr.Column(visible=f.walk or f.text),  # walk
            gr.File(visible=f.project),
            gr.Slider(visible=f.project),
            gr.Textbox(visible=f.text),
            gr.Column(visible=bool(f.styles)),  # mix
            gr.Slider(maximum=f.styles - 1) if f.styles > 1 else gr.skip(),
            gr.Column(visible=bool(f.codes)),  # codes
            *code_sliders,
            gr.Column(visible=bool(f.directions)),  # translate
            gr.Radio(value="AtoB", interactive=len(f.directions) > 1),
            gr.Column(visible=f.text),  # text
            gr.Column(visible=f.growth),  # growth
            growth_rows,
            growth_pictures,
        ]

    def label_of(choice: str | None) -> int | None:
        if choice in (None, "", "random"):
            return None
        try:
            return int(str(choice))
        except ValueError:
            raise GankitError(f"a class is a number or 'random', got {choice!r}") from None

    def trunc_of(name: str, value: float | None) -> float | None:
        kind = ex.features(name).truncation
        if kind is None or value is None:
            return None
        if kind == "z":
            return None if value <= 0 else float(value)
        return float(value)

    @_user_errors
    def generate(name: str, seed: float, n: float, truncation: float, klass: str) -> Any:
        return ex.generate(
            name, seed=seed, n=n, truncation=trunc_of(name, truncation), label=label_of(klass)
        )

    @_user_errors
    def walk(
        name: str,
        seeds: str,
        steps: float,
        slerp: bool,
        uploads: list[str] | None,
        project_steps: float,
        captions: str,
        truncation: float,
        klass: str,
    ) -> tuple[Any, Any]:
        return ex.walk(
            name,
            seeds=seeds,
            steps=steps,
            spherical=bool(slerp),
            label=label_of(klass),
            truncation=trunc_of(name, truncation),
            uploads=list(uploads or []),
            project_steps=project_steps,
            captions=captions,
        )

    @_user_errors
    def mix(name: str, rows: str, cols: str, crossover: float, psi: float) -> Any:
        return ex.mix(name, rows=rows, cols=cols, crossover=int(crossover or 0), truncation=psi)

    @_user_errors
    def codes(name: str, seed: float, n: float, *values: float) -> Any:
        return ex.codes(name, seed=seed, n=n, values=list(values))

    @_user_errors
    def translate(name: str, upload: str | None, direction: str) -> Any:
        if not upload:
            raise GankitError("upload an image first")
        return ex.translate(name, upload, direction)

    @_user_errors
    def text(name: str, caption: str, n: float, seed: float) -> Any:
        return ex.text(name, caption, n=n, seed=seed)

    with gr.Blocks(title="gankit", analytics_enabled=False) as demo:
        gr.Markdown("# gankit\nRuns under `" + str(ex.root) + "`")
        timer = gr.Timer(REFRESH_S)
        with gr.Tabs() as tabs:
            with gr.Tab("Runs", id="runs"):
                runs_table = gr.Dataframe(
                    headers=RUN_COLUMNS,
                    datatype=[
                        "str",
                        "str",
                        "str",
                        "number",
                        "number",
                        "str",
                        "str",
                        "number",
                        "number",
                        "str",
                    ],
                    interactive=False,
                    label="runs (click a column to sort, a run to open it)",
                    elem_id="runs-table",
                )
                refresh = gr.Button("Refresh", size="sm")
                runs_gallery = gr.Gallery(
                    label="newest sample grid of each run",
                    columns=4,
                    height="auto",
                    format="png",
                    elem_id="runs-gallery",
                    elem_classes=["gk-grid"],
                )
            with gr.Tab("Run", id="run"):
                with gr.Row():
                    run_choice = gr.Dropdown(
                        choices=run_names(),
                        label="run",
                        allow_custom_value=True,
                        scale=4,
                        elem_id="run-choice",
                    )
                    follow = gr.Checkbox(value=True, label="follow the newest step", scale=1)
                info = gr.Markdown(elem_id="run-info")
                with gr.Accordion("Training", open=True):
                    with gr.Row():
                        plot_losses = gr.Plot(label="losses", elem_id="plot-losses")
                        plot_outputs = gr.Plot(label="D's outputs", elem_id="plot-outputs")
                        plot_other = gr.Plot(label="augmentation and other", elem_id="plot-other")
                    step_slider = gr.Slider(label="saved step", elem_id="step-slider")
                    step_caption = gr.Markdown()
                    step_image = _picture_output("step-image", "fixed-latent samples")
                    eval_table = gr.Dataframe(label="gankit eval results", interactive=False)

                with gr.Column(visible=False) as sec_generate:
                    gr.Markdown("## Sample")
                    with gr.Row():
                        seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
                        count = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label="samples")
                        truncation = gr.Slider(0, 3, value=0, step=0.05, label="truncation")
                        klass = gr.Dropdown(
                            ["random"], value="random", label="class", allow_custom_value=True
                        )
                    go = gr.Button("Generate", variant="primary", elem_id="generate")
                    generated = _picture_output("generated", "samples")

                with gr.Column(visible=False) as sec_walk:
                    gr.Markdown("## Latent walk")
                    with gr.Row():
                        walk_seeds = gr.Textbox("0, 1, 2", label="seeds (two or more)")
                        walk_steps = gr.Slider(2, MAX_WALK_STEPS, value=8, step=1, label="steps")
                        slerp = gr.Checkbox(label="slerp (great circle)")
                    captions = gr.Textbox(
                        label="captions, one per line (the walk goes through them)",
                        lines=2,
                        visible=False,
                    )
                    uploads = gr.File(
                        file_count="multiple",
                        file_types=["image"],
                        label=f"or two or more images to project first (≤ {MAX_UPLOAD_SIDE}²)",
                        visible=False,
                    )
                    project_steps = gr.Slider(
                        10,
                        MAX_PROJECT_STEPS,
                        value=200,
                        step=10,
                        label="projection steps",
                        visible=False,
                    )
                    walk_go = gr.Button("Walk", variant="primary", elem_id="walk")
                    with gr.Row():
                        walk_strip = _picture_output("walk-strip", "strip")
                        walk_gif = gr.Image(
                            elem_id="walk-gif",
                            label="animation",
                            type="filepath",
                            interactive=False,
                        )

                with gr.Column(visible=False) as sec_mix:
                    gr.Markdown("## Style mixing")
                    with gr.Row():
                        mix_rows = gr.Textbox("0, 1, 2", label="row seeds (coarse styles)")
                        mix_cols = gr.Textbox("3, 4, 5, 6", label="column seeds (the rest)")
                        crossover = gr.Slider(
                            0, 16, value=0, step=1, label="crossover layer (0: the paper's 4²–8²)"
                        )
                        mix_psi = gr.Slider(0, 1.5, value=1, step=0.05, label="ψ")
                    mix_go = gr.Button("Mix", variant="primary", elem_id="mix")
                    mixed = _picture_output("mixed", "style mixing")

                with gr.Column(visible=False) as sec_codes:
                    gr.Markdown("## Latent codes")
                    with gr.Row():
                        code_seed = gr.Number(value=0, precision=0, label="seed")
                        code_count = gr.Slider(1, MAX_SAMPLES, value=8, step=1, label="samples")
                    code_sliders = [
                        gr.Slider(-2, 2, value=0, step=0.1, visible=False) for _ in range(MAX_CODES)
                    ]
                    codes_go = gr.Button("Draw", variant="primary", elem_id="codes")
                    coded = _picture_output("coded", "samples")

                with gr.Column(visible=False) as sec_translate:
                    gr.Markdown("## Translate an image")
                    with gr.Row():
                        source = gr.File(
                            elem_id="source",
                            file_types=["image"],
                            label=f"image (≤ {MAX_UPLOAD_SIDE}×{MAX_UPLOAD_SIDE})",
                        )
                        direction = gr.Radio(
                            ["AtoB", "BtoA"],  # fixed: the model refuses BtoA if one-way
                            value="AtoB",
                            label="direction (BtoA: the two-way models)",
                        )
                    translate_go = gr.Button("Translate", variant="primary", elem_id="translate")
                    translated = _gallery_output("translated", "translation", 3)

                with gr.Column(visible=False) as sec_text:
                    gr.Markdown("## Text to image")
                    caption = gr.Textbox("a blue circle", label="caption")
                    with gr.Row():
                        text_count = gr.Slider(1, MAX_SAMPLES, value=8, step=1, label="samples")
                        text_seed = gr.Number(value=0, precision=0, label="seed")
                    text_go = gr.Button("Draw", variant="primary", elem_id="text")
                    texted = _gallery_output("texted", "samples", 2)

                with gr.Column(visible=False) as sec_growth:
                    gr.Markdown("## Growth")
                    schedule = gr.Dataframe(
                        headers=["resolution", "phase", "steps", "images", "reached"],
                        interactive=False,
                    )
                    grown = _gallery_output("grown", "samples at each resolution reached", 4)

        run_outputs = [
            info, plot_losses, plot_outputs, plot_other, step_slider, step_image, step_caption,
            eval_table, sec_generate, klass, truncation, sec_walk, uploads, project_steps,
            captions, sec_mix, crossover, sec_codes, *code_sliders, sec_translate, direction,
            sec_text, sec_growth, schedule, grown,
        ]  # fmt: skip

        runs_outputs = [runs_table, runs_gallery, run_choice]
        demo.load(show_runs, outputs=runs_outputs, api_visibility="private")
        refresh.click(show_runs, outputs=[runs_table, runs_gallery, run_choice], api_name="runs")

        @_user_errors
        def pick(evt: gr.SelectData) -> tuple[Any, Any]:
            row = evt.row_value if evt.row_value else None
            name = row[0] if row else None
            if not name:
                raise GankitError("no run in that row")
            return gr.Tabs(selected="run"), gr.Dropdown(value=name)

        # Opening a run is chained to what chose it (`.then`), not left to the dropdown's
        # `change`: in Gradio 6.31 that event did not reach the server from this page.
        def open_chosen(name: str | None) -> list[Any]:
            return open_run(name) if name else [gr.skip() for _ in run_outputs]

        opened = {"fn": open_chosen, "inputs": run_choice, "outputs": run_outputs}
        runs_table.select(pick, outputs=[tabs, run_choice], api_visibility="private").then(
            **opened, api_visibility="private"
        )

        def pick_picture(evt: gr.SelectData) -> tuple[Any, Any]:
            with_grid = [r for r in ex.runs() if r.newest_sample is not None]
            if evt.index is None or not 0 <= int(evt.index) < len(with_grid):
                return gr.skip(), gr.skip()
            return gr.Tabs(selected="run"), gr.Dropdown(value=with_grid[int(evt.index)].name)

        runs_gallery.select(
            pick_picture, outputs=[tabs, run_choice], api_visibility="private"
        ).then(**opened, api_visibility="private")

        def from_address(request: gr.Request) -> tuple[Any, Any]:
            """`?run=NAME` in the address opens that run."""
            name = request.query_params.get("run") if request else None
            if not name:
                return gr.skip(), gr.skip()
            return gr.Tabs(selected="run"), gr.Dropdown(value=name)

        demo.load(from_address, outputs=[tabs, run_choice], api_visibility="private").then(
            **opened, api_visibility="private"
        )
        run_choice.input(open_run, inputs=run_choice, outputs=run_outputs, api_name="open")
        step_slider.input(
            sample_at, inputs=[run_choice, step_slider], outputs=[step_image, step_caption],
            api_name="samples", trigger_mode="always_last",
        )  # fmt: skip

        seen = gr.State({})  # what this page last showed: unchanged parts are not resent

        def tick(name: str | None, follow_newest: bool, last: dict[str, Any]) -> list[Any]:
            """Every few seconds: the runs table when a run changed (re-sending it would undo
            the reader's sorting), and the open run while it trains and writes."""
            rows, pictures = runs_view()
            last = dict(last or {})
            out: list[Any] = [gr.skip(), gr.skip()]
            if rows != last.get("rows"):
                out = [rows, [(_picture(p), c) for p, c in pictures]]
                last["rows"] = rows
            row = next((r for r in rows if name and r[0] == name), None)
            live = row is not None and row[5] == "training"
            if not live or row == last.get("run"):
                return [*out, *(gr.skip() for _ in range(8)), last]
            assert name is not None and row is not None
            last["run"] = row
            losses, outputs, other = curves(name)
            slider = slider_for(name)
            if follow_newest:
                picture, caption_text = sample_at(name, None)
            else:
                picture, caption_text = gr.skip(), gr.skip()
                slider = gr.Slider(maximum=slider.maximum)
            return [*out, overview(name), losses, outputs, other, slider, picture, caption_text,
                    evals(name), last]  # fmt: skip

        timer.tick(
            tick,
            inputs=[run_choice, follow, seen],
            outputs=[runs_table, runs_gallery, info, plot_losses, plot_outputs, plot_other,
                     step_slider, step_image, step_caption, eval_table, seen],
            api_visibility="private",
            show_progress="hidden",
            queue=False,
        )  # fmt: skip

        go.click(
            generate, inputs=[run_choice, seed, count, truncation, klass], outputs=generated,
            api_name="generate",
        )  # fmt: skip
        walk_go.click(
            walk,
            inputs=[run_choice, walk_seeds, walk_steps, slerp, uploads, project_steps, captions,
                    truncation, klass],
            outputs=[walk_strip, walk_gif],
            api_name="walk",
            concurrency_limit=1,
            concurrency_id="slow",
        )  # fmt: skip
        mix_go.click(
            mix, inputs=[run_choice, mix_rows, mix_cols, crossover, mix_psi], outputs=mixed,
            api_name="mix",
        )  # fmt: skip
        code_inputs = [run_choice, code_seed, code_count, *code_sliders]
        codes_go.click(codes, inputs=code_inputs, outputs=coded, api_name="codes")
        for slider in code_sliders:
            slider.release(codes, inputs=code_inputs, outputs=coded, api_visibility="private")
        translate_go.click(
            translate, inputs=[run_choice, source, direction], outputs=translated,
            api_name="translate", concurrency_limit=1, concurrency_id="slow",
        )  # fmt: skip
        text_go.click(
            text, inputs=[run_choice, caption, text_count, text_seed], outputs=texted,
            api_name="text",
        )  # fmt: skip
    return demo


def serve(
    root: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "cpu",
    block: bool = True,
    quiet: bool = False,
) -> tuple[gr.Blocks, Explorer, str]:
    """Start the page for the runs under `root` on http://host:port/ and return (the app, its
    explorer, the address). `block` waits until Ctrl-C; otherwise the server runs in a thread
    until `app.close()`."""
    explorer = Explorer(root, device=device)
    demo = build_app(explorer)
    # Requests queue per endpoint (two at a time each; projections and translations, the slow
    # ones, one at a time), so one slow request never holds the others back.
    demo.queue(default_concurrency_limit=2, max_size=64)
    try:
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            share=False,
            prevent_thread_lock=True,
            show_error=True,
            quiet=quiet,
            max_file_size=MAX_UPLOAD_BYTES,
            ssr_mode=False,
            allowed_paths=[str(explorer.tmp)],
            theme=theme(),
            css=CSS,
            footer_links=[],
            mcp_server=False,
        )
    except OSError as err:
        explorer.close()
        raise GankitError(f"cannot serve on {host}:{port}: {err}") from None
    if block:
        try:
            demo.block_thread()
        finally:
            demo.close()
            explorer.close()
    return demo, explorer, url


def _picture_output(elem_id: str, label: str) -> gr.Image:
    """An image the page draws into: PNG (exact pixels), enlarged without smoothing."""
    return gr.Image(
        elem_id=elem_id, label=label, format="png", interactive=False, elem_classes=["gk-grid"]
    )


def _gallery_output(elem_id: str, label: str, columns: int) -> gr.Gallery:
    """Captioned pictures the page draws into, as `_picture_output`."""
    return gr.Gallery(
        elem_id=elem_id,
        label=label,
        format="png",
        columns=columns,
        height="auto",
        elem_classes=["gk-grid"],
    )


def _figure(rows: list[dict[str, Any]], title: str) -> Any:
    """Curves of long-form rows (step, value, series) as a matplotlib figure. Drawn with
    `Figure` directly, not pyplot, so that requests in parallel threads never share state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.2), dpi=100)
    ax = fig.subplots()
    for series in dict.fromkeys(r["series"] for r in rows):
        points = [(r["step"], r["value"]) for r in rows if r["series"] == series]
        steps, values = zip(*points)
        ax.plot(steps, values, label=series, linewidth=1.2, marker="." if len(points) < 3 else "")
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _picture(path: str) -> Any:
    from gankit.ui.explore import read_picture

    return read_picture(Path(path))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = round(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def _num(value: Any) -> Any:
    return round(float(value), 4) if isinstance(value, int | float) else None
