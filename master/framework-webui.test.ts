/**
 * FrameworkInfo.webui_url: where a framework serves its web UI, which the master's UI makes a
 * link of (as Mesos's does). Only http and https pass; anything else is refused whole, before
 * the master changes anything, so a `javascript:` URL can never become a link.
 */
import { CallError } from './errors';
import { frameworkInfo, harness } from '../test/support/master-harness';

function refusal(call: () => unknown): CallError {
  try {
    call();
  } catch (err) {
    if (err instanceof CallError) return err;
    throw err;
  }
  throw new Error('the call was not refused');
}

describe("a framework's web UI URL", () => {
  it("refuses a subscription with webui_url 'javascript:alert(1)' as INVALID_ARGUMENT naming framework_info.webui_url, and changes nothing", async () => {
    const h = harness();
    await h.addAgent();
    const before = h.master.state();
    const journalBefore = h.events.after(0);

    const err = refusal(() => h.subscribe({ name: 'evil', webuiUrl: 'javascript:alert(1)' }));

    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe("framework_info.webui_url must be an http or https URL, got 'javascript:alert(1)'");
    h.clock.advance(0);
    expect(h.master.state()).toEqual(before);
    expect(h.master.state().frameworks).toEqual([]);
    expect(h.events.after(0)).toEqual(journalBefore);
  });

  it('shows an http URL in the framework view of /api/v1/state, and none for a framework that gave none', () => {
    const h = harness();
    const withUi = h.subscribe({ name: 'agora-services', webuiUrl: 'http://127.0.0.1:8080/ui/' });
    const without = h.subscribe({ name: 'plain' });

    const view = (id: string) => h.master.state().frameworks.find((f) => f.id === id);
    expect(view(withUi.frameworkId)).toMatchObject({ name: 'agora-services', webuiUrl: 'http://127.0.0.1:8080/ui/' });
    expect(view(without.frameworkId)).toBeDefined();
    expect(view(without.frameworkId)).not.toHaveProperty('webuiUrl');
  });

  it('refuses an UpdateFramework to a file: URL and keeps the URL the framework had', () => {
    const h = harness();
    const fw = h.subscribe({ name: 'agora-jobs', webuiUrl: 'https://jobs.example.com/ui/' });
    const info = h.master.state().frameworks[0]!;

    const err = refusal(() => h.master.updateFramework({
      ...fw.call, frameworkInfo: frameworkInfo({ id: fw.frameworkId, name: 'agora-jobs', webuiUrl: 'file:///etc/passwd' }),
    }));

    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('framework_info.webui_url');
    expect(h.master.state().frameworks[0]).toEqual(info);
  });
});
