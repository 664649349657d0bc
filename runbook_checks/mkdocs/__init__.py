"""The MkDocs plugin, one module per job, as mkdocs-material lays out its plugins.

- ``config``: the options ``mkdocs.yml`` may give (``RunbookChecksConfig``, the ``Duration`` option type);
- ``plugin``: the hooks, nothing else (``RunbookChecksPlugin``);
- ``cache``: what a build reads and makes, remembered by content across ``mkdocs serve`` rebuilds;
- ``markers``: finding and validating the ``<!-- runbook-checks: NAME -->`` markers;
- ``renderer``: what each marker and each runbook page shows;
- ``cells``, ``badges``, ``tables``: the HTML, pure; ``css``: its stylesheet;
- ``html``: placing rendered HTML into pages (slots, banner, badges);
- ``publish``: writing the ledgers into the site on a background thread.

Only this package imports mkdocs; ``runbook_checks.plugin`` re-exports the plugin class for
the ``mkdocs.plugins`` entry point.
"""
