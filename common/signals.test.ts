import { EventEmitter } from 'events';
import { untilStopSignal, type SignalSource } from './signals';

describe('waiting for a stop signal', () => {
  it('resolves with the first of SIGINT and SIGTERM and leaves no listener behind', async () => {
    const source = new EventEmitter();
    const stopped = untilStopSignal(source as unknown as SignalSource);
    source.emit('SIGTERM');
    await expect(stopped).resolves.toBe('SIGTERM');
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });
});
