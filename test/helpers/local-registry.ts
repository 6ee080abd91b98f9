// local-registry — an npm registry on 127.0.0.1 that serves exactly coven's runtime
// dependencies, so a test can install the packed tarball (npm install -g, npx) with no
// network and no shared npm cache. Each dependency is served at the version this
// clone's node_modules holds (the one package-lock.json pins), as a tarball made from
// that folder. A package it does not serve (coven itself, say) answers 404, so npm can
// never fall back to the public registry's package of the same name.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface LocalRegistry {
  url: string;
  /** packument and tarball requests answered, in order (e.g. `GET /zod`) */
  requests: string[];
  close: () => Promise<void>;
}

interface Served {
  version: string;
  dependencies: Record<string, string>;
  tarball: string;
}

/** Starts the registry for the non-dev packages of `projectRoot`'s package-lock.json. */
export async function startLocalRegistry(projectRoot: string, workDir: string): Promise<LocalRegistry> {
  const served = new Map<string, Served>();
  for (const name of runtimePackages(projectRoot)) {
    const dir = join(projectRoot, 'node_modules', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> };
    const tarball = join(workDir, `${name.replace('/', '__')}-${pkg.version}.tgz`);
    // npm drops the first path component of every entry, whatever its name
    await exec('tar', ['-czf', tarball, '--exclude=node_modules', '-C', join(dir, '..'), name.split('/').pop()!]);
    served.set(name, { version: pkg.version, dependencies: pkg.dependencies ?? {}, tarball });
  }
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const tarballOf = /^(.+)\/-\/[^/]+\.tgz$/.exec(path);
    const name = tarballOf ? tarballOf[1]! : path;
    const p = served.get(name);
    if (!p) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    if (tarballOf) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(p.tarball));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument(name, p, url)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, requests, close: () => closeServer(server) };
}

function runtimePackages(projectRoot: string): string[] {
  const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
    .map(([path]) => path.slice('node_modules/'.length))
    .filter((name) => !name.includes('/node_modules/'));
}

function packument(name: string, p: Served, url: string): unknown {
  const file = `${name.split('/').pop()!}-${p.version}.tgz`;
  return {
    name,
    'dist-tags': { latest: p.version },
    versions: { [p.version]: { name, version: p.version, dependencies: p.dependencies, dist: { tarball: `${url}${name}/-/${file}` } } },
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
