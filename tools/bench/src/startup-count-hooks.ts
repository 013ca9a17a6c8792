// Module load hook of the `startup` benchmark's preload: appends the URL of each module loaded to BENCH_LOADED_FILE.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface LoadContext {
  format?: string | null;
}
type NextLoad = (url: string, context: LoadContext) => Promise<unknown>;

export async function load(url: string, context: LoadContext, next: NextLoad): Promise<unknown> {
  const out = process.env.BENCH_LOADED_FILE;
  if (out && url.startsWith('file:')) appendFileSync(out, `${fileURLToPath(url)}\n`);
  return next(url, context);
}
