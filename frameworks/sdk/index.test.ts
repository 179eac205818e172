import * as sdk from './index';

describe('the SDK entry point', () => {
  it('exports the public surface and nothing else: no codec, no wire type, no HTTP helper', () => {
    expect(Object.keys(sdk).sort()).toEqual([
      'DEFAULT_MASTER', 'InvalidArgumentError', 'Scheduler', 'SchedulerCallError', 'SubscriptionError',
      'fit', 'grpcAddress', 'isTerminal', 'masterAddress', 'matchAttributes', 'pack', 'pickPorts', 'portEnv', 'resources',
      'subscribe', 'task', 'taskResources',
    ]);
  });
});
