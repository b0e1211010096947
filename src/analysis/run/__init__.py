"""Run: the headless main job and its entry points, the top layer.

Owns the typed run parameters (``params``), the main job: its run configuration (``runs``), its
notebook kernels, one per run (``kernel``), the execution of every notebook for every run in
process or on Dask distributed (``execute``) and its command line, HTML and index (``pipeline``);
the loading and scoring glue the notebooks call (``workflow``) and the command line (``cli``).

May import: every other layer. Nothing imports ``run`` but ``analysis.__main__`` and notebooks.
"""

__all__: list[str] = []
