// The dashboard's pictures, served as /dashboard/charts.js (CSP: scripts from self only): plain
// SVG built with DOM APIs — each trade's payoff at expiry, today's P&L against the daily loss
// limit, and each limit's use as a bar. The numbers come computed from the edge (the same risk
// math as the decision); this only draws them. Every drawing carries its scale as data-*
// attributes, so a test can read a point back into a price and check it against the numbers.
export const CHARTS_JS = String.raw`"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function money(n) {
    if (typeof n !== "number") return "—";
    return (n < 0 ? "-$" : "$") + Math.abs(n).toLocaleString("en-US", { maximumFractionDigits: 0 });
  }
  function price(n) { return typeof n === "number" ? n.toFixed(2) : "—"; }
  function frame(width, height, margin, label, cls) {
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img", "aria-label": label, "class": "chart " + cls });
    root.appendChild(svg("title", {}, label));
    root.dataset.plotLeft = margin.l; root.dataset.plotRight = width - margin.r;
    root.dataset.plotTop = margin.t; root.dataset.plotBottom = height - margin.b;
    return root;
  }

  /** A trade's payoff at expiry: P&L line, zero line, worst case, max gain, breakevens, underlying. */
  function payoff(p, title) {
    var W = 600, H = 250, m = { l: 70, r: 20, t: 18, b: 40 };
    if (!p || !p.points || p.points.length < 2) return null;
    var xs = p.points.map(function (q) { return q[0]; }), ys = p.points.map(function (q) { return q[1]; });
    var xMin = p.x_min, xMax = p.x_max;
    var yLo = Math.min.apply(null, ys.concat([0, typeof p.worst_case_loss === "number" ? -p.worst_case_loss : 0]));
    var yHi = Math.max.apply(null, ys.concat([0, typeof p.max_gain === "number" ? p.max_gain : 0]));
    var padY = Math.max((yHi - yLo) * 0.12, 1);
    yLo -= padY; yHi += padY;
    var X = function (x) { return m.l + (x - xMin) / (xMax - xMin) * (W - m.l - m.r); };
    var Y = function (y) { return m.t + (yHi - y) / (yHi - yLo) * (H - m.t - m.b); };
    var label = "Payoff at expiry of " + title + ": worst case " + money(-(p.worst_case_loss || 0)) + ", max gain " + (typeof p.max_gain === "number" ? money(p.max_gain) : "unbounded") +
      ", breakevens " + (p.breakevens.length ? p.breakevens.map(price).join(" and ") : "none");
    var root = frame(W, H, m, label, "payoff");
    root.dataset.xMin = xMin; root.dataset.xMax = xMax; root.dataset.yMin = yLo; root.dataset.yMax = yHi; root.dataset.yZero = Y(0);
    root.appendChild(svg("rect", { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, "class": "plot" }));
    // Gain above zero, loss below: two filled areas under the line, split where it crosses zero.
    var split = [];
    p.points.forEach(function (q, i) {
      var prev = p.points[i - 1];
      if (prev && ((prev[1] < 0 && q[1] > 0) || (prev[1] > 0 && q[1] < 0))) split.push([prev[0] + (0 - prev[1]) * (q[0] - prev[0]) / (q[1] - prev[1]), 0]);
      split.push(q);
    });
    var area = function (cls, clampFn) {
      var pts = [[X(xs[0]), Y(0)]].concat(split.map(function (q) { return [X(q[0]), Y(clampFn(q[1]))]; })).concat([[X(xs[xs.length - 1]), Y(0)]]);
      root.appendChild(svg("polygon", { points: pts.map(function (a) { return a[0].toFixed(2) + "," + a[1].toFixed(2); }).join(" "), "class": cls }));
    };
    area("gain-area", function (y) { return Math.max(0, y); });
    area("loss-area", function (y) { return Math.min(0, y); });
    root.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: Y(0), y2: Y(0), "class": "zero" }));
    if (typeof p.worst_case_loss === "number") {
      root.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: Y(-p.worst_case_loss), y2: Y(-p.worst_case_loss), "class": "worst", "data-value": -p.worst_case_loss }));
      root.appendChild(svg("text", { x: m.l - 6, y: Y(-p.worst_case_loss) + 4, "class": "y-label worst-label" }, money(-p.worst_case_loss)));
    }
    if (typeof p.max_gain === "number") {
      root.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: Y(p.max_gain), y2: Y(p.max_gain), "class": "max-gain", "data-value": p.max_gain }));
      root.appendChild(svg("text", { x: m.l - 6, y: Y(p.max_gain) + 4, "class": "y-label gain-label" }, money(p.max_gain)));
    }
    root.appendChild(svg("text", { x: m.l - 6, y: Y(0) + 4, "class": "y-label" }, "$0"));
    root.appendChild(svg("polyline", { points: p.points.map(function (q) { return X(q[0]).toFixed(2) + "," + Y(q[1]).toFixed(2); }).join(" "), "class": "payoff-line" }));
    p.breakevens.forEach(function (b, i) {
      root.appendChild(svg("line", { x1: X(b), x2: X(b), y1: m.t, y2: H - m.b, "class": "breakeven", "data-price": b }));
      root.appendChild(svg("text", { x: X(b), y: m.t + 12 + (i % 2) * 12, "class": "x-note" }, "BE " + price(b)));
    });
    if (typeof p.underlying_price === "number") {
      var u = Math.min(Math.max(p.underlying_price, xMin), xMax);
      root.appendChild(svg("line", { x1: X(u), x2: X(u), y1: m.t, y2: H - m.b, "class": "underlying", "data-price": p.underlying_price }));
      root.appendChild(svg("text", { x: X(u), y: H - m.b - 6, "class": "x-note underlying-label" }, "underlying " + price(p.underlying_price) + (p.underlying_price_at ? " at " + new Date(p.underlying_price_at).toLocaleTimeString() : "")));
    }
    for (var k = 0; k <= 4; k++) {
      var x = xMin + (xMax - xMin) * k / 4;
      root.appendChild(svg("text", { x: X(x), y: H - m.b + 16, "class": "x-label" }, price(x)));
    }
    root.appendChild(svg("text", { x: (m.l + W - m.r) / 2, y: H - 4, "class": "axis-title" }, "underlying price at expiry"));
    return root;
  }

  /** Today's P&L as a line against the daily loss limit (a loss is below zero). */
  function pnl(series) {
    var W = 600, H = 200, m = { l: 70, r: 20, t: 14, b: 30 };
    if (!series) return null;
    var limit = -series.daily_loss_limit;
    var points = (series.points || []).map(function (q) { return [Date.parse(q.at), q.pnl]; });
    var label = "Today's P&L " + money(series.current) + " against the daily loss limit " + money(limit);
    var root = frame(W, H, m, label, "pnl");
    var t0 = points.length ? points[0][0] : Date.now() - 60000, t1 = points.length ? points[points.length - 1][0] : Date.now();
    if (t1 - t0 < 60000) t1 = t0 + 60000;
    var ys = points.map(function (q) { return q[1]; });
    var yLo = Math.min.apply(null, ys.concat([limit * 1.1])), yHi = Math.max.apply(null, ys.concat([Math.abs(limit) * 0.25]));
    var X = function (t) { return m.l + (t - t0) / (t1 - t0) * (W - m.l - m.r); };
    var Y = function (y) { return m.t + (yHi - y) / (yHi - yLo) * (H - m.t - m.b); };
    root.dataset.yMin = yLo; root.dataset.yMax = yHi;
    root.appendChild(svg("rect", { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, "class": "plot" }));
    root.appendChild(svg("rect", { x: m.l, y: Y(limit), width: W - m.l - m.r, height: Math.max(0, H - m.b - Y(limit)), "class": "over-limit" }));
    root.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: Y(0), y2: Y(0), "class": "zero" }));
    root.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: Y(limit), y2: Y(limit), "class": "limit", "data-value": limit }));
    root.appendChild(svg("text", { x: m.l - 6, y: Y(limit) + 4, "class": "y-label worst-label" }, money(limit)));
    root.appendChild(svg("text", { x: m.l - 6, y: Y(0) + 4, "class": "y-label" }, "$0"));
    root.appendChild(svg("text", { x: W - m.r - 4, y: Y(limit) - 5, "class": "x-note limit-label" }, "daily loss limit"));
    if (points.length) {
      root.appendChild(svg("polyline", { points: points.map(function (q) { return X(q[0]).toFixed(2) + "," + Y(q[1]).toFixed(2); }).join(" "), "class": "pnl-line" }));
      var last = points[points.length - 1];
      root.appendChild(svg("circle", { cx: X(last[0]), cy: Y(last[1]), r: 3.5, "class": "pnl-now", "data-value": last[1] }));
      root.appendChild(svg("text", { x: m.l, y: H - 8, "class": "x-label start" }, new Date(t0).toLocaleTimeString()));
      root.appendChild(svg("text", { x: W - m.r, y: H - 8, "class": "x-label end" }, new Date(t1).toLocaleTimeString()));
    } else root.appendChild(svg("text", { x: (m.l + W - m.r) / 2, y: (m.t + H - m.b) / 2, "class": "x-note" }, "no P&L reported today yet"));
    return root;
  }

  /** Each limit's use as a bar (share of the limit), red from 80%. */
  function limitBars(limits) {
    var rowH = 26, W = 720, m = { l: 340, r: 70, t: 6, b: 6 };
    var H = m.t + m.b + rowH * limits.length;
    var root = frame(W, H, m, "Use of each hard limit", "limit-bars");
    limits.forEach(function (l, i) {
      var share = l.limit ? Math.max(0, (l.used || 0) / l.limit) : 0;
      var y = m.t + i * rowH;
      var full = W - m.l - m.r;
      var g = svg("g", { "class": "limit-bar" + (share >= 0.8 ? " high" : ""), "data-limit": l.name, "data-share": share });
      g.appendChild(svg("text", { x: m.l - 8, y: y + rowH / 2 + 4, "class": "y-label" }, l.label || l.name));
      g.appendChild(svg("rect", { x: m.l, y: y + 4, width: full, height: rowH - 10, "class": "track" }));
      g.appendChild(svg("rect", { x: m.l, y: y + 4, width: Math.min(1, share) * full, height: rowH - 10, "class": "used" }));
      g.appendChild(svg("text", { x: W - m.r + 6, y: y + rowH / 2 + 4, "class": "x-note share" }, Math.round(share * 100) + "%"));
      root.appendChild(g);
    });
    return root;
  }

  window.IbkrCharts = { payoff: payoff, pnl: pnl, limitBars: limitBars };
})();
`;
