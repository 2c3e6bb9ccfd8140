// The upload page: send a photo to the deployment, show the grade, send the true grade.
(function () {
  "use strict";
  const root = document.getElementById("upload-app");
  if (!root) return;
  const name = root.dataset.deployment;
  const base = "/v1/deployments/" + encodeURIComponent(name);
  const $ = (id) => document.getElementById(id);
  let requestId = null;

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function readError(response) {
    try {
      const body = await response.json();
      return body.error.message + (body.error.hint ? " " + body.error.hint : "");
    } catch (e) {
      return "The server answered " + response.status + ".";
    }
  }

  function render(result) {
    requestId = result.request_id;
    $("grade").textContent = String(result.predictions[0]);
    $("request-id").textContent = requestId;
    const probs = (result.probabilities || [])[0] || {};
    $("confidence").textContent = result.confidence
      ? "(" + (100 * result.confidence[0]).toFixed(1) + " %)" : "";
    const body = $("probabilities").querySelector("tbody");
    body.replaceChildren();
    Object.entries(probs).sort((a, b) => b[1] - a[1]).forEach(([label, p]) => {
      const row = document.createElement("tr");
      row.dataset.grade = label;
      const cells = [label, (100 * p).toFixed(1) + " %"];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 1) td.className = "num";
        row.appendChild(td);
      });
      const barCell = document.createElement("td");
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = Math.round(200 * p) + "px";
      barCell.appendChild(bar);
      row.appendChild(barCell);
      body.appendChild(row);
    });
    const select = $("true-grade");
    if ([...select.options].some((o) => o.value === String(result.predictions[0]))) {
      select.value = String(result.predictions[0]);
    }
    $("feedback-status").textContent = "";
    $("result").hidden = false;
  }

  async function predict(file) {
    showError("");
    $("preview").src = URL.createObjectURL(file);
    const form = new FormData();
    form.append("file", file, file.name || "photo");
    const response = await fetch(base + "/predict", { method: "POST", body: form });
    if (!response.ok) {
      showError(await readError(response));
      return;
    }
    render(await response.json());
  }

  async function sendFeedback(event) {
    event.preventDefault();
    if (!requestId) return;
    const label = $("true-grade").value;
    const response = await fetch(base + "/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ request_id: requestId, label: label, source: "upload-page" }),
    });
    if (!response.ok) {
      showError(await readError(response));
      return;
    }
    $("feedback-status").textContent = "Thank you: stored '" + label + "' for request " + requestId + ".";
  }

  const drop = $("drop");
  $("photo").addEventListener("change", (e) => {
    if (e.target.files.length) predict(e.target.files[0]);
  });
  ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) predict(e.dataTransfer.files[0]);
  });
  $("feedback").addEventListener("submit", sendFeedback);
})();
