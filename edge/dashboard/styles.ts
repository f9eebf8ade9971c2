// The dashboard's stylesheet, served as /dashboard/styles.css (CSP: styles from self only).
// Plain and high-contrast; the emergency stop is the first and loudest thing on the page.
export const STYLES_CSS = `
:root { color-scheme: light; --bad: #b00020; --ok: #1b6e20; --ink: #111; --muted: #555; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 1400px; padding: 0 1rem 3rem; color: var(--ink); line-height: 1.4; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; border-bottom: 1px solid #ccc; }
header h1 { font-size: 1.4rem; }
h2 { font-size: 1.15rem; margin-top: 1.6rem; }
section { margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; margin: 0.4rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.45rem; text-align: left; vertical-align: top; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
td code { white-space: pre-wrap; word-break: break-all; font-size: 0.82rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
.ok { color: var(--ok); }
.bad, tr.bad td { color: var(--bad); font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
button { font: inherit; padding: 0.35rem 0.8rem; cursor: pointer; }
button:focus-visible, input:focus-visible, textarea:focus-visible, a:focus-visible, summary:focus-visible { outline: 3px solid #1a57d6; outline-offset: 2px; }
#kill-switch { border: 4px solid var(--bad); border-radius: 6px; padding: 0 1rem 0.8rem; background: #fff5f5; }
#kill-switch.stopped { background: var(--bad); color: #fff; }
#kill-switch.stopped h2, #kill-switch.stopped legend { color: #fff; }
.estop-state { font-size: 1.5rem; font-weight: 800; margin: 0.3rem 0; }
button.danger { background: var(--bad); color: #fff; border: 2px solid #600; font-weight: 700; font-size: 1.1rem; padding: 0.6rem 1.2rem; }
#kill-switch.stopped button.danger { background: #fff; color: var(--bad); }
fieldset { border: 1px solid currentColor; }
details { border: 1px solid #ccc; margin: 0.4rem 0; padding: 0.3rem 0.6rem; }
summary { cursor: pointer; font-weight: 600; }
dialog { max-width: 34rem; border: 2px solid #333; }
dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
.error { color: var(--bad); font-weight: 600; }
.login main { max-width: 26rem; margin: 4rem auto; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
meter { width: 6rem; vertical-align: middle; }
ul.legs { margin: 0; padding-left: 1.1rem; white-space: nowrap; }
td button + button, td button { margin: 0.1rem 0.2rem 0.1rem 0; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 0.4rem 0; font-size: 11px; }
svg.chart .plot { fill: #fafafa; stroke: #ccc; }
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
svg.chart .y-label { text-anchor: end; }
svg.chart .x-label, svg.chart .x-note, svg.chart .axis-title { text-anchor: middle; }
svg.chart .x-label.start { text-anchor: start; }
svg.chart .x-label.end, svg.chart .limit-label { text-anchor: end; }
svg.chart .worst-label { fill: var(--bad); }
svg.chart .gain-label { fill: var(--ok); }
svg.chart .underlying-label { fill: #1a57d6; font-weight: 600; }
svg.chart .share { text-anchor: start; }
svg.limit-bars .track { fill: #eee; stroke: #ccc; }
svg.limit-bars .used { fill: #1b6e20; }
svg.limit-bars .high .used { fill: var(--bad); }
p.standing { font-weight: 600; }
`;
