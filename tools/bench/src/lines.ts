/** The lines of a child's output as they come, and the first one that satisfies a predicate (bench helpers). */
export interface Lines {
  first(pred: (l: string) => boolean): Promise<string>;
}
export function lines(stream: NodeJS.ReadableStream): Lines {
  const seen: string[] = [];
  const waiting: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      seen.push(line);
      for (const w of [...waiting]) {
        if (w.pred(line)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  return {
    first: (pred) => {
      const hit = seen.find(pred);
      return hit !== undefined ? Promise.resolve(hit) : new Promise((resolve) => waiting.push({ pred, resolve }));
    },
  };
}
