/* Pomona dashboard: draws charts and wires the runs page's controls. No dependencies. */
"use strict";

function drawCharts() {
  const nodes = document.querySelectorAll("[data-chart]");
  if (nodes.length === 0) return;
  if (!window.Plotly) {
    nodes.forEach((node) => {
      node.textContent = "Charts need plotly: pip install 'pomona[server]'.";
    });
    return;
  }
  const config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
  };
  nodes.forEach((node) => {
    const spec = JSON.parse(document.getElementById(node.dataset.chart).textContent);
    window.Plotly.newPlot(node, spec.data, spec.layout, config);
  });
}

function wireCompare() {
  const form = document.getElementById("compare-form");
  if (!form) return;
  const boxes = Array.from(form.querySelectorAll("input[name=run_id]"));
  const button = document.getElementById("compare-button");
  const all = document.getElementById("select-all");
  const update = () => {
    const n = boxes.filter((box) => box.checked).length;
    button.disabled = n < 2;
    button.textContent = n > 0 ? `Compare (${n})` : "Compare";
    if (all) all.checked = n > 0 && n === boxes.length;
  };
  boxes.forEach((box) => box.addEventListener("change", update));
  if (all) {
    all.addEventListener("change", () => {
      boxes.forEach((box) => { box.checked = all.checked; });
      update();
    });
  }
  update();
}

function wireAutosubmit() {
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  wireCompare();
  wireAutosubmit();
});
