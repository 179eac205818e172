/**
 * A framework's web UI files, served under /ui/: static HTML, JS and CSS from its `ui/`
 * folder, and the pieces all UIs share under /ui/shared/ (common/ui-files.ts). The pages
 * talk to the framework's REST API like any other client.
 */
import { uiFiles as files } from '../../common/ui-files';
import type { Reply } from './http';

/** The files of `frameworks/<framework>/ui`; undefined for a path that is not one of them. */
export function uiFiles(framework: string): (path: string) => Reply | undefined {
  const file = files(`frameworks/${framework}/ui`);
  return (path) => {
    const found = file(path);
    return found && { status: 200, text: found, headers: { 'cache-control': 'no-cache' } };
  };
}
