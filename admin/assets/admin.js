// eventlog admin: the dashboard charts and the live tail. Loaded as a
// file (the Content-Security-Policy forbids inline script). Everything
// taken from events is set with textContent, never as HTML.
(function () {
  "use strict";

  var palette = ["#2f7ed8", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#7f8c8d", "#c0392b", "#a0a0a0"];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function axes() {
    var fg = cssVar("--muted"), grid = cssVar("--line");
    return [
      { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } },
      { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid }, size: 60 }
    ];
  }

  function drawCharts(root) {
    var status = document.getElementById("chart-status");
    fetch(root.dataset.url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (d) {
        var days = d.days || [];
        var width = function (el) { return Math.max(260, el.clientWidth - 4); };
        // Stack: each series is drawn as the running total of those below it.
        var evEl = document.getElementById("chart-events");
        var data = [days], series = [{}], run = days.map(function () { return 0; });
        var bands = [];
        (d.series || []).forEach(function (s, i) {
          run = run.map(function (v, j) { return v + (s.counts[j] || 0); });
          data.push(run.slice());
          var c = palette[i % palette.length];
          series.push({ label: s.action, stroke: c, fill: i === 0 ? c + "55" : undefined, width: 1.5, points: { show: false },
            value: (function (counts) { return function (u, v, si, idx) { return idx == null ? "" : counts[idx]; }; })(s.counts) });
          if (i > 0) bands.push({ series: [i + 1, i], fill: c + "55" });
        });
        if (data.length === 1) { data.push(days.map(function () { return 0; })); series.push({ label: "events", stroke: palette[0] }); }
        var fromZero = { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } };
        // Drill down: a click on the chart opens that day's events.
        var drill = function (u) {
          u.over.addEventListener("click", function () {
            var i = u.cursor.idx;
            if (i == null) return;
            var day = new Date(days[i] * 1000).toISOString().slice(0, 10);
            location.href = root.dataset.events + "?range=custom&since=" + day + "&until=" + day;
          });
        };
        new uPlot({ width: width(evEl), height: 280, series: series, axes: axes(), bands: bands,
          scales: { x: { time: true }, y: fromZero }, hooks: { ready: [drill] } }, data, evEl);
        var auEl = document.getElementById("chart-active");
        new uPlot({ width: width(auEl), height: 280, axes: axes(), scales: { x: { time: true }, y: fromZero },
          series: [{}, { label: "active users", stroke: palette[2], fill: palette[2] + "33", width: 2, points: { show: false } }] },
          [days, d.active || []], auEl);
        status.textContent = "";
      })
      .catch(function (e) { status.textContent = "Charts unavailable: " + e.message; });
  }

  function cell(text, href) {
    var td = document.createElement("td");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function liveTail(table) {
    var rows = document.getElementById("live-rows");
    var pauseBtn = document.getElementById("live-pause");
    var status = document.getElementById("live-status");
    var paused = false, held = [], max = 500, src;

    function add(ev) {
      var waiting = rows.querySelector(".waiting");
      if (waiting) waiting.remove();
      var tr = document.createElement("tr");
      tr.className = "new";
      tr.appendChild(cell(ev.time, ev.url)).className = "ts";
      tr.appendChild(cell(ev.user || "anonymous", ev.user_url));
      tr.appendChild(cell(ev.action, ev.url));
      tr.appendChild(cell(ev.object, ev.object_url));
      var x = cell("");
      x.className = "extra";
      var code = document.createElement("code");
      code.textContent = ev.extra;
      x.appendChild(code);
      tr.appendChild(x);
      rows.insertBefore(tr, rows.firstChild);
      while (rows.children.length > max) rows.removeChild(rows.lastChild);
    }

    function connect() {
      src = new EventSource(table.dataset.stream);
      src.onopen = function () { status.textContent = paused ? "paused" : "live"; };
      src.onerror = function () { status.textContent = "reconnecting…"; };
      src.onmessage = function (m) {
        var ev = JSON.parse(m.data);
        if (paused) {
          held.push(ev);
          if (held.length > max) held.shift();
          status.textContent = "paused · " + held.length + " new";
          return;
        }
        add(ev);
      };
    }

    pauseBtn.addEventListener("click", function () {
      paused = !paused;
      pauseBtn.setAttribute("aria-pressed", paused ? "true" : "false");
      pauseBtn.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        held.forEach(add);
        held = [];
        status.textContent = "live";
      } else {
        status.textContent = "paused";
      }
    });
    connect();
  }

  function init() {
    var charts = document.getElementById("charts");
    if (charts && window.uPlot) drawCharts(charts);
    var live = document.getElementById("live");
    if (live && window.EventSource) liveTail(live);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
