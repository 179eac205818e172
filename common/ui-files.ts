/**
 * The web UIs' static files (HTML, JS, CSS), read from the source tree whether the code runs
 * from its TypeScript sources or compiled into dist/. Each UI is a folder of its own
 * (`master/ui`, `frameworks/services/ui`, …); `shared/…` names a file of `common/ui`, the
 * pieces every UI uses (dom.js, api.js, page.js, base.css) and those the frameworks' UIs share
 * (live.js, editor.js, widgets.js), so each server serves them under its own origin.
 */
import { existsSync, readFileSync } from 'fs';
import { extname, join, normalize, sep } from 'path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface UiFile {
  contentType: string;
  data: string;
}

/** The project's root: beside common/ when run from the sources, two up when run from dist/common. */
const ROOT = [join(__dirname, '..'), join(__dirname, '..', '..')].find((d) => existsSync(join(d, 'common', 'ui', 'dom.js')));

/**
 * The files of the UI in `folder` (relative to the project's root) and of `common/ui` under
 * `shared/`; undefined for a path that is none of them (or leaves its folder).
 */
export function uiFiles(folder: string): (path: string) => UiFile | undefined {
  return (path) => {
    if (!ROOT) return undefined;
    const rel = normalize(path).replace(/^(\.\.(\/|\\|$))+/, '').replace(/^\/+/, '');
    const type = TYPES[extname(rel)];
    const shared = rel.startsWith(`shared${sep}`) || rel.startsWith('shared/');
    const dir = join(ROOT, shared ? join('common', 'ui') : folder);
    const file = join(dir, shared ? rel.slice('shared/'.length) : rel);
    if (!type || !file.startsWith(dir + sep) || !existsSync(file)) return undefined;
    return { contentType: type, data: readFileSync(file, 'utf8') };
  };
}
