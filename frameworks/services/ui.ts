/**
 * The web UI's files, served under /ui/: static HTML, JS and CSS from `ui/` beside this file
 * (or beside its source, when it runs compiled from dist/). The page talks to the REST API
 * and follows /v2/events, like any other client.
 */
import { existsSync, readFileSync } from 'fs';
import { extname, join, normalize } from 'path';
import type { Reply } from './http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const ROOT = [join(__dirname, 'ui'), join(__dirname, '..', '..', '..', 'frameworks', 'services', 'ui')]
  .find((d) => existsSync(join(d, 'index.html')));

export function uiFile(path: string): Reply | undefined {
  if (!ROOT) return undefined;
  const rel = normalize(path).replace(/^(\.\.(\/|\\|$))+/, '');
  const type = TYPES[extname(rel)];
  const file = join(ROOT, rel);
  if (!type || !file.startsWith(ROOT) || !existsSync(file)) return undefined;
  return { status: 200, text: { contentType: type, data: readFileSync(file, 'utf8') }, headers: { 'cache-control': 'no-cache' } };
}
