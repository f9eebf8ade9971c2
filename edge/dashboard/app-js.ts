// The dashboard's client script, served as /dashboard/app.js (CSP allows scripts from self only).
// Every value from the API is put on the page with textContent or DOM properties, never as
// markup: strategy names and metadata come from agents and may be hostile. It refetches the
// state on each `changed` message of the /api/live WebSocket, and polls slowly as a fallback.
// What it shows is said plainly: whether a new trade can be opened now and why not (the edge's own
// answer), stale figures marked stale, every premium as a credit or a debit, every time in New York
// time labelled ET, and every action reachable on a phone.
// Plain ES2020 in a string (no template literals inside), so no build step and no framework.
export const APP_JS = String.raw`"use strict";
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var $ = function (id) { return document.getElementById(id); };
  var state = null;
  var lastAuditSeq = 0;
  var auditFilter = { action: "", actor: "", credential: "" };
  var tradesCredential = "";
  var socket = null;
  var reconnectDelay = 1000;
  var refreshing = null;
  var refreshAgain = false;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "—" : String(cell);
      tr.appendChild(td);
    });
    return tr;
  }
  // Each cell carries its column's name, which narrow screens show beside it (tables become cards).
  function labelCells(table) {
    var head = table.querySelector("thead tr") || table.querySelector("tr.head");
    if (!head) return;
    var names = Array.prototype.map.call(head.children, function (th) { return th.textContent; });
    table.querySelectorAll("tbody tr, tr:not(.head)").forEach(function (tr) {
      if (tr.parentNode && tr.parentNode.tagName === "THEAD") return;
      Array.prototype.forEach.call(tr.children, function (td, i) { if (td.tagName === "TD" && names[i]) td.dataset.label = names[i]; });
    });
  }
  function headRow(names) {
    var tr = document.createElement("tr");
    tr.className = "head";
    names.forEach(function (h) { var th = el("th", h); th.scope = "col"; tr.appendChild(th); });
    return tr;
  }
  function emptyRow(tbody, columns, text) {
    var tr = document.createElement("tr");
    var td = el("td", text, "empty");
    td.colSpan = columns;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
  function usd(n) {
    if (n === null || n === undefined || typeof n !== "number") return "—";
    return (n < 0 ? "-$" : "$") + Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function amount(n, unit) {
    if (n === null || n === undefined) return "—";
    if (unit === "usd") return usd(n);
    // Percent limits come as fractions (0.3 = 30%).
    if (unit === "pct") return (Math.round(n * 10000) / 100) + "%";
    return String(n);
  }
  // One time format on the whole page: New York time, labelled ET (charts.js).
  function when(iso) {
    if (!iso) return "—";
    return window.IbkrTime ? window.IbkrTime.nyTime(iso) : String(iso);
  }
  // Premiums say which way the money goes. Dollars of a whole order: credit positive (net_premium).
  function dollarsCredit(n) {
    if (typeof n !== "number") return "—";
    if (n === 0) return "$0.00";
    return usd(Math.abs(n)) + (n > 0 ? " credit" : " debit");
  }
  // A net price per combo unit in the broker's convention: debit positive, credit negative.
  function perUnit(n) {
    if (typeof n !== "number") return "—";
    if (n === 0) return "0.00";
    return Math.abs(n).toFixed(2) + (n > 0 ? " debit" : " credit");
  }
  // A per-share price paid (BUY/BOT) or received (SELL/SLD).
  function sidePrice(price, paid) {
    if (typeof price !== "number") return "—";
    return price.toFixed(2) + (price === 0 ? "" : paid ? " debit" : " credit");
  }
  // An order's average fill: a combo's is signed per unit; a single leg's is its own price, paid or received by its side.
  function orderPrice(n, t, o) {
    if (typeof n !== "number") return "—";
    var legs = t.legs || [];
    if (legs.length !== 1) return perUnit(n);
    var buys = (legs[0].action === "BUY") !== (o.intent === "close");
    return sidePrice(Math.abs(n), buys);
  }
  function announce(text) {
    var a = $("announcer");
    a.textContent = "";
    window.setTimeout(function () { a.textContent = text; }, 30);
  }
  function legsList(legs) {
    var ul = document.createElement("ul");
    ul.className = "legs";
    legsText(legs).split("; ").forEach(function (text) { ul.appendChild(el("li", text)); });
    return ul;
  }
  // What TWS reported of each option leg's end (exercise, assignment, lapse).
  function legEnds(t) {
    var ul = document.createElement("ul");
    ul.className = "leg-ends";
    ul.dataset.legEnds = t.trade_id;
    var words = { lapsed: "lapsed", exercised: "exercised into stock", assigned: "ASSIGNED into stock", cash_settled: "settled for cash", mixed: "partly exercised or assigned" };
    t.leg_ends.forEach(function (l) {
      var c = l.contract;
      var li = el("li", l.action + " " + l.quantity + " " + c.symbol + " " + c.expiry + " " + c.strike + c.right + ": " +
        (l.outcome ? words[l.outcome] || l.outcome : "not reported by TWS") + (l.early ? " (early, before its expiry day)" : ""), l.outcome === "assigned" || l.early ? "bad" : "");
      li.dataset.outcome = l.outcome || "unreported";
      ul.appendChild(li);
    });
    var box = document.createElement("div");
    box.appendChild(el("p", "How its legs ended:"));
    box.appendChild(ul);
    return box;
  }
  function legsText(legs) {
    if (!Array.isArray(legs)) return "—";
    return legs.map(function (leg) {
      var c = leg.contract || {};
      var what = c.sec_type === "STK" ? c.symbol + " stock" : c.symbol + " " + c.expiry + " " + c.strike + c.right;
      return leg.action + " " + leg.quantity + " " + what + " @ " + sidePrice(leg.price, leg.action === "BUY");
    }).join("; ");
  }

  function api(path, body) {
    var init = { credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["content-type"] = "application/json";
      init.headers["x-csrf-token"] = CSRF;
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 401) { window.location.assign("/dashboard"); throw new Error("session expired: log in again"); }
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
        if (!res.ok) throw new Error((data && data.error) ? data.error : ("HTTP " + res.status));
        return data;
      });
    });
  }

  // ---- rendering -----------------------------------------------------------------------------
  function renderHealth(s) {
    $("account-id").textContent = s.account_id ? "— account " + s.account_id : "";
    var b = s.bridge || {};
    $("bridge-health").textContent = b.connected
      ? "connected since " + when(b.since) + " (version " + (b.bridge_version || "?") + ", mode " + (b.mode || "?") + ")"
      : "NOT connected" + (b.since ? " since " + when(b.since) : "");
    $("bridge-health").className = b.connected ? "ok" : "bad";
    var t = s.tws;
    // Without a bridge nobody reports TWS: what is stored is its last word, not its state now.
    if (!b.connected) $("tws-health").textContent = "unknown (no bridge)" + (t ? "; last reported " + t.state + " since " + when(t.since) : "");
    else $("tws-health").textContent = t ? t.state + " since " + when(t.since) + (t.last_error ? " — last error: " + t.last_error : "") : "not reported yet";
    $("tws-health").className = b.connected && t && t.state === "connected" ? "ok" : "bad";
    $("data-age").textContent = s.data_age_seconds === null || s.data_age_seconds === undefined ? "no account data" : Math.round(s.data_age_seconds) + " s";
    $("modes").textContent = (s.read_only ? "read-only" : "trading") + ", shadow mode " + (s.shadow_mode ? "on" : "off");
    var st = s.storage;
    if (st) {
      $("storage-health").textContent = st.alert ? "ALERT — " + st.message : (st.database_bytes / 1e6).toFixed(1) + " MB used (alert from " + (st.alert_at_bytes / 1e9).toFixed(1) + " GB; the limit is " + (st.limit_bytes / 1e9).toFixed(0) + " GB)";
      $("storage-health").className = st.alert ? "bad" : "ok";
    }
  }
  function staleNote(node, s) {
    node.hidden = !s.stale;
    node.textContent = s.stale ? "STALE — not live: " + (s.stale_reason || "no account data") : "";
  }
  function renderAccount(s) {
    var a = s.account || {};
    $("net-liquidation").textContent = usd(a.net_liquidation);
    $("total-cash").textContent = usd(a.total_cash);
    $("buying-power").textContent = usd(a.buying_power);
    $("daily-pnl").textContent = usd(a.daily_pnl);
    $("account-as-of").textContent = when(a.as_of);
    staleNote($("account-stale"), s);
    $("account").classList.toggle("is-stale", !!s.stale);
  }
  // The strip at the top: can a new trade be opened now (the edge's answer, as health_check gives
  // it), and the few numbers behind it, each a tap away from its section.
  function tile(id, text, cls, href) {
    var dd = $(id);
    dd.replaceChildren();
    if (href) { var a = el("a", text); a.href = href; dd.appendChild(a); } else dd.textContent = text;
    dd.className = cls || "";
  }
  function renderSummary(s) {
    var open = s.can_open_new_trades === true;
    var why = s.blocked_by || [];
    var gated = s.shadow_mode || s.confirm_every_order;
    $("trade-now").textContent = open
      ? "Orders can be placed now" + (s.shadow_mode ? " — each waits for approval here (shadow mode)" : s.confirm_every_order ? " — each needs its person's confirmation" : "")
      : "New trades are refused now" + (s.ready_to_trade ? " — closing positions still works" : "");
    $("trade-now").className = "headline " + (open ? "ok" : "bad");
    $("summary").className = open ? "open" : "blocked";
    var list = $("trade-now-why");
    list.replaceChildren();
    why.forEach(function (reason) { list.appendChild(el("li", reason)); });
    if (!open && !s.ready_to_trade) list.appendChild(el("li", "Closing positions cannot reach TWS either until the bridge and TWS are connected"));
    var stop = s.emergency_stop || {};
    tile("sum-stop", stop.on ? "ON — " + (stop.reason || "") : "off", stop.on ? "bad" : "ok", "#kill-switch");
    var tripped = (s.breakers || []).filter(function (b) { return b.tripped; });
    tile("sum-breakers", tripped.length ? tripped.map(function (b) { return b.name.replace(/_/g, " "); }).join(", ") + " TRIPPED" : "none tripped", tripped.length ? "bad" : "ok", "#breakers");
    var series = s.pnl_series || {};
    var limit = series.daily_loss_limit;
    var pnl = typeof series.current === "number" ? series.current : null;
    var used = limit && pnl !== null && pnl < 0 ? Math.round(100 * -pnl / limit) : 0;
    tile("sum-pnl", pnl === null ? "—" : usd(pnl) + (limit ? " of " + usd(-limit) + " limit (" + used + "% used)" : ""), used >= 80 ? "bad" : "", "#pnl");
    var risk = s.risk_in_use || {};
    tile("sum-risk", typeof risk.reserved_risk === "number" ? usd(risk.reserved_risk) + " in " + risk.active_trades + " trade" + (risk.active_trades === 1 ? "" : "s") : "—", "", "#trades");
    // Stale says its cause in a few words (the whole reason is in the Account section).
    tile("sum-data", s.stale ? "STALE — " + String(s.stale_reason || "no account data").split(":")[0] : "live", s.stale ? "warn" : "ok", "#account");
    var waiting = (s.pending_approvals || []).length;
    var lost = 0;
    (s.trades || []).forEach(function (t) { (t.orders || []).forEach(function (o) { if (o.unaccounted) lost++; }); });
    var parts = [];
    if (waiting) parts.push(waiting + " approval" + (waiting === 1 ? "" : "s"));
    if (lost) parts.push(lost + " unaccounted order" + (lost === 1 ? "" : "s"));
    tile("sum-waiting", parts.length ? parts.join(", ") : "nothing", parts.length ? "warn" : "", waiting ? "#approvals" : lost ? "#trades" : null);
  }
  function renderLimits(s) {
    var tbody = $("limits-body");
    tbody.replaceChildren();
    (s.limits || []).forEach(function (l) {
      var meter = document.createElement("meter");
      meter.min = 0; meter.max = l.limit || 1; meter.value = Math.max(0, Math.min(l.used || 0, l.limit || 0));
      meter.high = (l.limit || 1) * 0.8; meter.optimum = 0;
      var pct = l.limit ? Math.round(100 * (l.used || 0) / l.limit) : 0;
      meter.setAttribute("aria-label", (l.label || l.name) + ": " + pct + "% used");
      var cell = document.createElement("span");
      cell.appendChild(meter);
      cell.appendChild(document.createTextNode(" " + pct + "%"));
      var tr = row([l.label || l.name, amount(l.limit, l.unit), amount(l.used, l.unit), amount(l.remaining, l.unit), cell]);
      tr.dataset.limit = l.name;
      tbody.appendChild(tr);
    });
    if (!tbody.children.length) emptyRow(tbody, 5, "No limits reported");
    labelCells(tbody.parentNode);
    var charts = window.IbkrCharts;
    if (charts) $("limit-bars").replaceChildren(charts.limitBars(s.limits || [], $("limits").clientWidth));
  }
  function renderPnl(s) {
    var charts = window.IbkrCharts;
    var chart = charts ? charts.pnl(s.pnl_series, $("pnl").clientWidth) : null;
    $("pnl-chart").replaceChildren();
    if (chart) $("pnl-chart").appendChild(chart);
  }
  function renderStop(s) {
    var e = s.emergency_stop || { on: false };
    var on = e.on === true;
    $("kill-switch").className = on ? "stopped" : "";
    // Whether trading is possible is the summary's answer; here only the stop itself.
    $("estop-state").textContent = on ? "EMERGENCY STOP IS ON — no new orders" : "Emergency stop is off";
    $("estop-detail").textContent = on ? "Reason: " + (e.reason || "—") + (e.by ? " (by " + e.by + ")" : "") + ", since " + when(e.at) : "";
    $("estop-toggle").textContent = on ? "Release emergency stop" : "Engage emergency stop";
    $("estop-toggle").dataset.on = on ? "true" : "false";
  }
  function renderBreakers(s) {
    var tbody = $("breakers-body");
    tbody.replaceChildren();
    (s.breakers || []).forEach(function (br) {
      var action = document.createElement("span");
      if (br.tripped && br.name !== "daily_loss") {
        var btn = el("button", "Reset " + br.name.replace(/_/g, " "));
        btn.type = "button";
        btn.addEventListener("click", function () {
          confirmAction({ title: "Reset the " + br.name.replace(/_/g, " ") + " breaker?", text: "New trades become possible again once every other check passes." }, function (reason) {
            return api("/api/breakers/reset", withBy({ breaker: br.name, reason: reason }));
          }, "Breaker " + br.name + " reset");
        });
        action.appendChild(btn);
      } else if (br.tripped) {
        action.textContent = "resets by itself next New York trading day";
      }
      var tr = row([br.name.replace(/_/g, " "), br.tripped ? "TRIPPED" : "ok", br.reason, br.tripped ? when(br.at) : null, action]);
      tr.className = br.tripped ? "bad" : "";
      tr.dataset.breaker = br.name;
      tbody.appendChild(tr);
    });
    if (!tbody.children.length) emptyRow(tbody, 5, "No breakers reported");
    labelCells(tbody.parentNode);
  }
  function renderApprovals(s) {
    $("shadow-state").textContent = s.shadow_mode ? "on (every order waits for approval here)" : "off";
    $("shadow-toggle").textContent = s.shadow_mode ? "Turn shadow mode off" : "Turn shadow mode on";
    $("confirm-state").textContent = s.confirm_every_order ? "on (every order waits for a person: its approval link, or the list below; an answer in the MCP client does not count)" : "off";
    $("confirm-toggle").textContent = s.confirm_every_order ? "Turn confirm every order off" : "Turn confirm every order on";
    var tbody = $("approvals-body");
    tbody.replaceChildren();
    (s.pending_approvals || []).forEach(function (p) {
      var decide = document.createElement("span");
      decide.className = "decide";
      [["approve", "Approve"], ["reject", "Reject"]].forEach(function (pair) {
        var btn = el("button", pair[1], pair[0] === "reject" ? "secondary" : "");
        btn.type = "button";
        btn.setAttribute("aria-label", pair[1] + " " + p.trade_id);
        btn.dataset.decision = pair[0];
        btn.addEventListener("click", function () {
          confirmAction({ title: pair[1] + " trade " + p.trade_id + "?", text: pair[0] === "approve" ? "The order is sent to IBKR at once, after the checks run again." : "The order is dropped and its risk released." }, function (reason) {
            return api("/api/approvals/" + encodeURIComponent(p.trade_id), withBy({ decision: pair[0], reason: reason }));
          }, "Trade " + p.trade_id + " " + (pair[0] === "approve" ? "approved" : "rejected"));
        });
        decide.appendChild(btn);
        decide.appendChild(document.createTextNode(" "));
      });
      var tr = row([p.trade_id, p.symbol, p.strategy, legsList(p.legs), usd(p.computed_max_risk), dollarsCredit(p.net_premium), when(p.expires_at), decide]);
      tr.dataset.tradeId = p.trade_id;
      tbody.appendChild(tr);
    });
    if (!tbody.children.length) emptyRow(tbody, 8, "Nothing waiting for approval");
    labelCells(tbody.parentNode);
  }
  function renderPositions(s) {
    var tbody = $("positions-body");
    tbody.replaceChildren();
    (s.positions || []).forEach(function (p) {
      var contract = p.sec_type === "OPT" ? p.expiry + " " + p.strike + p.right : p.sec_type;
      // Stock carries its own risk (e.g. left by an assignment): unbounded when short.
      if (p.risk_note) contract += " — " + (p.worst_case_loss === null ? "UNBOUNDED RISK: " : "worst case " + usd(p.worst_case_loss) + ": ") + p.risk_note;
      tbody.appendChild(row([p.symbol, contract, p.quantity, usd(p.avg_cost), p.current_price, usd(p.market_value), usd(p.unrealized_pnl)]));
    });
    if (!tbody.children.length) emptyRow(tbody, 7, "No open positions");
    labelCells(tbody.parentNode);
    staleNote($("positions-stale"), s);
  }
  // An order TWS neither holds nor lists as finished keeps its risk reserved until a person says how it ended.
  function settleControls(t, o) {
    // The edge's unaccounted_note says the same for agents (with an ISO time); here in the page's time format.
    var p = el("p", "TWS neither holds order " + (o.order_id === null ? o.order_ref : o.order_id + " (" + o.order_ref + ")") + " nor lists it as finished, since " + when(o.unaccounted_since) +
      ": the status shown is the last TWS reported, and this trade's reserved risk of " + usd(t.reserved_risk) + " stays reserved in every limit. " +
      "It settles when TWS accounts for it at the next bridge reconnect, or when you settle it here, with a reason (or by POST /api/orders/settle). ", "bad");
    p.dataset.unaccounted = o.order_ref;
    [["cancelled", "Settle as cancelled"], ["filled", "Settle as filled…"]].forEach(function (pair) {
      var b = el("button", pair[1]);
      b.type = "button";
      b.dataset.settle = pair[0];
      b.addEventListener("click", function () {
        confirmAction({
          title: pair[1].replace("…", "") + ": " + o.order_ref + "?",
          text: pair[0] === "cancelled" ? "The order is recorded as cancelled and the trade's reserved risk is released." : "The order is recorded as filled at the net price per combo unit you enter (debit positive, credit negative).",
          price: pair[0] === "filled",
        }, function (reason, price) {
          var body = { order_ref: o.order_ref, as: pair[0], reason: reason };
          if (pair[0] === "filled") body.price = price;
          return api("/api/orders/settle", withBy(body));
        }, "Order " + o.order_ref + " settled as " + pair[0]);
      });
      p.appendChild(b);
    });
    return p;
  }
  function renderTrades(s) {
    var list = $("trades-list");
    var open = {};
    list.querySelectorAll("details[open]").forEach(function (d) { open[d.dataset.tradeId] = true; });
    list.replaceChildren();
    var trades = (s.trades || []).slice().reverse();
    var expiring = {};
    (s.expiry_day || []).forEach(function (f) { expiring[f.trade_id] = f; });
    trades.forEach(function (t) {
      var box = document.createElement("details");
      box.dataset.tradeId = t.trade_id;
      if (open[t.trade_id]) box.open = true;
      var flag = expiring[t.trade_id];
      var lost = (t.orders || []).some(function (o) { return o.unaccounted; });
      var summary = el("summary", t.trade_id + " — " + t.symbol + " " + t.strategy + " — " + t.state + " — risk " + usd(t.computed_max_risk) + (flag ? (flag.near_money === false ? " — expires today" : " — PIN RISK") + ", " + flag.minutes_left + " min left" : "") + (lost ? " — UNACCOUNTED ORDER" : ""));
      box.appendChild(summary);
      if (flag) {
        var warn = el("p", flag.note, flag.near_money === false ? "" : "bad");
        warn.dataset.expiryDay = t.trade_id;
        box.appendChild(warn);
      }
      box.appendChild(el("p", "Legs:"));
      box.appendChild(legsList(t.legs));
      if (t.leg_ends) box.appendChild(legEnds(t));
      box.appendChild(el("p", "Limit " + perUnit(t.limit_price) + " per unit (" + dollarsCredit(t.net_premium) + " in all), reserved risk " + usd(t.reserved_risk) + ", created " + when(t.created_at)));
      // Who acted on it: an OAuth app (its name is the registrant's own words, shown as text), the static token, or an admin.
      if (t.acts && t.acts.length) {
        var acts = el("p", "By: " + t.acts.map(function (a) { return a.act + " by " + a.by.name + (a.by.kind === "oauth" ? " (OAuth app " + a.by.id + ")" : "") + " at " + when(a.at); }).join("; "), "acts");
        acts.dataset.acts = t.trade_id;
        box.appendChild(acts);
      }
      if (t.standing) {
        // mark: the structure's net per unit now, opening side (debit positive); closing it is the reverse.
        var mark = t.standing.mark;
        box.appendChild(el("p", "Mark " + (mark === null ? "—" : perUnit(mark) + " (to close now: " + perUnit(-mark) + ")") + ", unrealized P&L " + usd(t.standing.unrealized_pnl) +
          ", " + usd(t.standing.distance_to_worst_case) + " from its worst case, " + (t.standing.days_to_expiry === null ? "—" : t.standing.days_to_expiry) + " days to expiry" +
          (t.standing.reason ? " (" + t.standing.reason + ")" : "") + (s.stale ? " — STALE: from figures that are not live" : ""), "standing"));
      }
      if (t.payoff && window.IbkrCharts) {
        var picture = window.IbkrCharts.payoff(t.payoff, t.trade_id, list.clientWidth - 24);
        if (picture) { picture.dataset.tradeId = t.trade_id; box.appendChild(picture); }
        else if (t.payoff.reason) box.appendChild(el("p", "No payoff picture: " + t.payoff.reason, "empty"));
        if (picture && t.payoff.underlying_price === null) box.appendChild(el("p", "The underlying's price is not known yet (no quote has passed through since the edge started)", "empty"));
      }
      var orders = document.createElement("table");
      orders.appendChild(el("caption", "Orders"));
      orders.className = "cards";
      orders.appendChild(headRow(["Order", "Status", "Filled", "Remaining", "Avg price", "Updated"]));
      (t.orders || []).forEach(function (o) {
        var status = o.unaccounted ? o.status + " — unaccounted since " + when(o.unaccounted_since) + ", risk kept reserved" : o.status;
        orders.appendChild(row([o.order_id === null ? "— (" + o.intent + ")" : o.order_id + " (" + o.intent + ")", status, o.filled, o.remaining, orderPrice(o.avg_fill_price, t, o), when(o.updated_at)]));
      });
      labelCells(orders);
      box.appendChild(orders);
      (t.orders || []).filter(function (o) { return o.unaccounted; }).forEach(function (o) { box.appendChild(settleControls(t, o)); });
      var fills = document.createElement("table");
      fills.appendChild(el("caption", "Fills"));
      fills.className = "cards";
      fills.appendChild(headRow(["Exec id", "Leg", "Side", "Qty", "Price", "Commission", "Time"]));
      (t.fills || []).forEach(function (f) {
        // Name the leg: a combo fills leg by leg, and "SPY" alone does not say which.
        var leg = f.sec_type === "STK" ? f.symbol + " stock" : f.sec_type === "BAG" ? f.symbol + " combo" : f.symbol + (f.expiry ? " " + f.expiry + " " + f.strike + f.right : "");
        var what = f.settlement === "delivery" ? f.symbol + " stock delivered (not in this trade's P&L)" : f.settlement === "option" ? leg + " option's end (no order)" : leg + (f.intent === "close" ? " (close)" : "");
        fills.appendChild(row([f.exec_id, what, f.side, f.shares, sidePrice(f.price, f.side === "BOT"), f.commission, when(f.time)]));
      });
      labelCells(fills);
      box.appendChild(fills);
      list.appendChild(box);
    });
    if (!trades.length) list.appendChild(el("p", "No trades yet", "empty"));
  }
  function renderApps(data) {
    if (!changed("apps", data && data.grants)) return;
    var tbody = $("apps-body");
    tbody.replaceChildren();
    ((data && data.grants) || []).forEach(function (g) {
      var btn = el("button", "Revoke", "secondary");
      btn.type = "button";
      btn.setAttribute("aria-label", "Revoke " + g.client_name);
      btn.addEventListener("click", function () {
        confirmAction({ title: "Revoke " + g.client_name + "?", text: "Its tokens stop working at once; it must be authorized again." }, function (reason) {
          return api("/api/oauth/grants/" + encodeURIComponent(g.grant_id) + "/revoke", withBy({ reason: reason }));
        }, g.client_name + " revoked");
      });
      var tr = row([g.client_name, (g.scopes || []).join(", "), when(g.granted_at), g.last_used ? when(g.last_used) : "never", btn]);
      tr.dataset.grantId = g.grant_id;
      tbody.appendChild(tr);
    });
    if (!tbody.children.length) emptyRow(tbody, 5, "No app is connected by OAuth");
    labelCells(tbody.parentNode);
  }
  // Re-render a section only when its data changed, so keyboard focus and opened trade
  // details survive the refreshes that other sections' changes cause.
  var lastJson = {};
  function changed(key, value) {
    var json = JSON.stringify(value === undefined ? null : value);
    if (lastJson[key] === json) return false;
    lastJson[key] = json;
    return true;
  }
  function renderState(s) {
    state = s;
    renderSummary(s); renderHealth(s); renderAccount(s); renderStop(s);
    if (changed("limits", s.limits)) renderLimits(s);
    if (changed("breakers", s.breakers)) renderBreakers(s);
    if (changed("approvals", [s.shadow_mode, s.confirm_every_order, s.pending_approvals])) renderApprovals(s);
    if (changed("positions", [s.positions, s.stale, s.stale_reason])) renderPositions(s);
    if (changed("trades", [s.trades, s.expiry_day, s.stale])) renderTrades(s);
    if (changed("pnl", s.pnl_series)) renderPnl(s);
    document.body.dataset.loaded = "true";
  }

  function auditQuery(after) {
    var q = new URLSearchParams();
    if (after) q.set("after", String(after));
    q.set("limit", "200");
    if (auditFilter.action) q.set("action", auditFilter.action);
    if (auditFilter.actor) q.set("actor", auditFilter.actor);
    if (auditFilter.credential) q.set("credential", auditFilter.credential);
    return "/api/audit?" + q.toString();
  }
  // The audit log stays folded away (a long day is thousands of rows): the newest AUDIT_PAGE are
  // shown once it is opened, older ones on request, each row's details folded to one line.
  var AUDIT_PAGE = 25;
  var auditShown = AUDIT_PAGE;
  function auditDetails(json) {
    var box = document.createElement("details");
    box.className = "audit-details";
    box.appendChild(el("summary", json.length > 90 ? json.slice(0, 90) + "…" : json));
    box.appendChild(el("code", json));
    return box;
  }
  function showAuditRows() {
    var rows = $("audit-body").children;
    Array.prototype.forEach.call(rows, function (tr, i) { tr.hidden = i >= auditShown; });
    $("audit-more").hidden = rows.length <= auditShown;
    var newest = rows[0];
    $("audit-summary").textContent = rows.length
      ? "Audit log — " + (auditFilter.action || auditFilter.actor ? "filtered, " : "") + rows.length + (rows.length >= 200 ? "+" : "") + " rows, newest #" + newest.dataset.seq + " " + newest.dataset.action + " at " + when(newest.dataset.at)
      : "Audit log — no rows" + (auditFilter.action || auditFilter.actor ? " match the filter" : "");
  }
  function addAuditRows(rows) {
    var tbody = $("audit-body");
    rows.forEach(function (r) {
      if (auditFilter.action && r.action !== auditFilter.action) return;
      if (auditFilter.actor && r.actor !== auditFilter.actor) return;
      if (auditFilter.credential) {
        var cred = null;
        try { cred = JSON.parse(r.details_json).credential; } catch (e) { cred = null; }
        if (!cred || cred.id !== auditFilter.credential) return;
      }
      var tr = row([r.seq, when(r.at), r.actor, r.action, auditDetails(r.details_json)]);
      tr.dataset.seq = String(r.seq);
      tr.dataset.action = r.action;
      tr.dataset.at = r.at;
      tbody.insertBefore(tr, tbody.firstChild);
      while (tbody.children.length > 200) tbody.removeChild(tbody.lastChild);
      if (r.seq > lastAuditSeq) lastAuditSeq = r.seq;
    });
    labelCells(tbody.parentNode);
    showAuditRows();
  }
  function reloadAudit() {
    lastAuditSeq = 0;
    auditShown = AUDIT_PAGE;
    $("audit-body").replaceChildren();
    return loadAuditSince(0);
  }
  function loadAuditSince(after) {
    return api(auditQuery(after)).then(function (data) {
      var rows = (data && data.rows) || [];
      addAuditRows(rows);
      // The API pages in seq order; keep reading until caught up.
      if (rows.length >= 200) return loadAuditSince(rows[rows.length - 1].seq);
    });
  }

  function refresh() {
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = Promise.all([api("/api/state" + (tradesCredential ? "?credential=" + encodeURIComponent(tradesCredential) : "")).then(renderState), loadAuditSince(lastAuditSeq), api("/api/oauth/grants").then(renderApps)])
      .catch(function (err) { $("live-status").textContent = "Could not load: " + err.message; })
      .then(function () {
        refreshing = null;
        if (refreshAgain) { refreshAgain = false; return refresh(); }
      });
    return refreshing;
  }

  // ---- live updates --------------------------------------------------------------------------
  function connectLive() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live";
    try { socket = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    socket.addEventListener("open", function () {
      reconnectDelay = 1000;
      $("live-status").textContent = "Live: connected";
      document.body.dataset.live = "true";
      refresh();
    });
    socket.addEventListener("message", function (ev) {
      var msg = null;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg && msg.type === "changed") refresh();
    });
    socket.addEventListener("close", function (ev) {
      // 4401: this session was ended (logout here or elsewhere): back to the login form.
      if (ev.code === 4401) { window.location.assign("/dashboard"); return; }
      document.body.dataset.live = "false";
      $("live-status").textContent = "Live updates lost — reconnecting…";
      scheduleReconnect();
    });
  }
  function scheduleReconnect() {
    window.setTimeout(connectLive, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
  }

  // ---- actions -------------------------------------------------------------------------------
  function withBy(body) {
    var by = $("actor").value.trim();
    if (by) body.by = by;
    return body;
  }
  var pending = null;
  function confirmAction(opts, run, doneText) {
    var dialog = $("confirm-dialog");
    $("confirm-title").textContent = opts.title;
    $("confirm-text").textContent = opts.text || "";
    var extra = $("confirm-extra");
    extra.replaceChildren();
    (opts.confirmations || []).forEach(function (text, i) {
      var p = document.createElement("p");
      var box = document.createElement("input");
      box.type = "checkbox"; box.required = true; box.id = "confirm-extra-" + i;
      var label = el("label", text);
      label.htmlFor = box.id;
      p.appendChild(box); p.appendChild(document.createTextNode(" ")); p.appendChild(label);
      extra.appendChild(p);
    });
    if (opts.price) {
      var pp = document.createElement("p");
      var input = document.createElement("input");
      input.type = "number"; input.step = "0.01"; input.required = true; input.id = "confirm-price";
      var plabel = el("label", "Net fill price per unit ");
      plabel.htmlFor = input.id;
      pp.appendChild(plabel); pp.appendChild(input);
      extra.appendChild(pp);
    }
    $("confirm-reason").value = "";
    pending = { run: run, doneText: doneText };
    dialog.showModal();
    $("confirm-reason").focus();
  }
  function setupDialog() {
    var dialog = $("confirm-dialog");
    $("confirm-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reason = $("confirm-reason").value.trim();
      if (!reason) { $("confirm-reason").setCustomValidity("A reason is required"); $("confirm-reason").reportValidity(); return; }
      var priceInput = document.getElementById("confirm-price");
      var price = priceInput ? Number(priceInput.value) : undefined;
      if (priceInput && (priceInput.value === "" || !isFinite(price))) { priceInput.setCustomValidity("Enter the net fill price"); priceInput.reportValidity(); return; }
      var job = pending;
      pending = null;
      dialog.close();
      if (!job) return;
      job.run(reason, price).then(function () {
        announce(job.doneText);
        refresh();
      }, function (err) {
        announce("Failed: " + err.message);
      });
    });
    $("confirm-reason").addEventListener("input", function () { $("confirm-reason").setCustomValidity(""); });
    $("confirm-cancel").addEventListener("click", function () { pending = null; dialog.close(); });
    dialog.addEventListener("cancel", function () { pending = null; });
  }
  function setupActions() {
    $("estop-toggle").addEventListener("click", function () {
      var on = $("estop-toggle").dataset.on !== "true";
      if (!on) {
        confirmAction({ title: "Release the emergency stop?", text: "New orders become possible again, subject to every other check." }, function (reason) {
          return api("/api/emergency-stop", withBy({ on: false, reason: reason }));
        }, "Emergency stop released");
        return;
      }
      var cancel = $("estop-cancel").checked, close = $("estop-close").checked;
      var confirmations = [];
      if (cancel) confirmations.push("Yes, also cancel every working order at IBKR");
      if (close) confirmations.push("Yes, also close every open position now");
      confirmAction({ title: "Engage the emergency stop?", text: "Every new order is refused until the stop is released. Closing trades stays allowed.", confirmations: confirmations }, function (reason) {
        return api("/api/emergency-stop", withBy({ on: true, reason: reason, cancel_orders: cancel, close_positions: close }));
      }, "Emergency stop engaged");
    });
    $("cancel-all").addEventListener("click", function () {
      confirmAction({ title: "Cancel all working orders?", text: "Every working order of this account at IBKR is cancelled.", confirmations: ["Yes, cancel every working order"] }, function (reason) {
        return api("/api/cancel-all", withBy({ reason: reason }));
      }, "Cancel-all sent");
    });
    $("logout-everywhere").addEventListener("click", function () {
      confirmAction({ title: "Log out everywhere?", text: "Every dashboard session of this account ends now, this one too; a copied cookie stops working.", confirmations: ["Yes, end every dashboard session"] }, function (reason) {
        return api("/api/sessions/end-all", withBy({ reason: reason })).then(function () { window.location.assign("/dashboard"); });
      }, "Every dashboard session ended");
    });
    $("shadow-toggle").addEventListener("click", function () {
      var on = !(state && state.shadow_mode);
      confirmAction({ title: on ? "Turn shadow mode on?" : "Turn shadow mode off?", text: on ? "Every new order waits here for a human decision." : "Orders that pass every check go to IBKR at once." }, function (reason) {
        return api("/api/shadow-mode", withBy({ on: on, reason: reason }));
      }, "Shadow mode " + (on ? "on" : "off"));
    });
    $("confirm-toggle").addEventListener("click", function () {
      var on = !(state && state.confirm_every_order);
      confirmAction({ title: on ? "Turn confirm every order on?" : "Turn confirm every order off?", text: on ? "Every new order waits for a person after the checks: its one-time approval link, or the approval list here, whatever the agent's client can do (an answer in the client does not count)." : "Orders go out after the checks without a person (a client that can ask in the client still asks; its answer is recorded as the client's)." }, function (reason) {
        return api("/api/confirm-every-order", withBy({ on: on, reason: reason }));
      }, "Confirm every order " + (on ? "on" : "off"));
    });
    $("audit-filter").addEventListener("submit", function (ev) {
      ev.preventDefault();
      auditFilter = { action: $("audit-action").value.trim(), actor: $("audit-actor").value.trim(), credential: $("audit-credential").value.trim() };
      reloadAudit().catch(function (err) { announce("Audit: " + err.message); });
    });
    $("trades-filter").addEventListener("submit", function (ev) {
      ev.preventDefault();
      tradesCredential = $("trades-credential").value.trim();
      refresh();
    });
    $("audit-more").addEventListener("click", function () {
      auditShown += AUDIT_PAGE;
      showAuditRows();
    });
    $("audit-verify").addEventListener("click", function () {
      api("/api/audit/verify").then(function (v) {
        $("audit-verify-result").textContent = v.ok ? "Chain intact (" + v.rows + " rows)" : "CHAIN BROKEN at seq " + v.bad_seq;
      }, function (err) { $("audit-verify-result").textContent = "Verify failed: " + err.message; });
    });
    try {
      $("actor").value = window.localStorage.getItem("dashboard-actor") || "";
      $("actor").addEventListener("change", function () { window.localStorage.setItem("dashboard-actor", $("actor").value.trim()); });
    } catch (e) { /* storage disabled */ }
  }

  // Pictures are drawn at the width they are shown at: redraw them when that changes (a phone turned).
  var lastWidth = 0;
  var resizeTimer = null;
  function onResize() {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      var width = document.documentElement.clientWidth;
      if (!state || Math.abs(width - lastWidth) < 8) return;
      lastWidth = width;
      delete lastJson.limits; delete lastJson.pnl; delete lastJson.trades;
      renderState(state);
    }, 150);
  }

  document.addEventListener("DOMContentLoaded", function () {
    lastWidth = document.documentElement.clientWidth;
    window.addEventListener("resize", onResize);
    setupDialog();
    setupActions();
    refresh();
    connectLive();
    // Fallback and data-age tick; the socket carries the real changes.
    window.setInterval(refresh, 15000);
  });
})();
`;
