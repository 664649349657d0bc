// Preloaded with NODE_OPTIONS="--require ./scripts/unref-timers.cjs".
// Prisma's WASM schema engine leaves a 10 s timer behind, so `migrate deploy` waits ~10 s
// after its work is done. Long timers are unref'd: they still fire if the process is alive,
// but no longer keep an otherwise finished process running.
"use strict";
const { promisify } = require("node:util");

const LONG_MS = 5000;
const original = globalThis.setTimeout;

function setTimeoutUnrefLong(callback, ms, ...args) {
  const timer = original(callback, ms, ...args);
  if (Number(ms) >= LONG_MS && timer && typeof timer.unref === "function") timer.unref();
  return timer;
}
setTimeoutUnrefLong[promisify.custom] = original[promisify.custom];
globalThis.setTimeout = setTimeoutUnrefLong;
