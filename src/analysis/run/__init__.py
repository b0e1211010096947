"""Run: the headless main job and its entry points, the top layer.

Owns the typed run parameters (``params``), the pipeline that runs every notebook for every
configured run and renders the HTML and the index (``pipeline``), the loading and scoring glue
the notebooks call (``workflow``) and the command line (``cli``).

May import: every other layer. Nothing imports ``run`` but ``analysis.__main__`` and notebooks.
"""

__all__: list[str] = []
