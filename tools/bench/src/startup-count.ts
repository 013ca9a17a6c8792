// Preload (`node --import`) for the `startup` benchmark: at exit, appends every file the process loaded to the file
// named by BENCH_LOADED_FILE, one path a line. ES modules are seen by a load hook (which runs on the loader's own
// thread, so it writes each URL as it loads); CommonJS modules required from them are read from the require cache.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.BENCH_LOADED_FILE;
if (out) {
  register(new URL('./startup-count-hooks.js', import.meta.url));
  const cache = createRequire(import.meta.url).cache;
  process.once('exit', () => appendFileSync(out, Object.keys(cache).map((f) => `${f}\n`).join('')));
}
