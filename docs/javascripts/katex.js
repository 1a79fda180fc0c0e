// Render the \( \) and \[ \] spans that pymdownx.arithmatex leaves, on every page load
// (Material's instant navigation swaps pages without reloading, hence document$).
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
    ],
  });
});
