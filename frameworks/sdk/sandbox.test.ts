import { masterAt } from '../../common/operator-client';
import { InvalidArgumentError } from './errors';
import { hostOf, readSandbox, sandboxSize } from './sandbox';

describe('sandbox reads', () => {
  it('ask the host the gRPC connection reached: host:port, [v6]:port and dns:///host:port', () => {
    expect(hostOf('127.0.0.1:5053')).toBe('127.0.0.1');
    expect(hostOf('master-1.example:5053')).toBe('master-1.example');
    expect(hostOf('[::1]:5053')).toBe('[::1]');
    expect(hostOf('dns:///master-1.example:5053')).toBe('master-1.example');
    expect(hostOf('master-1.example')).toBe('master-1.example');
  });

  // Port 9 of an address that is never served: a request that went out would fail differently.
  const nowhere = { master: masterAt('127.0.0.1', 9), frameworkId: 'fw-1' };

  it.each([
    [{ offset: -1 }, 'offset: must be a whole number of bytes ≥ 0, got -1'],
    [{ offset: 1.5 }, 'offset: must be a whole number of bytes ≥ 0, got 1.5'],
    [{ length: -4 }, 'length: must be a whole number of bytes ≥ 0, got -4'],
  ])('refuse a bad range %j before asking anyone', async (range, message) => {
    const refused = readSandbox(nowhere, 'task-1', 'stdout', range);
    await expect(refused).rejects.toThrow(InvalidArgumentError);
    await expect(refused).rejects.toThrow(message);
  });

  it('refuse a missing task id or file before asking anyone', async () => {
    await expect(readSandbox(nowhere, '', 'stdout')).rejects.toThrow('taskId: a task id is required');
    await expect(sandboxSize(nowhere, 'task-1', '')).rejects.toThrow("file: a file of the sandbox is required, such as 'stdout'");
  });

  it('turn an unreachable master into a SandboxReadError with status 0, naming the task and the file', async () => {
    await expect(sandboxSize(nowhere, 'task-1', 'stderr')).rejects.toMatchObject({
      name: 'SandboxReadError', taskId: 'task-1', file: 'stderr', status: 0,
      message: expect.stringMatching(/^cannot read stderr of task task-1: cannot reach the master at http:\/\/127\.0\.0\.1:9/),
    });
  });
});
