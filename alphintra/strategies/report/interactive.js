// Draws the panes described by the JSON in #chart-spec with Lightweight Charts (inlined before this script).
// Every pane shares one time axis: zooming or panning one moves the others, and the crosshair of one is mirrored
// on the others, with each pane's legend showing the values under it.
(function () {
  "use strict";
  var LC = window.LightweightCharts;
  var spec = JSON.parse(document.getElementById("chart-spec").textContent);
  var root = document.getElementById("charts");
  var panes = [];

  function fmt(value, precision) {
    return value.toLocaleString("en-US", { minimumFractionDigits: precision, maximumFractionDigits: precision });
  }

  function describe(series, point) {
    if (!point) return series.name + " –";
    if (point.open !== undefined) {
      var p = series.precision;
      return series.name + " O " + fmt(point.open, p) + " H " + fmt(point.high, p) + " L " + fmt(point.low, p) +
        " C " + fmt(point.close, p);
    }
    return series.name + " " + fmt(point.value, series.precision) + (series.unit || "");
  }

  function timeLabel(time) {
    var d = new Date(time * 1000).toISOString();
    if (!spec.timeVisible) return d.slice(0, 10);
    return d.slice(0, 10) + " " + d.slice(11, spec.secondsVisible ? 19 : 16);
  }

  spec.panes.forEach(function (pane) {
    var box = document.createElement("section");
    box.className = "pane";
    var title = document.createElement("h3");
    title.textContent = pane.title;
    var legend = document.createElement("div");
    legend.className = "legend";
    var holder = document.createElement("div");
    holder.className = "chart";
    holder.style.height = pane.height + "px";
    box.append(title, legend, holder);
    root.append(box);
    var chart = LC.createChart(holder, {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#4b5563", fontSize: 11 },
      grid: { vertLines: { color: "#f0f2f6" }, horzLines: { color: "#f0f2f6" } },
      crosshair: { mode: LC.CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#d9dde6", minimumWidth: 90 },
      timeScale: { borderColor: "#d9dde6", timeVisible: spec.timeVisible, secondsVisible: spec.secondsVisible },
      localization: { timeFormatter: timeLabel },
    });
    var series = pane.series.map(function (s) {
      var format = { type: "price", precision: s.precision, minMove: Math.pow(10, -s.precision) };
      var api;
      if (s.type === "candles") {
        api = chart.addCandlestickSeries({ priceFormat: format });
      } else if (s.type === "area") {
        api = chart.addAreaSeries({
          priceFormat: format, lineColor: s.color, topColor: s.color + "55", bottomColor: s.color + "08",
          lineWidth: 2, invertFilledArea: !!s.invert,
        });
      } else {
        api = chart.addLineSeries({ priceFormat: format, color: s.color, lineWidth: 1.5, lastValueVisible: false,
          priceLineVisible: false });
      }
      api.setData(s.data);
      if (s.markers && s.markers.length) api.setMarkers(s.markers);
      var byTime = new Map();
      s.data.forEach(function (point) { byTime.set(point.time, point); });
      return { spec: s, api: api, byTime: byTime };
    });
    chart.timeScale().fitContent();
    panes.push({ chart: chart, series: series, legend: legend });
  });

  function showLegend(pane, time) {
    pane.legend.textContent = pane.series.map(function (s) {
      var point = time === undefined ? s.spec.data[s.spec.data.length - 1] : s.byTime.get(time);
      return describe(s.spec, point && (point.value !== undefined || point.open !== undefined) ? point : null);
    }).join("   ");
  }

  var syncing = false;
  panes.forEach(function (pane) {
    showLegend(pane, undefined);
    pane.chart.timeScale().subscribeVisibleTimeRangeChange(function (range) {
      if (syncing || !range) return;
      syncing = true;
      panes.forEach(function (other) { if (other !== pane) other.chart.timeScale().setVisibleRange(range); });
      syncing = false;
    });
    pane.chart.subscribeCrosshairMove(function (param) {
      if (syncing) return;
      syncing = true;
      panes.forEach(function (other) {
        showLegend(other, param.time);
        if (other === pane) return;
        var first = other.series[0];
        var point = param.time === undefined ? null : first.byTime.get(param.time);
        var value = point ? (point.close !== undefined ? point.close : point.value) : undefined;
        if (value === undefined) other.chart.clearCrosshairPosition();
        else other.chart.setCrosshairPosition(value, param.time, first.api);
      });
      syncing = false;
    });
  });
  document.body.setAttribute("data-charts-ready", String(panes.length));
})();
