// The dashboard's pictures, served as /dashboard/charts.js (CSP: scripts from self only): plain
// SVG built with DOM APIs — each trade's payoff at expiry, today's P&L against the daily loss
// limit, and each limit's use as a bar — drawn at the width they are shown at (a phone's or a
// desk's), and the one time format of the page (New York time, labelled ET). The numbers come
// computed from the edge (the same risk math as the decision); this only draws them. Every drawing
// carries its scale as data-* attributes, so a test can read a point back into a price and check
// it against the numbers.
export const CHARTS_JS = String.raw`"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var FONT = 11;
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

  // ---- one time format: New York time, labelled ----------------------------------------------
  var NY = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  function nyParts(iso) {
    var d = typeof iso === "number" ? new Date(iso) : new Date(iso);
    if (isNaN(d.getTime())) return null;
    var p = {};
    NY.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return p;
  }
  /** "2026-12-01 10:30:45 ET" */
  function nyTime(iso) {
    if (iso === null || iso === undefined || iso === "") return "—";
    var p = nyParts(iso);
    return p ? p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second + " ET" : String(iso);
  }
  /** "10:30 ET" (charts' axes: the day is today's). */
  function nyClock(iso) {
    var p = nyParts(iso);
    return p ? p.hour + ":" + p.minute + " ET" : "—";
  }

  /** Round ticks (1, 2, 2.5 or 5 × 10^k apart) covering [lo, hi], about count of them. */
  function niceTicks(lo, hi, count) {
    var span = hi - lo;
    if (!(span > 0)) return { step: 1, ticks: [lo] };
    var raw = span / Math.max(1, count);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    // The finest round step that gives no more than about count ticks.
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return span / s <= count + 0.5; }) || 10 * mag;
    var ticks = [];
    for (var t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.round(t / step) * step);
    return { step: step, ticks: ticks };
  }
  function tickText(value, step) {
    var decimals = step >= 1 ? 0 : (String(Number(step.toFixed(10))).split(".")[1] || "").length;
    return value.toFixed(decimals);
  }
  /** Width of a label in the chart's font (a little generous, so a label never runs into its line). */
  function textWidth(text) { return String(text).length * FONT * 0.62; }

  function frame(width, height, margin, label, cls) {
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img", "aria-label": label, "class": "chart " + cls });
    root.appendChild(svg("title", {}, label));
    root.dataset.plotLeft = margin.l; root.dataset.plotRight = width - margin.r;
    root.dataset.plotTop = margin.t; root.dataset.plotBottom = height - margin.b;
    return root;
  }
  function clampWidth(width, lo, hi) { return Math.round(Math.max(lo, Math.min(hi, width || hi))); }

  /**
   * Places breakeven notes beside their lines: each on the side of its own line with room, in the
   * first row where it overlaps no other note and crosses no other marker line (xs), so no label
   * sits on a line. With lines packed too tight for that, it still never covers its own line.
   */
  function placeNotes(notes, xs, left, right, top) {
    var placed = [];
    function spot(n, avoidLines) {
      var w = textWidth(n.text);
      var sides = n.x + 4 + w <= right ? ["right", "left"] : ["left", "right"];
      for (var row = 0; row < 4; row++) {
        for (var s = 0; s < sides.length; s++) {
          var x0 = sides[s] === "right" ? n.x + 4 : n.x - 4 - w;
          if (x0 < left || x0 + w > right) continue;
          var box = { x0: x0 - 2, x1: x0 + w + 2, row: row };
          if (placed.some(function (p) { return p.row === row && p.x0 < box.x1 && box.x0 < p.x1; })) continue;
          if (avoidLines && xs.some(function (x) { return x !== n.x && x > box.x0 && x < box.x1; })) continue;
          placed.push(box);
          return { x: sides[s] === "right" ? x0 : x0 + w, anchor: sides[s] === "right" ? "start" : "end", y: top + 12 + row * 13 };
        }
      }
      return null;
    }
    notes.forEach(function (n) { n.place = spot(n, true) || spot(n, false) || { x: n.x + 4, anchor: "start", y: top + 12 + 4 * 13 }; });
  }

  /** A trade's payoff at expiry: P&L line, zero line, worst case, max gain, breakevens, underlying. */
  function payoff(p, title, width) {
    var W = clampWidth(width, 300, 720), H = W < 480 ? 240 : 270, m = { l: W < 480 ? 52 : 64, r: 12, t: 14, b: 54 };
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
    // Round dollar gridlines; their labels make way for the labelled levels ($0, worst, max gain).
    var levels = [0];
    if (typeof p.worst_case_loss === "number") levels.push(-p.worst_case_loss);
    if (typeof p.max_gain === "number") levels.push(p.max_gain);
    var yt = niceTicks(yLo, yHi, H < 250 ? 4 : 5);
    root.dataset.yStep = yt.step;
    yt.ticks.forEach(function (v) {
      root.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), "class": "grid" }));
      if (levels.some(function (l) { return Math.abs(Y(l) - Y(v)) < 13; })) return;
      root.appendChild(svg("text", { x: m.l - 6, y: Y(v) + 4, "class": "y-label y-tick", "data-tick": v }, money(v)));
    });
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
    // Vertical markers; breakeven notes beside their lines (never on one), the underlying's below the plot.
    var notes = [], markers = [];
    p.breakevens.forEach(function (b) {
      root.appendChild(svg("line", { x1: X(b), x2: X(b), y1: m.t, y2: H - m.b, "class": "breakeven", "data-price": b }));
      notes.push({ x: X(b), text: "BE " + price(b), cls: "x-note be-label", price: b });
      markers.push(X(b));
    });
    var under = null;
    if (typeof p.underlying_price === "number") {
      var u = Math.min(Math.max(p.underlying_price, xMin), xMax);
      root.appendChild(svg("line", { x1: X(u), x2: X(u), y1: m.t, y2: H - m.b, "class": "underlying", "data-price": p.underlying_price }));
      markers.push(X(u));
      under = { x: X(u), text: "▲ now " + price(p.underlying_price) + (p.underlying_price_at ? " (" + nyClock(p.underlying_price_at) + ")" : "") };
    }
    placeNotes(notes, markers, m.l + 2, W - m.r - 2, m.t);
    notes.forEach(function (n) {
      root.appendChild(svg("text", { x: n.place.x, y: n.place.y, "class": n.cls + " " + n.place.anchor, "data-for": n.price }, n.text));
    });
    if (under) {
      // Under the plot, where no marker line runs: centred on its price, kept inside the frame.
      var half = textWidth(under.text) / 2;
      var cx = Math.min(Math.max(under.x, m.l + half), W - m.r - half);
      root.appendChild(svg("text", { x: cx, y: H - m.b + 13, "class": "x-note x-label underlying-label", "data-for": p.underlying_price }, under.text));
    }
    // Round price ticks along the bottom, under the underlying's note.
    var xt = niceTicks(xMin, xMax, W < 480 ? 4 : 6);
    root.dataset.xStep = xt.step;
    xt.ticks.forEach(function (x) {
      root.appendChild(svg("line", { x1: X(x), x2: X(x), y1: H - m.b, y2: H - m.b + 3, "class": "zero" }));
      root.appendChild(svg("text", { x: X(x), y: H - m.b + 29, "class": "x-label", "data-tick": x }, tickText(x, xt.step)));
    });
    root.appendChild(svg("text", { x: (m.l + W - m.r) / 2, y: H - 4, "class": "axis-title" }, "underlying price at expiry"));
    return root;
  }

  /** Today's P&L as a line against the daily loss limit (a loss is below zero). */
  function pnl(series, width) {
    var W = clampWidth(width, 300, 720), H = 200, m = { l: W < 480 ? 52 : 64, r: 12, t: 14, b: 30 };
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
      root.appendChild(svg("text", { x: m.l, y: H - 8, "class": "x-label start" }, nyClock(t0)));
      root.appendChild(svg("text", { x: W - m.r, y: H - 8, "class": "x-label end" }, nyClock(t1)));
    } else root.appendChild(svg("text", { x: (m.l + W - m.r) / 2, y: (m.t + H - m.b) / 2, "class": "x-note x-label" }, "no P&L reported today yet"));
    return root;
  }

  /** Each limit's use as a bar (share of the limit), red from 80%; on a phone the label sits above its bar. */
  function limitBars(limits, width) {
    var W = clampWidth(width, 300, 720), narrow = W < 560;
    var rowH = narrow ? 36 : 26, m = narrow ? { l: 4, r: 46, t: 4, b: 4 } : { l: 340, r: 70, t: 6, b: 6 };
    var H = m.t + m.b + rowH * limits.length;
    var root = frame(W, H, m, "Use of each hard limit", "limit-bars");
    limits.forEach(function (l, i) {
      var share = l.limit ? Math.max(0, (l.used || 0) / l.limit) : 0;
      var y = m.t + i * rowH;
      var full = W - m.l - m.r;
      var barY = narrow ? y + 17 : y + 4, barH = narrow ? rowH - 21 : rowH - 10;
      var g = svg("g", { "class": "limit-bar" + (share >= 0.8 ? " high" : ""), "data-limit": l.name, "data-share": share });
      g.appendChild(narrow
        ? svg("text", { x: m.l, y: y + 12, "class": "bar-label" }, l.label || l.name)
        : svg("text", { x: m.l - 8, y: y + rowH / 2 + 4, "class": "y-label" }, l.label || l.name));
      g.appendChild(svg("rect", { x: m.l, y: barY, width: full, height: barH, "class": "track" }));
      g.appendChild(svg("rect", { x: m.l, y: barY, width: Math.min(1, share) * full, height: barH, "class": "used" }));
      g.appendChild(svg("text", { x: W - m.r + 6, y: barY + barH / 2 + 4, "class": "x-note share" }, Math.round(share * 100) + "%"));
      root.appendChild(g);
    });
    return root;
  }

  window.IbkrCharts = { payoff: payoff, pnl: pnl, limitBars: limitBars, niceTicks: niceTicks };
  window.IbkrTime = { nyTime: nyTime, nyClock: nyClock };
})();
`;
