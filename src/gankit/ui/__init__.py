"""`gankit serve`: a web page to watch runs train and explore trained models (Gradio).

An optional extra: `pip install 'gankit[ui]'`. Importing `gankit.ui` needs nothing beyond the
core; `serve` and `build_app` import Gradio when called, and say how to get it when it is
missing. `Explorer` (the page's actions as plain Python) needs only the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gankit.errors import GankitError
from gankit.ui.explore import Explorer

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["Explorer", "build_app", "require_gradio", "serve"]


def require_gradio() -> Any:
    """The gradio module, or a GankitError saying how to install it."""
    try:
        import gradio
    except ImportError:
        raise GankitError(
            "gankit serve needs the web UI extra, which is not installed: "
            "pip install 'gankit[ui]' (Gradio)"
        ) from None
    return gradio


def build_app(explorer: Explorer) -> gr.Blocks:
    """The Gradio page for `explorer`'s runs (see `gankit.ui.app`)."""
    require_gradio()
    from gankit.ui.app import build_app as build

    return build(explorer)


def serve(root: Any, **kwargs: Any) -> Any:
    """Serve the page for the runs under `root` (see `gankit.ui.app.serve`)."""
    require_gradio()
    from gankit.ui.app import serve as start

    return start(root, **kwargs)
