/**
 * A framework's web UI files, served under /ui/: static HTML, JS and CSS from its `ui/`
 * folder beside the code (or beside its source, when it runs compiled from dist/). The pages
 * talk to the framework's REST API like any other client.
 */
import { existsSync, readFileSync } from 'fs';
import { extname, join, normalize } from 'path';
import type { Reply } from './http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The files of `frameworks/<framework>/ui`; undefined for a path that is not one of them. */
export function uiFiles(framework: string): (path: string) => Reply | undefined {
  const root = [join(__dirname, '..', framework, 'ui'), join(__dirname, '..', '..', '..', 'frameworks', framework, 'ui')]
    .find((d) => existsSync(join(d, 'index.html')));
  return (path) => {
    if (!root) return undefined;
    const rel = normalize(path).replace(/^(\.\.(\/|\\|$))+/, '');
    const type = TYPES[extname(rel)];
    const file = join(root, rel);
    if (!type || !file.startsWith(root) || !existsSync(file)) return undefined;
    return { status: 200, text: { contentType: type, data: readFileSync(file, 'utf8') }, headers: { 'cache-control': 'no-cache' } };
  };
}
