// Build the in-browser page into one self-contained folder (default web/dist/), servable as static files:
//
//   index.html main.js resize.js style.css   the page (copied from web/)
//   ort/ort.wasm.bundle.min.mjs               onnxruntime-web's WebAssembly-only build, from node_modules (npm ci)
//   ort/ort-wasm-simd-threaded.wasm           its runtime (run with one thread, see main.js)
//   models/<name>.onnx                        each model's bundled ONNX export, facesr_hub/weights/<name>/onnx/
//   models.json                               what the page offers: names, files, sizes, sha256
//
// Usage (web/build.sh runs `npm ci` first): node build.mjs [--out DIR] [--models fast,fast-real]
//   [--onnx-dir DIR (holds <name>/onnx/model.onnx; default $FACESR_WEIGHTS_DIR or facesr_hub/weights)]
//   [--app-url URL (default ../; "" = no link)]

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const WEB = dirname(fileURLToPath(import.meta.url));
const PAGE_FILES = ["index.html", "main.js", "resize.js", "style.css"];
const ORT_FILES = ["ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm"];
// One line per model for the page's choice; a model not listed here is offered without one.
const ABOUT = {
  "fast": "clean face crops",
  "fast-real": "real photos: blur, noise, JPEG",
};

const { values: options } = parseArgs({
  options: {
    "out": { type: "string", default: join(WEB, "dist") },
    "models": { type: "string", default: "fast,fast-real" },
    // Like the package's bundled_weights_dir(): FACESR_WEIGHTS_DIR when set.
    "onnx-dir": { type: "string", default: process.env.FACESR_WEIGHTS_DIR || join(WEB, "..", "facesr_hub", "weights") },
    "app-url": { type: "string", default: "../" },
  },
});

function fail(message) {
  console.error(`web/build.mjs: ${message}`);
  process.exit(1);
}

const ortPackage = join(WEB, "node_modules", "onnxruntime-web");
if (!existsSync(join(ortPackage, "package.json"))) {
  fail("onnxruntime-web is not installed: run `npm ci` in web/ (or web/build.sh)");
}
const ortVersion = JSON.parse(readFileSync(join(ortPackage, "package.json"), "utf8")).version;

const names = options.models.split(",").map((name) => name.trim()).filter(Boolean);
if (!names.length) fail("--models names no model");
const sources = names.map((name) => [name, join(resolve(options["onnx-dir"]), name, "onnx", "model.onnx")]);
for (const [name, source] of sources) {
  if (!existsSync(source)) {
    fail(`no ONNX file for ${name} at ${source}: export it first with ` +
         `\`facesr export ${name} --format onnx -o facesr_hub/weights\``);
  }
}

// 1. A fresh folder (never a stale model or runtime left over from an earlier build).
const out = resolve(options.out);
if (!relative(out, WEB).startsWith("..")) {
  fail(`--out ${out} holds web/ itself: it is emptied first, so name a folder of its own`);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "ort"), { recursive: true });
mkdirSync(join(out, "models"), { recursive: true });

// 2. The page; the app link goes where --app-url says ("" = no link).
for (const file of PAGE_FILES) copyFileSync(join(WEB, file), join(out, file));
const index = readFileSync(join(WEB, "index.html"), "utf8");
const appUrl = options["app-url"].replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
const withLink = index.replace(/<meta name="facesr-app-url" content="[^"]*">/,
                               `<meta name="facesr-app-url" content="${appUrl}">`);
if (withLink === index && options["app-url"] !== "../") fail("index.html has no facesr-app-url meta tag to set");
writeFileSync(join(out, "index.html"), withLink);

// 3. The runtime.
for (const file of ORT_FILES) {
  const source = join(ortPackage, "dist", file);
  if (!existsSync(source)) fail(`onnxruntime-web ${ortVersion} has no dist/${file}`);
  copyFileSync(source, join(out, "ort", file));
}

// 4. The models, and the list the page reads.
const models = sources.map(([name, source]) => {
  const data = readFileSync(source);
  const file = `models/${name}.onnx`;
  writeFileSync(join(out, file), data);
  const sha256 = createHash("sha256").update(data).digest("hex");
  return { name, file, bytes: data.length, sha256, about: ABOUT[name] ?? "" };
});
writeFileSync(join(out, "models.json"), JSON.stringify({ onnxruntime_web: ortVersion, models }, null, 2) + "\n");

console.log(`built ${out}: onnxruntime-web ${ortVersion}, models ${names.join(", ")}`);
