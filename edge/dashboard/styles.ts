// The dashboard's stylesheet, served as /dashboard/styles.css (CSP: styles from self only).
// Plain and high-contrast, and made for a phone first (approving or stopping from a phone is the
// point of a kill switch): nothing is wider than the screen, tables turn into labelled cards on
// narrow screens, and the summary strip and the emergency stop come first.
export const STYLES_CSS = `
:root { color-scheme: light; --bad: #b00020; --ok: #1b6e20; --warn: #8a5300; --ink: #111; --muted: #555; --line: #ccc; font-family: system-ui, sans-serif; }
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 1400px; padding: 0 0.75rem 3rem; color: var(--ink); line-height: 1.4; overflow-wrap: break-word; }
header { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; align-items: center; justify-content: space-between; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.25rem; margin: 0.6rem 0 0.2rem; }
header p { margin: 0.2rem 0; }
header .actor input { max-width: 12rem; }
h2 { font-size: 1.15rem; margin-top: 1.5rem; }
section { margin-bottom: 1rem; min-width: 0; }
input, textarea, select { font: inherit; max-width: 100%; }
textarea { width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; margin: 0.4rem 0; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.45rem; text-align: left; vertical-align: top; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
td code { white-space: pre-wrap; word-break: break-all; font-size: 0.82rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; min-width: 0; }
.ok { color: var(--ok); }
.bad, tr.bad td { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
.note { color: var(--muted); font-size: 0.85rem; margin: 0.3rem 0 0; }
.stale { color: var(--warn); font-weight: 600; border-left: 4px solid var(--warn); padding-left: 0.5rem; }
button { font: inherit; padding: 0.45rem 0.8rem; cursor: pointer; min-height: 2.5rem; }
button:focus-visible, input:focus-visible, textarea:focus-visible, a:focus-visible, summary:focus-visible { outline: 3px solid #1a57d6; outline-offset: 2px; }

/* The summary strip: can trade now, and the few numbers that decide it. */
#summary { border: 2px solid var(--line); border-radius: 6px; padding: 0.5rem 0.75rem; margin-top: 0.75rem; }
#summary.blocked { border-color: var(--bad); }
#summary.open { border-color: var(--ok); }
.headline { font-size: 1.2rem; font-weight: 800; margin: 0.1rem 0 0.3rem; }
#trade-now-why { margin: 0 0 0.4rem; padding-left: 1.2rem; }
#trade-now-why li { color: var(--bad); }
dl.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: 0.4rem; margin: 0.3rem 0 0; }
dl.tiles > div { border: 1px solid var(--line); border-radius: 4px; padding: 0.3rem 0.5rem; min-width: 0; }
dl.tiles dt { font-size: 0.8rem; color: var(--muted); font-weight: 600; }
dl.tiles dd { font-weight: 700; }
dl.tiles a { color: inherit; }

#kill-switch { border: 4px solid var(--bad); border-radius: 6px; padding: 0 0.75rem 0.8rem; background: #fff5f5; }
#kill-switch.stopped { background: var(--bad); color: #fff; }
#kill-switch.stopped h2, #kill-switch.stopped legend { color: #fff; }
.estop-state { font-size: 1.35rem; font-weight: 800; margin: 0.3rem 0; }
#estop-detail:empty { display: none; }
fieldset .choice { display: inline-flex; gap: 0.3rem; align-items: center; margin: 0.15rem 1rem 0.15rem 0; }
fieldset .choice input { width: 1.2rem; height: 1.2rem; }
.actions, .toggle { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: center; }
button.danger { background: var(--bad); color: #fff; border: 2px solid #600; font-weight: 700; font-size: 1.1rem; padding: 0.6rem 1.2rem; }
#kill-switch.stopped button.danger { background: #fff; color: var(--bad); }
fieldset { border: 1px solid currentColor; min-width: 0; }
details { border: 1px solid var(--line); margin: 0.4rem 0; padding: 0.3rem 0.6rem; min-width: 0; }
summary { cursor: pointer; font-weight: 600; padding: 0.2rem 0; }
details.audit-details { border: none; padding: 0; margin: 0; }
details.audit-details summary { font-weight: 400; font-family: ui-monospace, monospace; font-size: 0.82rem; }
dialog { width: min(34rem, calc(100vw - 1.5rem)); max-width: none; border: 2px solid #333; padding: 0.8rem; }
dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
.error { color: var(--bad); font-weight: 600; }
.login main { max-width: 26rem; margin: 4rem auto; }
/* The approval link's read-back, opened on a phone: wrapped, never wider than the screen. */
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
meter { width: 6rem; max-width: 40%; vertical-align: middle; }
ul.legs { margin: 0; padding-left: 1.1rem; }
td button + button, td button { margin: 0.1rem 0.2rem 0.1rem 0; }
td .decide { display: flex; flex-wrap: wrap; gap: 0.4rem; }
td .decide button { min-width: 6.5rem; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 0.4rem 0; font-size: 11px; }
svg.chart .plot { fill: #fafafa; stroke: var(--line); }
svg.chart .grid { stroke: #e4e4e4; stroke-width: 1; }
svg.chart .zero { stroke: #333; stroke-width: 1; }
svg.chart .payoff-line, svg.chart .pnl-line { fill: none; stroke: #111; stroke-width: 2; }
svg.chart .gain-area { fill: rgba(27, 110, 32, 0.18); stroke: none; }
svg.chart .loss-area { fill: rgba(176, 0, 32, 0.16); stroke: none; }
svg.chart .worst, svg.chart .limit { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg.chart .max-gain { stroke: var(--ok); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg.chart .breakeven { stroke: #6a3d9a; stroke-width: 1.2; stroke-dasharray: 2 3; }
svg.chart .underlying { stroke: #1a57d6; stroke-width: 2; }
svg.chart .over-limit { fill: rgba(176, 0, 32, 0.08); }
svg.chart .pnl-now { fill: #111; }
svg.chart text { fill: var(--ink); }
/* Labels over lines stay legible: a white halo under each letter. */
svg.chart .x-note, svg.chart .limit-label { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg.chart .y-label { text-anchor: end; }
svg.chart .y-tick { fill: var(--muted); }
svg.chart .x-label, svg.chart .axis-title { text-anchor: middle; }
svg.chart .x-label.start, svg.chart .x-note.start { text-anchor: start; }
svg.chart .x-label.end, svg.chart .x-note.end, svg.chart .limit-label { text-anchor: end; }
svg.chart .worst-label { fill: var(--bad); }
svg.chart .gain-label { fill: var(--ok); }
svg.chart .be-label { fill: #6a3d9a; font-weight: 600; }
svg.chart .underlying-label { fill: #1a57d6; font-weight: 600; }
svg.chart .share { text-anchor: start; }
svg.limit-bars .track { fill: #eee; stroke: var(--line); }
svg.limit-bars .used { fill: #1b6e20; }
svg.limit-bars .high .used { fill: var(--bad); }
svg.limit-bars .bar-label { text-anchor: start; }
p.standing { font-weight: 600; }
#audit-panel > summary { font-weight: 600; }

/* Narrow screens: tables become labelled cards, one row a card, so nothing needs sideways scrolling. */
@media (max-width: 720px) {
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  /* Each cell says its column (td::before), so the header row goes. */
  table.cards thead, table.cards tr.head { display: none; }
  table.cards caption { display: block; }
  table.cards tr { border: 1px solid var(--line); border-radius: 4px; margin: 0.5rem 0; padding: 0.3rem 0.5rem; }
  table.cards td { border: none; padding: 0.15rem 0; display: grid; grid-template-columns: 7.5rem minmax(0, 1fr); gap: 0.5rem; }
  table.cards td::before { content: attr(data-label); font-weight: 600; color: var(--muted); }
  table.cards td.empty { display: block; }
  table.cards td.empty::before { content: none; }
  dl { grid-template-columns: minmax(0, 8rem) minmax(0, 1fr); gap: 0.2rem 0.6rem; }
  dl.tiles { grid-template-columns: 1fr 1fr; }
  header { display: block; }
  header h1 { font-size: 1.1rem; margin-top: 0.4rem; }
  header .logout { margin: 0.2rem 0 0.4rem; display: flex; flex-wrap: wrap; gap: 0.4rem; }
  header .logout button { min-height: 2.25rem; padding: 0.3rem 0.7rem; }
  h2 { margin-top: 1.1rem; }
  .headline { font-size: 1.05rem; }
  #summary { padding: 0.4rem 0.5rem; margin-top: 0.5rem; }
  dl.tiles { gap: 0.3rem; }
  dl.tiles > div { padding: 0.15rem 0.4rem; }
  #kill-switch h2 { margin: 0.5rem 0 0.2rem; }
  .estop-state { font-size: 1.15rem; }
  #kill-switch fieldset { margin: 0.2rem 0; padding: 0.2rem 0.5rem; }
  td .decide button { flex: 1 1 6.5rem; }
  /* An audit row is one line (seq · time · actor · action) and its folded details under it. */
  table.audit td { display: inline; padding: 0; }
  table.audit td::before { content: none; }
  table.audit td + td::before { content: " · "; color: var(--muted); font-weight: 400; }
  table.audit td:nth-child(4) { font-weight: 600; }
  table.audit td:last-child { display: block; }
  table.audit td:last-child::before { content: none; }
}
`;
