// A forwarding HTTP proxy in front of a real registry, to inject failures the registry itself never produces:
// 5xx answers and connections cut in the middle of a body.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyRule {
  /** Matches the request path. */
  path: RegExp;
  /** Answer with this status instead of forwarding. */
  status?: number;
  /** Forward, but cut the connection after this many body bytes. */
  cutAfter?: number;
}

export interface Proxy {
  host: string;
  hits: string[];
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to `target` (`host:port`, plain HTTP), applying the first matching rule. */
export async function startProxy(target: string, rules: ProxyRule[]): Promise<Proxy> {
  const hits: string[] = [];
  const [thost, tport] = target.split(':');
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.push(`${req.method} ${path}`);
    const rule = rules.find((r) => r.path.test(path));
    if (rule?.status) {
      res.writeHead(rule.status, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected failure"}]}');
      return;
    }
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path, headers: { ...req.headers, host: target } }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      if (rule?.cutAfter === undefined) {
        ures.pipe(res);
        return;
      }
      let sent = 0;
      const limit = rule.cutAfter;
      ures.on('data', (c: Buffer) => {
        if (sent >= limit) return;
        const part = c.subarray(0, limit - sent);
        sent += part.length;
        res.write(part);
        if (sent >= limit) {
          ures.destroy();
          res.socket?.destroy();
        }
      });
      ures.on('end', () => res.end());
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
