/** How every long-running `agora` command waits to be told to stop. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Where stop signals come from: `process`, or a test's own emitter. */
export interface SignalSource {
  once(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

/** Resolves with the first SIGINT or SIGTERM, leaving no listener behind. */
export function untilStopSignal(source: SignalSource = process): Promise<StopSignal> {
  return new Promise((resolve) => {
    const on = (signal: StopSignal) => () => {
      source.off('SIGINT', onInt);
      source.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    source.once('SIGINT', onInt);
    source.once('SIGTERM', onTerm);
  });
}
