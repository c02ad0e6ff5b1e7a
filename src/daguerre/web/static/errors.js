// Every page: an htmx request the server refuses (4xx, 5xx) or cannot reach says why on the page. htmx swaps only
// 2xx answers, so a refused button (Verify now, Quick preview, Cancel…) changed nothing and the error went to the
// console only. The server's line (`<p class="error">…</p>`, escaped there; or the `detail` of a JSON answer) goes
// where the answer would have gone when that is a part of the page (innerHTML: the verification, the preview); a
// request that replaces a whole block (the jobs table, polled) puts it in the flash area instead, so the block stays.
(() => {
  const place = (detail) => {
    const elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    const swap = (detail.swapOverride || (elt && elt.closest("[hx-swap]")?.getAttribute("hx-swap"))
                  || htmx.config.defaultSwapStyle).trim().split(/\s+/)[0];
    const target = detail.target;
    if (target && target !== document.body && swap === "innerHTML") return target;
    return document.getElementById("flash");
  };
  const said = (xhr) => {
    const text = (xhr.responseText || "").trim();
    if (/^<p class="error"[^>]*>[^<]*<\/p>$/.test(text)) return text;
    let message = text;
    try {
      const detail = JSON.parse(text).detail;
      message = typeof detail === "string" ? detail : text;
    } catch { /* not JSON */ }
    if (!message || message.startsWith("<")) message = `the server answered ${xhr.status} ${xhr.statusText}`.trim();
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = message;
    return p.outerHTML;
  };
  document.addEventListener("htmx:beforeSwap", (ev) => {
    const xhr = ev.detail.xhr;
    if (xhr.status < 400) return;
    const to = place(ev.detail);
    if (!to) return;
    ev.detail.shouldSwap = true;
    ev.detail.serverResponse = said(xhr);
    ev.detail.selectOverride = null;
    if (to !== ev.detail.target) {
      ev.detail.target = to;
      ev.detail.swapOverride = "innerHTML";
    }
  });
  document.addEventListener("htmx:sendError", (ev) => {
    const to = place(ev.detail);
    if (to) to.innerHTML = '<p class="error">no answer from the server: check the connection and try again</p>';
  });
})();
