// Draws the console's charts from the JSON data blocks the pages embed (no inline script).
(function () {
  "use strict";
  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(element, null, { renderer: "canvas" });
    if (data.kind === "graph") { drawGraph(chart, data); return; }
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: "Noto Sans CJK SC, Noto Sans SC, sans-serif" },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 48 },
      xAxis: { type: "category", data: data.categories, axisLabel: { interval: 0, rotate: data.categories.length > 8 ? 30 : 0 } },
      yAxis: { type: "value", max: data.percent ? 100 : null, axisLabel: { formatter: data.percent ? "{value}%" : "{value}" } },
      series: data.series.map(function (s) { return { name: s.name, type: data.kind || "bar", data: s.data }; })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  // The relationship map: a force-directed graph series, the subject in the middle.
  function drawGraph(chart, data) {
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: "Noto Sans CJK SC, Noto Sans SC, sans-serif" },
      tooltip: {},
      series: [{
        type: "graph", layout: "force", roam: true, draggable: true,
        force: { repulsion: 220, edgeLength: 90 },
        label: { show: true, position: "right" },
        edgeLabel: { show: true, formatter: function (p) { return p.data.role; }, fontSize: 10 },
        data: data.nodes.map(function (n) {
          return {
            id: n.id, name: n.name, value: n.id,
            symbol: n.kind === "org" ? "rect" : "circle",
            symbolSize: n.id === data.center ? 28 : 18,
            itemStyle: { color: n.listed ? "#c0392b" : (n.kind === "org" ? "#2c6fbb" : "#7f8c8d") }
          };
        }),
        links: data.links
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  });
})();
