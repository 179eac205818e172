/**
 * A set of listeners called in order with each value; one that throws is dropped, so a broken
 * subscriber (a closed stream) never stops the others or the sender.
 */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  /** Adds `listener`; the function returned removes it. */
  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => { this.set.delete(listener); };
  }

  emit(value: T): void {
    for (const l of [...this.set]) {
      try {
        l(value);
      } catch {
        this.set.delete(l);
      }
    }
  }
}
