// The item page: deep zoom over the item's IIIF tiles, the Run form's per-operation fields, colour hints, and a
// damage mask painted over the picture (restore, repair): sent as a PNG, white where painted, at the thumbnail's size.
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
  // A refused preview or run (400) shows its error where the preview goes: static/errors.js, on every page.
  document.querySelectorAll(".mask-paint").forEach((box) => {
    const img = box.querySelector(".mask-target");
    const canvas = box.querySelector(".mask-canvas");
    const file = box.querySelector(".mask-file");
    const ctx = canvas.getContext("2d");
    let painted = false;
    let last = null;
    const size = () => { canvas.width = img.naturalWidth; canvas.height = img.naturalHeight; };
    if (img.complete) size(); else img.addEventListener("load", size);
    const at = (ev) => {
      const r = canvas.getBoundingClientRect();
      return [(ev.clientX - r.left) / r.width * canvas.width, (ev.clientY - r.top) / r.height * canvas.height];
    };
    const stroke = (to) => {
      const r = canvas.getBoundingClientRect();
      ctx.strokeStyle = "rgb(255, 40, 40)";  // opaque: overlapping strokes stay one colour (the canvas is see-through)
      ctx.lineCap = ctx.lineJoin = "round";
      ctx.lineWidth = box.querySelector(".mask-brush").value * canvas.width / r.width;
      ctx.beginPath();
      ctx.moveTo(...(last || to));
      ctx.lineTo(...to);
      ctx.stroke();
      last = to;
      painted = true;
    };
    // the painted pixels as a grey PNG (white = damaged) in the form's file input
    const keep = () => {
      const out = document.createElement("canvas");
      out.width = canvas.width;
      out.height = canvas.height;
      const o = out.getContext("2d");
      const src = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const dst = o.createImageData(canvas.width, canvas.height);
      for (let i = 0; i < src.data.length; i += 4) {
        const v = src.data[i + 3] > 0 ? 255 : 0;
        dst.data[i] = dst.data[i + 1] = dst.data[i + 2] = v;
        dst.data[i + 3] = 255;
      }
      o.putImageData(dst, 0, 0);
      out.toBlob((blob) => {
        const dt = new DataTransfer();
        if (painted) dt.items.add(new File([blob], "damage-mask.png", { type: "image/png" }));
        file.files = dt.files;
      }, "image/png");
    };
    canvas.addEventListener("pointerdown", (ev) => {
      canvas.setPointerCapture(ev.pointerId);
      last = null;
      stroke(at(ev));
    });
    canvas.addEventListener("pointermove", (ev) => { if (canvas.hasPointerCapture(ev.pointerId)) stroke(at(ev)); });
    canvas.addEventListener("pointerup", () => { last = null; keep(); });
    box.querySelector(".mask-clear").addEventListener("click", () => {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      painted = false;
      keep();
    });
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
