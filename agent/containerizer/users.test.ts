/** Looking up the user a process task runs as, and who may switch to it. */
import { LaunchError } from './containerizer';
import { lookupUser, passwdEntry, userSwitchProblem } from './users';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\n# a comment\nweb:x:1001:1002:Web:/home/web:/bin/sh\nbroken:x:abc:1:b:/:/bin/sh\n';

describe('users', () => {
  it('reads uid, gid and home from passwd lines', () => {
    expect(passwdEntry(PASSWD, 'web')).toEqual({ name: 'web', uid: 1001, gid: 1002, home: '/home/web' });
    expect(passwdEntry(PASSWD, 'broken')).toBeUndefined();
    expect(passwdEntry(PASSWD, 'nobody-here')).toBeUndefined();
  });

  it('lets root switch to anyone and others only stay themselves', () => {
    const web = { name: 'web', uid: 1001, gid: 1002, home: '/home/web' };
    expect(userSwitchProblem(0, web)).toBeUndefined();
    expect(userSwitchProblem(1001, web)).toBeUndefined();
    expect(userSwitchProblem(1000, web)).toBe("the agent runs as uid 1000 and cannot start a task as 'web' (uid 1001): only an agent running as root can switch users");
  });

  it('finds a real account of this host', async () => {
    await expect(lookupUser('root')).resolves.toMatchObject({ uid: 0, gid: 0 });
  });

  it('refuses an unknown user and a malformed name with a LaunchError saying which', async () => {
    await expect(lookupUser('agora-no-such-user')).rejects.toThrow(new LaunchError("command.user 'agora-no-such-user' is not a user on this agent (not in /etc/passwd nor known to getent)"));
    await expect(lookupUser('bad name')).rejects.toThrow(/'bad name' is not a valid user name/);
  });
});
