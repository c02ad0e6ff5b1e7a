// The item page: deep zoom over the item's IIIF tiles, the Run form's per-operation fields, colour hints.
document.addEventListener("DOMContentLoaded", () => {
  const zoom = document.getElementById("zoom");
  if (zoom && window.OpenSeadragon) {
    window.viewer = OpenSeadragon({ element: zoom, tileSources: zoom.dataset.info,
      prefixUrl: "/static/vendor/openseadragon/images/", showNavigator: true, crossOriginPolicy: false });
  }
  const select = document.getElementById("operation");
  const sets = document.querySelectorAll("fieldset[data-op]");
  const show = () => sets.forEach((fs) => {
    const on = fs.dataset.op === select.value;
    fs.hidden = !on;
    fs.querySelectorAll("input, select").forEach((el) => { el.disabled = !on; });
  });
  if (select) { select.addEventListener("change", show); show(); }
  // A refused preview (400) brings its one-line error: show it where the preview goes (htmx drops 4xx answers).
  document.body.addEventListener("htmx:beforeSwap", (ev) => {
    if (ev.detail.target.id === "preview" && ev.detail.xhr.status === 400) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
  document.querySelectorAll(".hint-target").forEach((img) => {
    const box = img.closest(".hints");
    img.addEventListener("click", (ev) => {
      const r = img.getBoundingClientRect();
      const x = Math.round((ev.clientX - r.left) / r.width * img.dataset.width);
      const y = Math.round((ev.clientY - r.top) / r.height * img.dataset.height);
      const colour = box.querySelector(".hint-colour").value;
      const li = document.createElement("li");
      li.innerHTML = `<span class="swatch" style="background:${colour}"></span> ${x},${y} ${colour}
        <input type="hidden" name="hints" value="${x},${y},${colour}"> <button type="button">remove</button>`;
      li.querySelector("button").addEventListener("click", () => li.remove());
      box.querySelector(".hint-list").appendChild(li);
    });
  });
});
