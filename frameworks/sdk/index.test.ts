import * as sdk from './index';

describe('the SDK entry point', () => {
  it('exports the public surface and nothing else: no codec, no wire type, no HTTP helper', () => {
    expect(Object.keys(sdk).sort()).toEqual([
      'InvalidArgumentError', 'MAX_SANDBOX_READ_BYTES', 'SandboxReadError', 'Scheduler', 'SchedulerCallError', 'SubscriptionError',
      'fit', 'isTerminal', 'matchAttributes', 'pack', 'pickPorts', 'portEnv', 'resources',
      'subscribe', 'task', 'taskResources',
    ]);
  });
});
