"""The pictures and the report. Figures take numpy arrays and return matplotlib Figures (no files,
no W&B); the *_figures modules of runs and sweeps evaluate models and write PNGs.

common          shared by every figure: colours, captions, PNG bytes, image panels, limits
filters         weights as images: filters, how they form (per epoch, per budget), MLP units, best filters
boundaries      decision boundaries on the PCA plane, and of a model trained on that plane
diagnostics     evidence maps, logit histogram, ROC / PR curves, confusion matrix
style_figures   the styles of a digit and the recall of each style (the math is mlx.styles)
comparison      the sweep's accuracy-vs-lr figure (from mlx.sweep.tables.seed_cells), learning curves
run_figures     mlx train's pictures: evaluate the run's model, draw, save with captions
lane_images     a sweep lane's params as a small numpy RGB picture (every config's W&B run)
boundary_models the models the sweep's boundary figures evaluate: PCA plane, p(x), the 2-D model
sweep_figures   the sweep-level PNGs, one function per family of figures
report          report.html of a run or sweep folder: the sections, written atomically
report_files    what the report reads: JSON, CSV, pictures (sizes by Pillow), captions
report_html     the report's HTML: Jinja2 templates (templates/), table cells, markdown (markdown-it-py)
"""
