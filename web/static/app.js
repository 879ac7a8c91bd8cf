// duecall screens: keyboard shortcuts and small fetch helpers. No framework, no CDN.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

// Shortcuts: elements declare data-key="n"; pressing that key (outside a text field) clicks it.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const field = event.target.closest("input, textarea, select, [contenteditable]");
  if (field) return;
  const target = document.querySelector(`[data-key="${CSS.escape(event.key)}"]`);
  if (target) {
    event.preventDefault();
    if (target.matches("input, select, textarea")) target.focus(); else target.click();
  }
  // j / k move the selection in a list that declares data-rows.
  const list = document.querySelector("[data-rows]");
  if (list && (event.key === "j" || event.key === "k")) {
    const rows = [...list.querySelectorAll("tr[data-href]")];
    if (!rows.length) return;
    let index = rows.findIndex((row) => row.classList.contains("selected"));
    rows.forEach((row) => row.classList.remove("selected"));
    index = event.key === "j" ? Math.min(index + 1, rows.length - 1) : Math.max(index - 1, 0);
    rows[index].classList.add("selected");
    rows[index].querySelector("a").focus();
  }
});

// The compliance banner refreshes itself: <div data-banner-url="...">.
async function refreshBanner(banner) {
  const response = await fetch(banner.dataset.bannerUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const state = await response.json();
  banner.classList.toggle("allowed", state.allowed);
  banner.classList.toggle("blocked", !state.allowed);
  banner.querySelector("[data-banner-text]").textContent = state.summary;
  const call = document.querySelector("[data-call-button]");
  if (call) call.disabled = !state.allowed;
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-banner-url]").forEach((banner) => {
    setInterval(() => refreshBanner(banner), 30000);
  });
});

window.duecall = { csrfToken, refreshBanner };
