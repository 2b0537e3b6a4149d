// FaceSR-Hub in the browser: read a face crop, make the 64x64 input, run the model with onnxruntime-web, show both.
// Everything happens in this page; the only requests it makes are for its own files (the runtime, the models).

import * as ort from "./ort/ort.wasm.bundle.min.mjs";
import { alignedInput } from "./resize.js";

const LR_SIZE = 64;
const SCALE = 4;

// The wasm backend from this folder, one thread: several threads need SharedArrayBuffer, which browsers give only
// to cross-origin-isolated pages (COOP/COEP headers), and neither the app's route nor a static Space sends them.
// The glue code is inside the bundle; only the .wasm binary is fetched, from beside it.
ort.env.wasm.wasmPaths = { wasm: new URL("./ort/ort-wasm-simd-threaded.wasm", import.meta.url).href };
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

const $ = (id) => document.getElementById(id);
const sessions = new Map(); // model name -> Promise<InferenceSession>
let catalog = null; // models.json
let current = null; // { name, pixels, notes } of the last image read, rerun when the model changes
let queue = Promise.resolve(); // one run at a time: a session does not take a second run while one is going

function serially(task) {
  queue = queue.then(task, task);
  return queue;
}

function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}

function modelName() {
  return document.querySelector("input[name=model]:checked")?.value;
}

function session(name) {
  if (!sessions.has(name)) {
    const entry = catalog.models.find((m) => m.name === name);
    const created = ort.InferenceSession.create(new URL(entry.file, import.meta.url).href, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    created.catch(() => sessions.delete(name)); // let a later click retry
    sessions.set(name, created);
  }
  return sessions.get(name);
}

// A File -> a decoded image, or a message that says what is wrong with it.
async function decode(file) {
  if (file.size === 0) throw new UserError(`${file.name} is empty (0 bytes).`);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    // createImageBitmap also refuses images with no pixels; the <img> element tells those apart from non-images.
    const size = await naturalSize(file);
    if (size && (size.width === 0 || size.height === 0)) {
      throw new UserError(`${file.name} has no pixels (${size.width}×${size.height}): it is not a face crop.`);
    }
    throw new UserError(`${file.name} is not an image this browser can read (or it is corrupt). ` +
                        "Use a PNG, JPEG or WebP face crop.");
  }
  if (bitmap.width === 0 || bitmap.height === 0) {
    throw new UserError(`${file.name} has no pixels (${bitmap.width}×${bitmap.height}): it is not a face crop.`);
  }
  return bitmap;
}

function naturalSize(file) {
  return new Promise((resolve) => {
    const image = new Image();
    const url = URL.createObjectURL(file);
    image.onload = () => {
      URL.revokeObjectURL(url);
      resolve({ width: image.naturalWidth, height: image.naturalHeight });
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      resolve(null);
    };
    image.src = url;
  });
}

class UserError extends Error {}

async function open(file) {
  if (!file) return;
  say(`Reading ${file.name}…`);
  try {
    const bitmap = await decode(file);
    const { pixels, notes } = alignedInput(bitmap, bitmap.width, bitmap.height, LR_SIZE);
    bitmap.close();
    current = { name: file.name, pixels, notes };
    await serially(restore);
  } catch (error) {
    current = null;
    $("result").hidden = true;
    say(error instanceof UserError ? error.message : `Something went wrong: ${error.message ?? error}`, "error");
  }
}

async function restore() {
  if (!current) return;
  const name = modelName();
  const { pixels, notes } = current;
  $("before").getContext("2d").putImageData(new ImageData(pixels, LR_SIZE, LR_SIZE), 0, 0);
  say(`Loading ${name}…`);
  const model = await session(name);

  // 1. RGBA bytes -> (1, 3, 64, 64) float32 in [0, 1], as pil_to_tensor gives the PyTorch model.
  const plane = LR_SIZE * LR_SIZE;
  const input = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) input[c * plane + i] = pixels[i * 4 + c] / 255;
  }
  // 2. The model: 64x64 -> 256x256.
  say(`Restoring with ${name}…`);
  const started = performance.now();
  const feeds = { [model.inputNames[0]]: new ort.Tensor("float32", input, [1, 3, LR_SIZE, LR_SIZE]) };
  const outputs = await model.run(feeds);
  const milliseconds = performance.now() - started;
  const output = outputs[model.outputNames[0]].data;
  // 3. Back to 8-bit RGBA: clamp and round, as tensor_to_pil does.
  const size = LR_SIZE * SCALE;
  const rgba = new Uint8ClampedArray(size * size * 4);
  const outPlane = size * size;
  for (let i = 0; i < outPlane; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(Math.min(Math.max(output[c * outPlane + i], 0), 1) * 255);
    rgba[i * 4 + 3] = 255;
  }
  $("after").getContext("2d").putImageData(new ImageData(rgba, size, size), 0, 0);
  $("download").href = $("after").toDataURL("image/png");
  $("download").download = `${current.name.replace(/\.[^.]*$/, "") || "face"}_x4.png`;
  $("result").hidden = false;
  $("result").dataset.model = name;
  const extra = notes.length ? ` The image was ${notes.join("; ")}.` : "";
  say(`${name}: ${Math.round(milliseconds)} ms per face (64×64 → 256×256, in this browser).${extra}`, "done");
  $("message").dataset.ms = milliseconds.toFixed(1);
}

function wire() {
  $("file").addEventListener("change", (event) => { open(event.target.files[0]); event.target.value = ""; });
  // A file dropped anywhere on the page is taken (not opened by the browser in place of the page).
  const drop = $("drop");
  document.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  document.addEventListener("dragleave", () => drop.classList.remove("over"));
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    open(event.dataTransfer?.files[0]);
  });
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") $("file").click(); });
  document.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files ?? [])][0];
    if (file) { event.preventDefault(); open(file); }
  });
  $("models").addEventListener("change", () => {
    serially(restore).catch((error) => say(`Something went wrong: ${error.message ?? error}`, "error"));
  });
}

function linkTheApp() {
  const url = document.querySelector("meta[name=facesr-app-url]")?.content;
  if (url) {
    $("app-link").href = url;
  } else { // a static Space deployed without --app-url: name the app, link nothing
    $("app-link").removeAttribute("href");
    $("app-fallback").hidden = false;
  }
}

async function main() {
  linkTheApp();
  wire();
  try {
    const response = await fetch(new URL("models.json", import.meta.url));
    if (!response.ok) throw new Error(`models.json: HTTP ${response.status}`);
    catalog = await response.json();
  } catch (error) {
    say(`The page is not built (${error.message}): run web/build.sh.`, "error");
    return;
  }
  $("runtime").textContent = `onnxruntime-web ${catalog.onnxruntime_web}`;
  for (const [index, entry] of catalog.models.entries()) {
    const label = document.createElement("label");
    const radio = Object.assign(document.createElement("input"), {
      type: "radio", name: "model", value: entry.name, checked: index === 0,
    });
    const size = (entry.bytes / 1e6).toFixed(1);
    label.append(radio, ` ${entry.name}`, Object.assign(document.createElement("small"), {
      textContent: ` — ${entry.about} (${size} MB)`,
    }));
    $("models").append(label);
  }
  say("Ready: add a face crop.");
  document.body.dataset.ready = "true";
}

main();
