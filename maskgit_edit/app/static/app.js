// MaskGIT-Edit browser editor: a plain 2D canvas page over the JSON API of
// maskgit_edit/app/server.py. Three stacked canvases at the display size:
// the image (model pixels enlarged, nearest neighbour), the mask layer (the
// region the model may change) and the paint layer (the colours to follow).
// One request runs at a time per page; the buttons that start one are
// disabled meanwhile. Layers are cleared when a request that changes the
// image is SENT, so strokes painted while it runs belong to the new image.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  info: null, sid: null, busy: false, tool: "paint", lastSamples: [],
  paintDirty: false, maskDirty: false, canUndo: false, canRedo: false,
  expected: {},  // "method/n" -> last edit seconds (progress estimate).
  compiled: new Set(), imageVersion: 0,
};
// Click-to-samples-shown timings (ms), read by benchmarks/bench_app.py.
window.editTimings = [];

async function api(route, body) {
  const r = await fetch("/api/" + route, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(Object.assign({sid: ui.sid}, body || {})),
  });
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) throw new Error((data && data.error) || `HTTP ${r.status}`);
  return data;
}

function showMessage(text, kind) {
  $("message-text").textContent = text;
  $("message").className = kind || "error";
  $("message").hidden = !text;
}

function setBusy(b) {
  ui.busy = b;
  document.body.dataset.busy = b ? "1" : "";
  for (const id of ["edit-btn", "new-seed-btn", "load-btn", "gen-btn",
                    "outpaint-btn"]) {
    $(id).disabled = b;
  }
  $("undo-btn").disabled = b || !ui.canUndo;
  $("redo-btn").disabled = b || !ui.canRedo;
}

// Runs one request unless another runs; errors become the message bar.
async function run(fn) {
  if (ui.busy) return null;
  setBusy(true);
  showMessage("");
  try {
    return await fn();
  } catch (e) {
    showMessage(e.message || String(e), "error");
    return null;
  } finally {
    setBusy(false);
  }
}

// ------------------------------------------------------------- canvases
const layers = () => [$("image-layer"), $("mask-layer"), $("paint-layer")];
const MAX_CSS_SIDE = 768;  // Canvas side on the page at most (CSS px).

// Canvas of the image's size (model pixels) x the display scale: square
// until an outpainted sample is kept. Resizing clears the layers.
function setupCanvas(w, h) {
  const k = ui.info.scale;
  const [dw, dh] = [(w || ui.info.size) * k, (h || ui.info.size) * k];
  for (const c of layers()) {
    if (c.width !== dw || c.height !== dh) { c.width = dw; c.height = dh; }
  }
  // Large images are shown smaller (pos() maps CSS to canvas pixels).
  const css = Math.min(1, MAX_CSS_SIDE / Math.max(dw, dh));
  $("canvas").style.width = dw * css + "px";
  $("canvas").style.height = dh * css + "px";
  $("editor").style.width = (dw * css + 2) + "px";  // Tools wrap above it.
}

function clearLayers() {
  for (const c of [$("mask-layer"), $("paint-layer")]) {
    c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }
  ui.paintDirty = ui.maskDirty = false;
}

function loadImage(src) {
  const img = new Image();
  img.src = src;
  return img.decode().then(() => img);
}

// A new image from the server: drawn before the call returns.
async function showState(state) {
  const img = await loadImage(state.image);
  setupCanvas(...state.image_size);
  const c = $("image-layer");
  const ctx = c.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.drawImage(img, 0, 0, c.width, c.height);
  ui.imageVersion += 1;
  $("canvas").dataset.version = String(ui.imageVersion);
  ui.current = state.image;
  ui.canUndo = state.can_undo;
  ui.canRedo = state.can_redo;
  $("compare-before").src = state.image;
  $("status").textContent = state.status;
  const [w, h] = state.source_size;
  const q = `sid=${encodeURIComponent(ui.sid)}`;
  $("download").href = `/api/download?${q}&at=source`;
  $("download").textContent = `Download ${w}x${h}`;
  $("download-model").href = `/api/download?${q}&at=model`;
  $("download-model").textContent = `${ui.info.size}x${ui.info.size}`;
  $("download-model").hidden = w === ui.info.size && h === ui.info.size;
  $("gen-label").value = String(state.label);
  clearSamples();
}

function clearSamples() {
  $("samples").replaceChildren();
  $("overlay").removeAttribute("src");
  $("compare-after").removeAttribute("src");
  ui.lastSamples = [];
}

// An action that replaces the image: layers cleared now (see top).
function replaceImage(route, body) {
  return run(async () => {
    clearLayers();
    clearSamples();
    await showState(await api(route, body));
  });
}

// --------------------------------------------------------------- drawing
function pos(e) {
  const c = $("paint-layer");
  const r = c.getBoundingClientRect();
  return [(e.clientX - r.left) * c.width / r.width,
          (e.clientY - r.top) * c.height / r.height];
}

function strokeTargets() {
  if (ui.tool === "erase") return [$("paint-layer"), $("mask-layer")];
  return [ui.tool === "mask" ? $("mask-layer") : $("paint-layer")];
}

function drawSegment(from, to) {
  for (const c of strokeTargets()) {
    const ctx = c.getContext("2d");
    ctx.globalCompositeOperation =
        ui.tool === "erase" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle =
        ui.tool === "mask" ? "#19b4ff" : $("color").value;
    ctx.lineWidth = Number($("size").value);
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0] + 0.01, to[1]);
    ctx.stroke();
  }
  if (ui.tool === "paint") ui.paintDirty = true;
  if (ui.tool === "mask") ui.maskDirty = true;
}

function setupDrawing() {
  const c = $("paint-layer");
  let last = null;
  c.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    c.setPointerCapture(e.pointerId);
    last = pos(e);
    drawSegment(last, last);
  });
  c.addEventListener("pointermove", (e) => {
    if (last === null) return;
    const p = pos(e);
    drawSegment(last, p);
    last = p;
  });
  const end = () => { last = null; };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
}

function setTool(tool) {
  ui.tool = tool;
  for (const t of ["paint", "mask", "erase"]) {
    $("tool-" + t).classList.toggle("active", t === tool);
  }
}

// ------------------------------------------------------------------ edit
function layerData(canvas, dirty) {
  return dirty ? canvas.toDataURL("image/png") : null;
}

function startProgress(key) {
  const first = !ui.compiled.has(key);
  const expect = (ui.expected[key] || 1.0) * 1000;
  const t0 = performance.now();
  $("progress").hidden = false;
  $("progress-bar").style.width = "0";
  const tick = () => {
    const ms = performance.now() - t0;
    $("progress-bar").style.width =
        (first ? 50 : Math.min(95, 100 * ms / expect)) + "%";
    $("progress-note").textContent = (first ?
        "Compiling (first use of this method and sample count): a few seconds. " :
        "Editing... ") + (ms / 1000).toFixed(1) + " s";
  };
  tick();
  const timer = setInterval(tick, 100);
  return () => {
    clearInterval(timer);
    $("progress-bar").style.width = "100%";
    setTimeout(() => { $("progress").hidden = true; }, 300);
  };
}

async function doEdit() {
  const t0 = performance.now();
  const method = $("method").value;
  const n = Number($("num-samples").value);
  const key = `${method}/${n}`;
  return run(async () => {
    const stop = startProgress(key);
    try {
      const res = await api("edit", {
        paint: layerData($("paint-layer"), ui.paintDirty),
        mask: layerData($("mask-layer"), ui.maskDirty),
        method: method, strength: Number($("strength").value),
        num_samples: n, seed: Number($("seed").value),
      });
      await showSamples(res, key);
      // Shown: the decoded samples are in the page; after the next frame.
      await new Promise((r) => requestAnimationFrame(() => r()));
      window.editTimings.push({
        click_to_shown_ms: performance.now() - t0,
        server_s: res.seconds, method: method, num_samples: n});
      $("progress-note").textContent = "";
    } finally {
      stop();
    }
  });
}

// The samples of an edit or outpainting, each clickable to keep it.
async function showSamples(res, key) {
  const imgs = await Promise.all(res.samples.map(loadImage));
  const box = $("samples");
  box.replaceChildren();
  imgs.forEach((img, i) => {
    img.className = "sample";
    img.alt = `sample ${i}`;
    img.title = `Keep sample ${i} (${i + 1})`;
    img.dataset.index = String(i);
    img.addEventListener("click", () => keep(i));
    img.addEventListener("mouseenter", () => { $("compare-after").src = img.src; });
    box.appendChild(img);
  });
  ui.lastSamples = res.samples;
  // Outpainting: compare with the image on the larger canvas (plain fill).
  $("compare-before").src = res.before || ui.current;
  $("compare-after").src = res.samples[0];
  $("overlay").src = res.overlay;
  $("status").textContent = res.status;
  ui.expected[key] = res.seconds;
  ui.compiled.add(res.compiled);
}

// Extends the image (sides like "left:16,right:16"); keep a sample to
// continue editing the larger image.
async function doOutpaint() {
  const n = Number($("num-samples").value);
  const key = `outpaint/${n}`;
  return run(async () => {
    const stop = startProgress(key);
    try {
      await showSamples(await api("outpaint", {
        sides: $("outpaint-sides").value, num_samples: n,
        seed: Number($("seed").value)}), key);
      $("progress-note").textContent = "";
    } finally {
      stop();
    }
  });
}

function keep(i) {
  if (i >= ui.lastSamples.length) return null;
  return replaceImage("keep", {index: i});
}

// ---------------------------------------------------------------- upload
async function uploadFile(file) {
  if (!file) return;
  const mb = ui.info.max_upload_mb;
  if (file.size > mb * 1024 * 1024) {
    showMessage(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; ` +
                `the editor takes files up to ${mb} MB.`);
    return;
  }
  const data = await new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
  await replaceImage("upload", {data: data, name: file.name || "pasted image",
                                fit: $("fit").value, label: $("gen-label").value});
}

function setupUploads() {
  $("upload").addEventListener("change", (e) => {
    uploadFile(e.target.files[0]);
    e.target.value = "";
  });
  const cv = $("canvas");
  cv.addEventListener("dragover", (e) => { e.preventDefault(); cv.classList.add("dragging"); });
  cv.addEventListener("dragleave", () => cv.classList.remove("dragging"));
  cv.addEventListener("drop", (e) => {
    e.preventDefault();
    cv.classList.remove("dragging");
    const f = [...e.dataTransfer.files].find((x) => x.type.startsWith("image/"));
    if (f) uploadFile(f);
    else showMessage("Drop an image file (PNG, JPEG, ...).");
  });
  document.addEventListener("paste", (e) => {
    const items = [...(e.clipboardData ? e.clipboardData.items : [])];
    const it = items.find((x) => x.kind === "file" && x.type.startsWith("image/"));
    if (!it) return;  // Text pastes go to the focused field as usual.
    e.preventDefault();
    uploadFile(it.getAsFile());
  });
}

// ------------------------------------------------------------- keyboard
function setupKeys() {
  document.addEventListener("keydown", (e) => {
    const inField = ["INPUT", "SELECT", "TEXTAREA"].includes(
        document.activeElement && document.activeElement.tagName);
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    if (mod && e.key === "Enter") { e.preventDefault(); doEdit(); return; }
    if (inField) return;
    if (mod && k === "z") {
      e.preventDefault();
      if (e.shiftKey) replaceImage("redo"); else replaceImage("undo");
      return;
    }
    if (mod && k === "y") { e.preventDefault(); replaceImage("redo"); return; }
    if (mod || e.altKey) return;
    const keys = {
      e: doEdit, n: newSeed, b: () => setTool("paint"),
      m: () => setTool("mask"), x: () => setTool("erase"), c: clearLayers,
      "[": () => { $("size").value = Number($("size").value) - 4; },
      "]": () => { $("size").value = Number($("size").value) + 4; },
    };
    if (keys[k]) { e.preventDefault(); keys[k](); return; }
    if (/^[1-8]$/.test(e.key)) { e.preventDefault(); keep(Number(e.key) - 1); }
  });
}

function newSeed() {
  $("seed").value = String(Math.floor(Math.random() * 1e6));
  return doEdit();
}

// ------------------------------------------------------------------ init
function fillSelect(sel, items) {
  sel.replaceChildren(...items.map(([value, text]) => {
    const o = document.createElement("option");
    o.value = String(value);
    o.textContent = text;
    return o;
  }));
}

function bindOutput(input, out) {
  const f = () => { $(out).textContent = $(input).value; };
  $(input).addEventListener("input", f);
  f();
}

async function init() {
  ui.info = await (await fetch("/api/info")).json();
  const info = ui.info;
  info.compiled.forEach((k) => ui.compiled.add(k));
  setupCanvas();
  fillSelect($("example"), info.examples.map((n) => [n, n]));
  fillSelect($("gen-label"), info.classes.map((c, i) => [i, c]));
  fillSelect($("method"), info.methods.map((m) => [m, m]));
  $("method").value = info.defaults.method;
  $("strength").value = info.defaults.strength;
  $("num-samples").max = info.max_samples;
  $("num-samples").value = info.defaults.num_samples;
  $("seed").value = info.defaults.seed;
  bindOutput("strength", "strength-out");
  bindOutput("num-samples", "num-samples-out");
  $("upload-hint").textContent = `Files up to ${info.max_upload_mb} MB and ` +
      `${info.max_upload_side}x${info.max_upload_side} px; edited at ` +
      `${info.size}x${info.size}, or with "keep size" as they are in ` +
      `${info.size}x${info.size} windows (drop or paste onto the canvas too).`;
  $("intro").append(` The model edits ${info.size}x${info.size} images; ` +
      `pixels farther than ${info.feather} px from the edit never change.`);
  for (const col of ["#e8262b", "#2b6fe8", "#f5d90a", "#1faa3c", "#000000", "#ffffff"]) {
    const b = document.createElement("button");
    b.className = "swatch";
    b.style.background = col;
    b.title = col;
    b.addEventListener("click", () => { $("color").value = col; setTool("paint"); });
    $("swatches").appendChild(b);
  }
  setupDrawing();
  setupUploads();
  setupKeys();
  $("tool-paint").onclick = () => setTool("paint");
  $("tool-mask").onclick = () => setTool("mask");
  $("tool-erase").onclick = () => setTool("erase");
  $("clear-btn").onclick = clearLayers;
  $("edit-btn").onclick = doEdit;
  $("new-seed-btn").onclick = newSeed;
  $("outpaint-btn").onclick = doOutpaint;
  $("undo-btn").onclick = () => replaceImage("undo");
  $("redo-btn").onclick = () => replaceImage("redo");
  $("load-btn").onclick = () => replaceImage("example", {name: $("example").value});
  $("gen-btn").onclick = () => replaceImage("generate", {
      label: Number($("gen-label").value), seed: Number($("gen-seed").value)});
  $("message-close").onclick = () => showMessage("");
  $("compare-split").addEventListener("input", (e) => {
    $("compare-after").style.clipPath = `inset(0 0 0 ${e.target.value}%)`;
  });
  $("compare-after").style.clipPath = "inset(0 0 0 50%)";
  ui.sid = (await api("session")).sid;
  setBusy(false);
  if (info.examples.length) {
    await replaceImage("example", {name: info.examples[0]});
  } else {
    $("status").textContent = "Upload or generate an image to start.";
  }
  document.body.dataset.ready = "1";
}

init().catch((e) => showMessage("The editor failed to start: " + e.message));
