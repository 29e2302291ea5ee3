// Lianxing pages: upload progress and the store trend chart. No inline scripts (CSP).
"use strict";

document.addEventListener("htmx:xhr:progress", function (event) {
  const bar = document.getElementById("upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});

function drawTrend() {
  const node = document.getElementById("trend-chart");
  const source = document.getElementById("trend-data");
  if (!node || !source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  if (!data.months) return;
  const lang = node.dataset.lang === "en" ? "en" : "zh";
  const name = (k) => data.names[k][lang];
  const money = ["gmv", "ad_spend"];
  const chart = echarts.init(node, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 60, right: 60, top: 36, bottom: 28 },
    xAxis: { type: "category", data: data.months },
    yAxis: [
      { type: "value", name: lang === "en" ? "money" : "金额" },
      { type: "value", name: lang === "en" ? "orders" : "订单数", splitLine: { show: false } },
    ],
    series: Object.keys(data.series).map((k) => ({
      name: name(k),
      type: money.includes(k) ? "bar" : "line",
      yAxisIndex: money.includes(k) ? 0 : 1,
      data: data.series[k],
      smooth: false,
    })),
  });
  window.addEventListener("resize", () => chart.resize());
}

document.addEventListener("DOMContentLoaded", drawTrend);
