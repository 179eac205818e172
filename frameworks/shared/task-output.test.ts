import { MAX_SANDBOX_READ_BYTES, SandboxReadError, SubscriptionError, type SandboxRange } from '../sdk';
import { ApiError } from './http';
import { readSandboxFile, type SandboxReader } from './task-output';

/** One sandbox file in memory behind the SDK's two sandbox reads, recording what was asked. */
function fileReader(content: string) {
  const asked: { taskId: string; file: string; range: SandboxRange }[] = [];
  const reader: SandboxReader = {
    sandboxFileSize: (taskId, file = 'stdout', where = {}) => {
      asked.push({ taskId, file, range: where });
      return Promise.resolve(Buffer.byteLength(content));
    },
    readSandboxFile: (taskId, file = 'stdout', range = {}) => {
      asked.push({ taskId, file, range });
      const offset = range.offset ?? 0;
      const length = Math.min(range.length ?? MAX_SANDBOX_READ_BYTES, MAX_SANDBOX_READ_BYTES);
      return Promise.resolve({ data: content.slice(offset, offset + length), offset });
    },
  };
  return { reader, asked };
}

const refusing = (err: Error): SandboxReader => ({ sandboxFileSize: () => Promise.reject(err), readSandboxFile: () => Promise.reject(err) });
const attempt = { taskId: 't-1', agentId: 'agent-7', file: 'stdout' } as const;

describe("a run's output, read through the SDK", () => {
  it('is the whole file when it is small, asked of the agent the attempt ran on', async () => {
    const { reader, asked } = fileReader('hello\nworld\n');
    expect(await readSandboxFile(reader, attempt)).toEqual({ text: 'hello\nworld\n', skippedBytes: 0 });
    expect(asked).toEqual([
      { taskId: 't-1', file: 'stdout', range: { agentId: 'agent-7' } },
      { taskId: 't-1', file: 'stdout', range: { agentId: 'agent-7', offset: 0, length: 12 } },
    ]);
  });

  it("is the file's last maxBytes, counting the bytes left out before them", async () => {
    const { reader } = fileReader('0123456789');
    expect(await readSandboxFile(reader, attempt, 4)).toEqual({ text: '6789', skippedBytes: 6 });
  });

  it('pages through a file bigger than one read: 2.5 MiB in reads of 1 MiB, 1 MiB and 0.5 MiB', async () => {
    const content = 'x'.repeat(2.5 * MAX_SANDBOX_READ_BYTES);
    const { reader, asked } = fileReader(content);
    expect((await readSandboxFile(reader, attempt)).text).toBe(content);
    expect(asked.slice(1).map((a) => [a.range.offset, a.range.length])).toEqual([
      [0, MAX_SANDBOX_READ_BYTES], [MAX_SANDBOX_READ_BYTES, MAX_SANDBOX_READ_BYTES], [2 * MAX_SANDBOX_READ_BYTES, 0.5 * MAX_SANDBOX_READ_BYTES],
    ]);
  });

  it("keeps the master's 404 as ours in its words; any other refusal is a 502, a lost subscription a 503", async () => {
    const answer = (err: Error) => readSandboxFile(refusing(err), attempt).then(() => undefined, (e: unknown) => e as ApiError);
    const gone = await answer(new SandboxReadError('t-1', 'stdout', 404, 'the master answered 404: no task t-1 of framework f is known to the master, nor is agent agent-7'));
    expect([gone instanceof ApiError, gone?.status, gone?.body]).toEqual([true, 404, {
      message: 'cannot read stdout of task t-1: the master answered 404: no task t-1 of framework f is known to the master, nor is agent agent-7',
    }]);
    expect((await answer(new SandboxReadError('t-1', 'stdout', 403, 'the master answered 403: no')))?.status).toBe(502);
    expect((await answer(new SandboxReadError('t-1', 'stdout', 0, 'cannot reach the master')))?.status).toBe(502);
    expect((await answer(new SubscriptionError('sandboxFileSize while the master is away')))?.status).toBe(503);
  });
});
