/**
 * A file a running door reads again whenever it changes (the credentials, the ACLs): the
 * value as last read, and listeners told of a new one. A file that turns bad is reported and
 * ignored, keeping the last good value: a typo must not open or shut every door.
 */
import { existsSync, watch, type FSWatcher } from 'fs';
import { basename, dirname } from 'path';

export class LiveFile<T> {
  private current: T;
  private watcher: FSWatcher | undefined;
  private readonly listeners = new Set<(value: T) => void>();

  /**
   * `read` throws for a file it cannot take; `same` says when a re-read changed nothing, so
   * listeners hear only of real changes.
   */
  constructor(
    private readonly path: string,
    private readonly read: (path: string) => T,
    private readonly onError: (err: Error) => void = () => undefined,
    private readonly same: (a: T, b: T) => boolean = () => false,
  ) {
    this.current = read(path);
    if (!existsSync(dirname(path))) return;
    // The directory, not the file: a rename replaces the file's inode, which a file watch loses.
    this.watcher = watch(dirname(path), (_event, file) => {
      if (file !== null && file !== basename(path)) return;
      this.reload();
    });
    this.watcher.unref();
  }

  get(): T {
    return this.current;
  }

  /** Called with the new value after each change. */
  onChange(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reload(): void {
    if (!existsSync(this.path)) return;   // mid-rename: the new file is on its way
    let next: T;
    try {
      next = this.read(this.path);
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    if (this.same(next, this.current)) return;
    this.current = next;
    for (const l of this.listeners) l(next);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.listeners.clear();
  }
}
