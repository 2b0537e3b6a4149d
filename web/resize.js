// The app's "Aligned face" input, in the browser: centre square crop, then the protocol's resize to 64x64.
//
// facesr_hub.data.protocol.resize_8bit is torch's F.interpolate(mode="bicubic", antialias=True) on floats in
// [0, 1], then clamp and round to 8 bits. The canvas's own drawImage scaling is not that kernel (Skia picks its own
// filter), so the resize is done here, as torch (and PIL) do it: separable, Keys cubic with a = -0.5, the kernel
// widened by the scale factor when shrinking so that it antialiases.

const A = -0.5;

function cubic(x) {
  x = Math.abs(x);
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
  return 0;
}

// For each output index: the first input index it reads and its normalised weights (torch's
// _compute_indices_min_size_weights_aa, align_corners=False).
function taps(inSize, outSize) {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const out = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const start = Math.max(Math.trunc(center - support + 0.5), 0);
    const stop = Math.min(Math.trunc(center + support + 0.5), inSize);
    const weights = [];
    let total = 0;
    for (let j = start; j < stop; j++) {
      const w = cubic((j - center + 0.5) * invScale);
      weights.push(w);
      total += w;
    }
    out.push({ start, weights: weights.map((w) => (total !== 0 ? w / total : 0)) });
  }
  return out;
}

// rgb: Float32Array of size*size*3 (interleaved, in [0, 1]) -> Float32Array of out*out*3, rounded to 8 bits.
export function resizeSquare(rgb, size, out) {
  if (size === out) return rgb;
  const horizontal = taps(size, out);
  const vertical = taps(size, out);
  // 1. Along each row: (size rows, out columns).
  const rows = new Float32Array(size * out * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < out; x++) {
      const { start, weights } = horizontal[x];
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * rgb[(y * size + start + k) * 3 + c];
        rows[(y * out + x) * 3 + c] = sum;
      }
    }
  }
  // 2. Along each column, then clamp and quantise as resize_8bit does.
  const result = new Float32Array(out * out * 3);
  for (let y = 0; y < out; y++) {
    const { start, weights } = vertical[y];
    for (let x = 0; x < out; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * rows[((start + k) * out + x) * 3 + c];
        result[(y * out + x) * 3 + c] = Math.round(Math.min(Math.max(sum, 0), 1) * 255) / 255;
      }
    }
  }
  return result;
}

// The centre square of an image (any decoded source the canvas can draw), composited over white as the protocol's
// flatten_to_rgb does, and resized to out x out. Returns { pixels: Uint8ClampedArray RGBA out*out*4, side, note }.
export function alignedInput(source, width, height, out) {
  const side = Math.min(width, height);
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = side;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#fff";
  context.fillRect(0, 0, side, side);
  context.drawImage(source, left, top, side, side, 0, 0, side, side); // 1:1, no resampling
  const rgba = context.getImageData(0, 0, side, side).data;
  const rgb = new Float32Array(side * side * 3);
  for (let i = 0; i < side * side; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = rgba[i * 4 + c] / 255;
  }
  const resized = resizeSquare(rgb, side, out);
  const pixels = new Uint8ClampedArray(out * out * 4);
  for (let i = 0; i < out * out; i++) {
    for (let c = 0; c < 3; c++) pixels[i * 4 + c] = Math.round(resized[i * 3 + c] * 255);
    pixels[i * 4 + 3] = 255;
  }
  const notes = [];
  if (width !== height) notes.push(`not square (${width}×${height}): its centre ${side}×${side} was used`);
  if (side < out) notes.push(`smaller than ${out}×${out}: enlarged bicubically first, which adds no detail`);
  return { pixels, notes };
}
