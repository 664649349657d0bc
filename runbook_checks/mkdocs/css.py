"""The site's stylesheet for what the plugin renders (badges, banners, gates, tables, the timeline chart), as text.

The plugin adds it to the site as ``assets/runbook-checks.css`` (``STYLESHEET``) and to
``extra_css``; it is kept here as a string so the package ships no data file for it.
"""

#: where in the site the stylesheet goes
STYLESHEET = "assets/runbook-checks.css"

#: the stylesheet: verdict colours keyed by the ``rbc-<status>`` and ``rbc-mode-<mode>`` classes the HTML carries
CSS = """
/* verdict colours: a border colour and a faint background; a pass of a rehearsal or of
   read-only checks is never green: dashed, blue (rehearsal) or blue-grey (checks) */
.rbc-badge,.rbc-banner,.rbc-state{--rbc-c:#9e9e9e;--rbc-bg:var(--md-code-bg-color,#f5f5f5);border-left:.3em solid var(--rbc-c);background:var(--rbc-bg)}
.rbc-passed{--rbc-c:#2e7d32;--rbc-bg:rgba(46,125,50,.09)}
.rbc-failed,.rbc-timed-out,.rbc-interrupted{--rbc-c:#c62828;--rbc-bg:rgba(198,40,40,.08)}
.rbc-stale,.rbc-overdue,.rbc-incomplete{--rbc-c:#ef6c00;--rbc-bg:rgba(239,108,0,.09)}
.rbc-never-run{--rbc-c:#9e9e9e}.rbc-banner.rbc-never-run .rbc-status{color:inherit}
.rbc-badge.rbc-mode-rehearsal,.rbc-banner.rbc-mode-rehearsal,.rbc-state.rbc-mode-rehearsal,
.rbc-badge.rbc-mode-check,.rbc-banner.rbc-mode-check,.rbc-state.rbc-mode-check{border:.1em dashed var(--rbc-c);border-left:.3em dashed var(--rbc-c)}
.rbc-passed.rbc-mode-rehearsal{--rbc-c:#1565c0;--rbc-bg:rgba(21,101,192,.09)}
.rbc-passed.rbc-mode-check{--rbc-c:#607d8b;--rbc-bg:rgba(96,125,139,.13)}
.rbc-badge{font-size:.72rem;margin:.6em 0 -.4em;padding:.2em .6em;border-radius:.3em;overflow-wrap:anywhere}
.rbc-badge .rbc-status,.rbc-banner .rbc-status{text-transform:uppercase;letter-spacing:.03em}
.rbc-evidence{font-size:.72rem;margin-top:-.4em}
/* the status banner at the top of a runbook page */
.md-typeset .rbc-banner{font-size:.74rem;margin:0 0 1.5em;padding:.5em .9em;border-radius:.3em;overflow-wrap:anywhere}
.md-typeset .rbc-banner p,.md-typeset .rbc-banner ul{margin:.3em 0}
.rbc-banner .rbc-status{color:var(--rbc-c);margin-right:.3em}.rbc-banner .rbc-headline{font-weight:600}
.rbc-banner .rbc-banner-facts{color:var(--md-default-fg-color--light,#666)}
.md-typeset .rbc-gate{border-top:.05rem solid var(--md-default-fg-color--lightest,#ddd);margin-top:.5em;padding-top:.2em}
.rbc-gate-closed strong{color:#c62828}.rbc-gate-open strong{color:#2e7d32}.rbc-gate-note{font-size:.9em;color:var(--md-default-fg-color--light,#666)}
.rbc-state{display:inline-block;padding:.1em .4em;border-radius:.2em}
/* tables fit the content column: compact cells, long codes and links may break; when a
   table still cannot fit (a phone), Material's wrapper scrolls it inside the column */
.md-typeset .rbc-table table:not([class]){font-size:.62rem}
.md-typeset .rbc-table table:not([class]) th,.md-typeset .rbc-table table:not([class]) td{padding:.5em .7em;min-width:0}
.md-typeset .rbc-table td code{word-break:normal}.md-typeset .rbc-table td code.rbc-id{overflow-wrap:anywhere}
.md-typeset .rbc-audit td code{word-break:break-all}
.md-typeset .rbc-table td code.rbc-commit{overflow-wrap:normal;word-break:normal;white-space:nowrap}
.md-typeset .rbc-runbooks td{min-width:6em}.md-typeset .rbc-runbooks td:nth-child(4){min-width:14em}
.md-typeset .rbc-runbooks .rbc-gate-closed p{margin:.3em 0 0;font-size:.95em}
/* the fleet page: a label filter of plain radio buttons (no script), compact rows */
.rbc-fleet-radio{position:absolute;opacity:0;width:1px;height:1px;overflow:hidden}
.md-typeset .rbc-fleet-filters p{margin:.3em 0;font-size:.72rem}.md-typeset .rbc-fleet-filters label{cursor:pointer;margin-right:.6em;white-space:nowrap}
.rbc-fleet-radio:focus-visible~.rbc-fleet-filters{outline:.1em dotted currentColor}
.md-typeset .rbc-fleet-table{overflow-x:auto}
.md-typeset .rbc-fleet-table table:not([class]) th,.md-typeset .rbc-fleet-table table:not([class]) td{padding:.4em .45em}
.md-typeset .rbc-fleet-table td code.rbc-id{overflow-wrap:normal;word-break:normal;white-space:nowrap}.md-typeset .rbc-fleet-table td code.rbc-pending{white-space:normal;overflow-wrap:anywhere}.rbc-fleet-problem{color:#c62828}
/* the timeline chart: text over bars, so it scales down to a phone legibly */
.rbc-timeline-chart{max-width:24rem;margin:1em 0}
.rbc-timeline{display:block;width:100%;height:auto;font:12px sans-serif}.rbc-timeline .rbc-label,.rbc-timeline .rbc-value,.rbc-timeline .rbc-axis{fill:currentColor}
@media screen and (max-width:44.9375em){.rbc-timeline{font-size:14px}}
.rbc-timeline .rbc-label{font-weight:600}.rbc-timeline .rbc-axis{opacity:.7}
.rbc-timeline .rbc-track{fill:currentColor;opacity:.06}
.rbc-timeline .rbc-estimate,.rbc-legend .rbc-estimate{fill:#90caf9;background:#90caf9;opacity:.7}
.rbc-timeline .rbc-within,.rbc-legend .rbc-within{fill:#2e7d32;background:#2e7d32}
.rbc-timeline .rbc-over,.rbc-legend .rbc-over{fill:#c62828;background:#c62828}
.rbc-timeline .rbc-under,.rbc-legend .rbc-under{fill:#6a1b9a;background:#6a1b9a}
.md-typeset ul.rbc-legend{list-style:none;margin:.4em 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.2em 1em;font-size:.64rem}
.md-typeset ul.rbc-legend li{margin:0;display:flex;align-items:center;gap:.4em}
.rbc-swatch{display:inline-block;width:1.4em;height:.6em;border-radius:.15em}.rbc-swatch.rbc-estimate{height:1em}
"""
